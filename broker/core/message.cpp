// The core's use of the message record (ipc/message/record.hpp): headers are always the
// record's own map, copied through unchanged.
#include "core/message.hpp"

namespace ipc::broker {

void encode_record(std::vector<std::uint8_t>& out, std::uint64_t message_id,
                   std::uint64_t timestamp_ns, std::string_view topic, std::string_view reply_to,
                   const header_map* headers, std::span<const std::uint8_t> payload) {
  message_record::encode_record(out, message_id, timestamp_ns, topic, reply_to, {{}, headers},
                                payload);
}

void encode_record_at(std::uint8_t* at, std::uint64_t message_id, std::uint64_t timestamp_ns,
                      std::string_view topic, std::string_view reply_to, const header_map* headers,
                      std::span<const std::uint8_t> payload) {
  message_record::encode_record_at(at, message_id, timestamp_ns, topic, reply_to, {{}, headers},
                                   payload);
}

std::size_t record_size(std::string_view topic, std::string_view reply_to,
                        const header_map* headers, std::size_t payload_size) {
  return message_record::record_size(topic, reply_to, {{}, headers}, payload_size);
}

}  // namespace ipc::broker
