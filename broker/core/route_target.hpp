// What routing delivers to: a subscriber (a session today; queues later). Routing
// stores route_target pointers and never dereferences them; the broker core does.
#pragma once

#include <cstdint>
#include <span>

#include "core/message_pool.hpp"

namespace ipc::broker {

// A message ready for fan-out: its body encoded once (docs/protocol.md §4.1). Small
// bodies live in a scratch buffer valid only during the call; large ones are shared.
struct outgoing_message {
  std::span<const std::uint8_t> body;
  const body_ref* shared = nullptr;  // set when body.size() > inline_body_limit
  std::uint64_t message_id = 0;
};

}  // namespace ipc::broker

namespace ipc::routing {

class route_target {
 public:
  // Queues the message for subscription/consumer `id`; never re-enters routing.
  virtual void deliver_message(std::uint32_t id, const broker::outgoing_message& message) = 0;
  // Whether a request routed here can be answered (a subscriber can; a queue binding
  // only while the queue has consumers).
  virtual bool has_responders() const { return true; }

 protected:
  ~route_target() = default;
};

}  // namespace ipc::routing
