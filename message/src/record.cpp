// The message record and the string map: encoding, checked reading, lazy iteration.
#include "ipc/message/record.hpp"

#include <algorithm>
#include <cstring>

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
  std::size_t begin = out.size();
  out.resize(begin + map_size(map));
  store_map(out.data() + begin, map);
}

std::size_t map_size(const map_source& map) {
  if (map.encoded != nullptr && !map.encoded->raw().empty()) return map.encoded->raw().size();
  std::size_t size = 2;
  for (const auto& [key, value] : map.pairs) size += 4 + key.size() + value.size();
  return size;
}

std::uint8_t* store_map(std::uint8_t* at, const map_source& map) {
  if (map.encoded != nullptr && !map.encoded->raw().empty()) {
    auto raw = map.encoded->raw();
    return store_bytes(at, raw.data(), raw.size());
  }
  at = store_u16(at, map.pairs.size());
  for (const auto& [key, value] : map.pairs) at = store_str16(store_str16(at, key), value);
  return at;
}

map_view read_map_entries(byte_cursor& in, std::size_t begin, std::uint16_t count) {
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
  // Sized once, then written in place.
  std::size_t begin = out.size();
  out.resize(begin + record_size(topic, reply_to, headers, payload.size()));
  encode_record_at(out.data() + begin, message_id, timestamp_ns, topic, reply_to, headers, payload);
}

std::uint8_t* encode_record_at(std::uint8_t* at, std::uint64_t message_id,
                               std::uint64_t timestamp_ns, std::string_view topic,
                               std::string_view reply_to, const map_source& headers,
                               std::span<const std::uint8_t> payload) {
  // Every message the broker routes passes here.
  store_u64(at, message_id);
  store_u64(at + 8, timestamp_ns);
  at = store_str16(at + 16, topic);
  at = store_str16(at, reply_to);
  return store_bytes32(store_map(at, headers), payload);
}

std::size_t record_size(std::string_view topic, std::string_view reply_to,
                        const map_source& headers, std::size_t payload_size) {
  return 8 + 8 + 2 + topic.size() + 2 + reply_to.size() + map_size(headers) + 4 + payload_size;
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
