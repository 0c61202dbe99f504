// The message record (docs/architecture.md §1.2): how ipcd lays out one message, once —
// id, timestamp, topic, reply_to, headers, payload. The broker core encodes it once per
// message; queues and the durable log keep it; the native protocol carries it verbatim
// as its message body (docs/protocol.md §4.1); other front-ends decode it and encode
// their own wire. Also the string map encoding (headers, HELLO and WELCOME properties).
// Standard library only, sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "ipc/message/bytes.hpp"

namespace ipc::message_record {

// An encoded string→string map: u16 count, then pairs of str16 key and value. Iterating
// decodes lazily; the map was validated when it was read (read_map).
class map_view {
 public:
  map_view() = default;
  map_view(std::span<const std::uint8_t> raw, std::uint16_t count) : raw_(raw), count_(count) {}

  struct entry {
    std::string_view key;
    std::string_view value;
  };
  class iterator {
   public:
    iterator(const std::uint8_t* at, std::uint16_t left) : at_(at), left_(left) {}
    entry operator*() const;
    iterator& operator++();
    bool operator==(const iterator& other) const { return left_ == other.left_; }

   private:
    const std::uint8_t* at_;
    std::uint16_t left_;
  };

  iterator begin() const { return {raw_.data() + 2, count_}; }
  iterator end() const { return {nullptr, 0}; }
  std::uint16_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The whole encoding including the count, to copy it through unchanged.
  std::span<const std::uint8_t> raw() const { return raw_; }
  // Sum of key and value bytes (what limits.max_header_bytes counts).
  std::size_t content_bytes() const { return raw_.empty() ? 0 : raw_.size() - 2 - 4u * count_; }
  // First value for `key`: true and `value` set when present.
  bool find(std::string_view key, std::string_view& value) const;

 private:
  std::span<const std::uint8_t> raw_;  // includes the u16 count
  std::uint16_t count_ = 0;
};

// Key/value pairs to encode as a map.
using string_pairs = std::span<const std::pair<std::string_view, std::string_view>>;

// Where a map to encode comes from: pairs given by a caller, or an already encoded map
// copied through unchanged (the broker forwarding a publisher's headers).
struct map_source {
  string_pairs pairs{};
  const map_view* encoded = nullptr;
};

void put_map(byte_buffer& out, const map_source& map);
// The bytes put_map() appends, and the same written in place.
std::size_t map_size(const map_source& map);
std::uint8_t* store_map(std::uint8_t* at, const map_source& map);
// The entries of read_map() after their count, which was read from `begin`.
map_view read_map_entries(byte_cursor& in, std::size_t begin, std::uint16_t count);
// Reads a map at the cursor, checking every length; an empty view when it is damaged
// (then the cursor is not ok()). Inline for the common map of no entries.
inline map_view read_map(byte_cursor& in) {
  std::size_t begin = in.offset();
  std::uint16_t count = in.u16();
  if (count != 0) return read_map_entries(in, begin, count);
  if (!in.ok()) return {};
  return {in.since(begin), 0};
}

// One message record's fields, as views into its bytes.
struct fields {
  std::uint64_t message_id = 0;
  std::uint64_t timestamp_ns = 0;  // broker receive time, ns since the UNIX epoch
  std::string_view topic;
  std::string_view reply_to;
  map_view headers;
  std::span<const std::uint8_t> payload;
};

// The record's fixed start: message id and timestamp (u64 each); the rest (topic,
// reply_to, headers, payload) is laid out as in the native PUBLISH after its id.
inline constexpr std::size_t record_header_size = 16;

// Appends the record of one message.
void encode_record(byte_buffer& out, std::uint64_t message_id, std::uint64_t timestamp_ns,
                   std::string_view topic, std::string_view reply_to, const map_source& headers,
                   std::span<const std::uint8_t> payload);
// Writes the record at `at`, which has room for record_size() bytes; returns its end.
std::uint8_t* encode_record_at(std::uint8_t* at, std::uint64_t message_id,
                               std::uint64_t timestamp_ns, std::string_view topic,
                               std::string_view reply_to, const map_source& headers,
                               std::span<const std::uint8_t> payload);
// The size encode_record() will append.
std::size_t record_size(std::string_view topic, std::string_view reply_to,
                        const map_source& headers, std::size_t payload_size);
// Reads a record at the cursor (which may go on past it).
void read_record(byte_cursor& in, fields& out);
// Reads a whole span as one record; false when it is not exactly one.
bool decode_record(std::span<const std::uint8_t> bytes, fields& out);

}  // namespace ipc::message_record
