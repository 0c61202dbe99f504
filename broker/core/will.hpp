// A connection's last will (docs/protocol.md §3.1.4): a message the broker publishes for
// a client whose connection ends without a clean goodbye, at once or after a delay unless
// the same client identity (user and client name) is back first. Front-ends fill it from
// their handshake (native HELLO will_… properties, MQTT CONNECT's will) and hand it to
// broker_core::set_will(), which checks it like a publish by that user.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ipc::broker {

struct will_message {
  std::string topic;
  std::vector<std::uint8_t> payload;
  // Headers in the record's map encoding (u16 count, str16 pairs): empty = none. Message
  // attributes go here too (ipc-retain for a retained will, ipc-ttl).
  std::vector<std::uint8_t> headers;
  std::uint32_t delay_ms = 0;
};

// The longest will delay: one day (a client gone for longer has its will published).
inline constexpr std::uint32_t max_will_delay_ms = 24u * 3600 * 1000;

}  // namespace ipc::broker
