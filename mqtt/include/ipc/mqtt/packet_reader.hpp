// Splits an MQTT byte stream into control packets (MQTT 3.1.1 §2.2, MQTT 5 §2.1): a fixed
// header byte (type and flags), the Remaining Length as a variable byte integer of 1 to 4
// bytes in its shortest form, then that many bytes. Sans-I/O: the caller reads into
// prepare() and commits; next() hands out each complete packet as a view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ipc/mqtt/packets.hpp"

namespace ipc::mqtt {

// The largest Remaining Length a variable byte integer holds (MQTT 5 §1.5.5).
inline constexpr std::uint32_t max_remaining_length = 268'435'455;

struct raw_packet {
  std::uint8_t type_byte = 0;          // packet type << 4 | flags
  std::span<const std::uint8_t> body;  // the variable header and the payload
  packet_type type() const { return static_cast<packet_type>(type_byte >> 4); }
  std::uint8_t flags() const { return type_byte & 0x0F; }
};

enum class read_status { need_more, packet, error };

class packet_reader {
 public:
  // Like the native frame_reader (docs/architecture.md §3): reads start at `min_read`
  // bytes and double while they fill what they are offered, up to `read_size`; once
  // empty after this many reads in a row smaller than `min_read`, the buffer shrinks back.
  static constexpr std::uint32_t small_reads_to_shrink = 4;
  // `max_packet` bounds a whole packet, fixed header included (the broker's maximum packet
  // size); a larger one is `packet_too_large`.
  explicit packet_reader(std::uint32_t max_packet, std::size_t read_size = 64 * 1024,
                         std::size_t min_read = 1024);

  // A writable area; invalidates packets returned by next().
  std::span<std::uint8_t> prepare();
  void commit(std::size_t n);

  // On read_status::packet fills `out`, valid until the next call of next() or prepare();
  // on read_status::error fills `error` (malformed_packet or packet_too_large) and every
  // later call returns the same error.
  read_status next(raw_packet& out, reason& error);

  void set_max_packet(std::uint32_t max_packet) { max_packet_ = max_packet; }
  std::size_t buffered() const { return end_ - start_; }
  std::size_t capacity() const { return buffer_.size(); }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0, end_ = 0;
  std::size_t read_size_, min_read_;
  std::size_t chunk_;        // the size of the next read
  std::size_t offered_ = 0;  // what the last prepare() offered
  std::uint32_t small_reads_ = 0;
  std::size_t wanted_ = 0;  // bytes the packet in progress needs in all (0: unknown yet)
  std::uint32_t max_packet_;
  reason failed_ = reason::success;
};

// Appends a Remaining Length (or any variable byte integer) to `out`.
void put_varint(std::vector<std::uint8_t>& out, std::uint32_t value);

}  // namespace ipc::mqtt
