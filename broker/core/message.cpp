// The message record's codec, for the core: the layout is docs/protocol.md §4.1's, whose
// encoder and decoder live in protocol/ (the native protocol carries the record verbatim).
#include "core/message.hpp"

#include <algorithm>

#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"

namespace ipc::broker {

void encode_record(std::vector<std::uint8_t>& out, std::uint64_t message_id,
                   std::uint64_t timestamp_ns, std::string_view topic, std::string_view reply_to,
                   const header_map* headers, std::span<const std::uint8_t> payload) {
  protocol::encode_message_body(out, message_id, timestamp_ns, topic, reply_to, {{}, headers},
                                payload);
}

std::size_t record_size(std::string_view topic, std::string_view reply_to,
                        const header_map* headers, std::size_t payload_size) {
  // id, timestamp, str16 topic, str16 reply_to, the map (2 bytes when empty), bytes32.
  return 8 + 8 + 2 + topic.size() + 2 + reply_to.size() +
         (headers ? std::max<std::size_t>(headers->raw().size(), 2) : 2) + 4 + payload_size;
}

bool decode_record(std::span<const std::uint8_t> bytes, record_fields& out) {
  return protocol::decode_message_body(bytes, out) == protocol::errc::ok;
}

}  // namespace ipc::broker
