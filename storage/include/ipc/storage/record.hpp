// The durable log's on-disk format (docs/storage.md §2), sans-I/O: segment headers,
// checksummed records, typed record bodies, and a segment scanner that resynchronises
// past corrupt bytes. Integers are little-endian.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace ipc::storage {

// Segment file header: "IPCDLOG\n", u32 format version, u32 segment number.
inline constexpr std::size_t segment_header_size = 16;
inline constexpr std::uint32_t format_version = 1;

// Record header: u32 length of the body, u32 its complement (a cheap check that lets a
// scan find record boundaries again after damage), u32 CRC-32C of the bytes after it
// (type, version, reserved, body), u8 type, u8 version, u16 reserved (0); then the body.
inline constexpr std::size_t record_header_size = 16;
inline constexpr std::uint32_t max_record_body = 1u << 30;

enum class record_type : std::uint8_t {
  message = 1,    // a message stored in a queue (or copied forward by compaction)
  delivered = 2,  // a delivery of a stored message (raises its count after a restart)
  settled = 3,    // the message left the queue: acked, dropped, dead-lettered, purged
};

struct record {
  record_type type{};
  std::uint8_t version = 0;
  std::span<const std::uint8_t> body;
};

enum class read_status { ok, incomplete, corrupt };

// Reads the record at the start of `in`; on ok, `size` is its whole length.
read_status read_record(std::span<const std::uint8_t> in, record& out, std::size_t& size);
// Appends a record with `body` to `out`.
void append_record(std::vector<std::uint8_t>& out, record_type type,
                   std::span<const std::uint8_t> body);
void append_segment_header(std::vector<std::uint8_t>& out, std::uint32_t segment);
bool valid_segment_header(std::span<const std::uint8_t> in, std::uint32_t& segment);

// Record bodies.
struct message_record {
  std::uint32_t queue = 0;  // the queue's id in the catalog
  std::uint64_t id = 0;     // message id
  std::uint32_t delivery_count = 0;
  std::uint64_t expires_unix_ms = 0;   // wall clock; 0 = never
  std::span<const std::uint8_t> body;  // the encoded message (docs/protocol.md §4.1)
};
inline constexpr std::size_t message_record_fixed = 24;
struct ref_record {
  std::uint32_t queue = 0;
  std::uint64_t id = 0;
};

void append_message(std::vector<std::uint8_t>& out, const message_record& m);
void append_ref(std::vector<std::uint8_t>& out, record_type type, const ref_record& r);
bool parse(const record& in, message_record& out);
bool parse(const record& in, ref_record& out);

// What a scan of one segment found.
struct scan_report {
  std::size_t records = 0;
  std::size_t corrupt = 0;    // damaged stretches skipped with valid records after them
  std::size_t valid_end = 0;  // offset just past the last valid record (or the header)
  bool bad_header = false;
  bool torn_tail = false;  // bytes after valid_end that hold no valid record
};

// Visits every valid record of a segment's bytes in order. Never reads out of bounds,
// whatever the content.
scan_report scan_segment(std::span<const std::uint8_t> data,
                         const std::function<void(const record&)>& visit);

}  // namespace ipc::storage
