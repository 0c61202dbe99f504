// What routing delivers to: a client's subscription or a queue binding. Routing stores
// route_target pointers and never dereferences them; the broker core does.
#pragma once

#include <cstdint>

#include "core/message.hpp"

namespace ipc::routing {

class route_target {
 public:
  // Queues the message for subscription `id`; never re-enters routing or the core.
  virtual void deliver_message(std::uint32_t id, const broker::outgoing_message& message) = 0;
  // Whether a request routed here can be answered (a subscriber can; a queue binding
  // only while the queue has consumers).
  virtual bool has_responders() const { return true; }
  // Whether this is a way off the machine (an uplink's export, docs/uplinks.md §5): a
  // request goes there only when nothing local can answer it.
  virtual bool remote() const { return false; }

 protected:
  ~route_target() = default;
};

}  // namespace ipc::routing
