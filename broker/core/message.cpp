// The core's record encoding: field by field, or the fields in one piece when a
// front-end received them in the record's layout.
#include "core/message.hpp"

#include <cassert>
#include <cstring>

namespace ipc::broker {
namespace {

std::size_t fields_size(const message_in& m) {
  return message_record::record_size(m.topic, m.reply_to, {{}, &m.headers}, m.payload.size()) -
         message_record::record_header_size;
}

}  // namespace

void encode_record(std::vector<std::uint8_t>& out, std::uint64_t message_id,
                   std::uint64_t timestamp_ns, const message_in& m) {
  std::size_t begin = out.size();
  out.resize(begin + record_size(m));
  encode_record_at(out.data() + begin, message_id, timestamp_ns, m);
}

void encode_record_at(std::uint8_t* at, std::uint64_t message_id, std::uint64_t timestamp_ns,
                      const message_in& m) {
  if (m.wire_fields.empty()) {
    message_record::encode_record_at(at, message_id, timestamp_ns, m.topic, m.reply_to,
                                     {{}, &m.headers}, m.payload);
    return;
  }
  assert(m.wire_fields.size() == fields_size(m));
  message_record::store_u64(at, message_id);
  message_record::store_u64(at + 8, timestamp_ns);
  std::memcpy(at + message_record::record_header_size, m.wire_fields.data(), m.wire_fields.size());
}

std::size_t record_size(const message_in& m) {
  if (!m.wire_fields.empty()) return message_record::record_header_size + m.wire_fields.size();
  return message_record::record_header_size + fields_size(m);
}

}  // namespace ipc::broker
