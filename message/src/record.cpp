// The message record and the string map: encoding, checked reading, lazy iteration.
#include "ipc/message/record.hpp"

#include <algorithm>

namespace ipc::message_record {

map_view::entry map_view::iterator::operator*() const {
  std::size_t key_size = (std::size_t{at_[0]} << 8) | at_[1];
  const std::uint8_t* value_at = at_ + 2 + key_size;
  std::size_t value_size = (std::size_t{value_at[0]} << 8) | value_at[1];
  return {{reinterpret_cast<const char*>(at_ + 2), key_size},
          {reinterpret_cast<const char*>(value_at + 2), value_size}};
}

map_view::iterator& map_view::iterator::operator++() {
  std::size_t key_size = (std::size_t{at_[0]} << 8) | at_[1];
  const std::uint8_t* value_at = at_ + 2 + key_size;
  std::size_t value_size = (std::size_t{value_at[0]} << 8) | value_at[1];
  at_ = value_at + 2 + value_size;
  --left_;
  return *this;
}

bool map_view::find(std::string_view key, std::string_view& value) const {
  for (auto item : *this) {
    if (item.key == key) {
      value = item.value;
      return true;
    }
  }
  return false;
}

void put_map(byte_buffer& out, const map_source& map) {
  if (map.encoded != nullptr && !map.encoded->raw().empty()) {
    auto raw = map.encoded->raw();
    out.insert(out.end(), raw.begin(), raw.end());
    return;
  }
  put_u16(out, static_cast<std::uint16_t>(map.pairs.size()));
  for (const auto& [key, value] : map.pairs) {
    put_str16(out, key);
    put_str16(out, value);
  }
}

map_view read_map(byte_cursor& in) {
  std::size_t begin = in.offset();
  std::uint16_t count = in.u16();
  for (std::uint16_t i = 0; i < count && in.ok(); ++i) {
    in.bytes(in.u16());
    in.bytes(in.u16());
  }
  if (!in.ok()) return {};
  return {in.since(begin), count};
}

void encode_record(byte_buffer& out, std::uint64_t message_id, std::uint64_t timestamp_ns,
                   std::string_view topic, std::string_view reply_to, const map_source& headers,
                   std::span<const std::uint8_t> payload) {
  put_u64(out, message_id);
  put_u64(out, timestamp_ns);
  put_str16(out, topic);
  put_str16(out, reply_to);
  put_map(out, headers);
  put_bytes32(out, payload);
}

std::size_t record_size(std::string_view topic, std::string_view reply_to,
                        const map_source& headers, std::size_t payload_size) {
  std::size_t map = 2;
  if (headers.encoded != nullptr && !headers.encoded->raw().empty()) {
    map = headers.encoded->raw().size();
  } else {
    for (const auto& [key, value] : headers.pairs) map += 4 + key.size() + value.size();
  }
  return 8 + 8 + 2 + topic.size() + 2 + reply_to.size() + map + 4 + payload_size;
}

void read_record(byte_cursor& in, fields& out) {
  out.message_id = in.u64();
  out.timestamp_ns = in.u64();
  out.topic = in.str16();
  out.reply_to = in.str16();
  out.headers = read_map(in);
  out.payload = in.bytes32();
}

bool decode_record(std::span<const std::uint8_t> bytes, fields& out) {
  byte_cursor in(bytes);
  read_record(in, out);
  return in.at_end();
}

}  // namespace ipc::message_record
