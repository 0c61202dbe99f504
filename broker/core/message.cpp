// The core's record encoding: field by field, or the fields in one piece when a
// front-end received them in the record's layout.
#include "core/message.hpp"

#include <cassert>
#include <cstring>

namespace ipc::broker {
namespace {

std::size_t fields_size(const record_fields& f) {
  return message_record::record_size(f.topic, f.reply_to, {{}, f.headers}, f.payload.size()) -
         message_record::record_header_size;
}

}  // namespace

void encode_record(std::vector<std::uint8_t>& out, std::uint64_t message_id,
                   std::uint64_t timestamp_ns, const record_fields& fields) {
  std::size_t begin = out.size();
  out.resize(begin + record_size(fields));
  encode_record_at(out.data() + begin, message_id, timestamp_ns, fields);
}

void encode_record_at(std::uint8_t* at, std::uint64_t message_id, std::uint64_t timestamp_ns,
                      const record_fields& fields) {
  if (fields.wire.empty()) {
    message_record::encode_record_at(at, message_id, timestamp_ns, fields.topic, fields.reply_to,
                                     {{}, fields.headers}, fields.payload);
    return;
  }
  assert(fields.wire.size() == fields_size(fields));
  message_record::store_u64(at, message_id);
  message_record::store_u64(at + 8, timestamp_ns);
  std::memcpy(at + message_record::record_header_size, fields.wire.data(), fields.wire.size());
}

std::size_t record_size(const record_fields& fields) {
  if (!fields.wire.empty()) return message_record::record_header_size + fields.wire.size();
  return message_record::record_header_size + fields_size(fields);
}

}  // namespace ipc::broker
