// A message held by a queue: its message record (core/message.hpp) and bookkeeping.
#pragma once

#include <cstdint>

#include "core/message_pool.hpp"

namespace ipc::broker {

struct stored_message {
  body_ref body;
  std::uint64_t id = 0;
  std::uint32_t stored_bytes =
      0;  // the encoded body (payload, topic, headers): what max_bytes counts
  std::uint32_t delivery_count = 0;  // deliveries so far
  std::uint64_t expires_at_ms = 0;   // steady-clock ms; 0 = never
  std::uint32_t segment = 0;         // log segment holding it (durable queues); 0 = none
  std::uint8_t priority = 0;         // its ipc-priority (a queue with max_priority orders by it)
  std::uint64_t visible_at_ms = 0;   // steady-clock ms: held back until then (ipc-delay); 0 = now
};

}  // namespace ipc::broker
