// packet_reader: the fixed header, the Remaining Length, and a buffer that starts small,
// grows for the packet in progress (never past the packet limit) and compacts in place.
#include "ipc/mqtt/packet_reader.hpp"

#include <algorithm>
#include <cstring>

namespace ipc::mqtt {

packet_reader::packet_reader(std::uint32_t max_packet, std::size_t read_size, std::size_t min_read)
    : read_size_(read_size),
      min_read_(std::min(min_read, read_size)),
      chunk_(min_read_),
      max_packet_(max_packet) {}

std::span<std::uint8_t> packet_reader::prepare() {
  if (start_ == end_) {
    start_ = end_ = 0;
    // Idle after small reads: give back what a burst or a large packet made it grow to.
    if (small_reads_ >= small_reads_to_shrink && buffer_.size() > min_read_) {
      std::vector<std::uint8_t>(min_read_).swap(buffer_);
      chunk_ = min_read_;
    }
  }
  // Room for the rest of the packet in progress when its size is known, and at least a
  // read's worth (which doubles while reads fill it, up to read_size).
  std::size_t missing = wanted_ > buffered() ? wanted_ - buffered() : 0;
  std::size_t want = std::max(missing, chunk_);
  if (buffer_.size() - end_ < want) {
    if (start_ > 0) {  // compact first
      std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
      end_ -= start_;
      start_ = 0;
    }
    if (buffer_.size() - end_ < want) buffer_.resize(end_ + want);
  }
  offered_ = buffer_.size() - end_;
  return {buffer_.data() + end_, offered_};
}

void packet_reader::commit(std::size_t n) {
  end_ += n;
  if (n == offered_ && chunk_ < read_size_) chunk_ = std::min(chunk_ * 2, read_size_);
  small_reads_ = n < min_read_ ? small_reads_ + 1 : 0;
}

read_status packet_reader::next(raw_packet& out, reason& error) {
  if (failed_ != reason::success) {
    error = failed_;
    return read_status::error;
  }
  auto fail = [&](reason why) {
    failed_ = error = why;
    return read_status::error;
  };
  std::size_t available = end_ - start_;
  if (available < 2) return read_status::need_more;
  const std::uint8_t* at = buffer_.data() + start_;
  if ((at[0] >> 4) == 0) return fail(reason::malformed_packet);  // type 0 is reserved
  // Remaining Length: 7 bits a byte, least significant first, at most 4 bytes, shortest.
  std::uint32_t length = 0;
  std::size_t used = 0;
  for (;;) {
    if (used == 4) return fail(reason::malformed_packet);
    if (1 + used >= available) return read_status::need_more;
    std::uint8_t byte = at[1 + used];
    length |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * used);
    ++used;
    if ((byte & 0x80) == 0) {
      if (used > 1 && byte == 0) return fail(reason::malformed_packet);  // not the shortest
      break;
    }
  }
  std::size_t total = 1 + used + length;
  if (total > max_packet_) return fail(reason::packet_too_large);
  if (available < total) {
    wanted_ = total;
    return read_status::need_more;
  }
  wanted_ = 0;
  out.type_byte = at[0];
  out.body = {at + 1 + used, length};
  start_ += total;
  return read_status::packet;
}

void put_varint(std::vector<std::uint8_t>& out, std::uint32_t value) {
  do {
    std::uint8_t byte = value & 0x7F;
    value >>= 7;
    if (value != 0) byte |= 0x80;
    out.push_back(byte);
  } while (value != 0);
}

}  // namespace ipc::mqtt
