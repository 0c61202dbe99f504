// frame_reader: bounded buffering of a byte stream and splitting it into frames.
#include <algorithm>
#include <cstring>

#include "ipc/protocol/decoder.hpp"

namespace ipc::protocol {
namespace {

std::uint32_t load_u32(const std::uint8_t* at) {
  return (std::uint32_t{at[0]} << 24) | (std::uint32_t{at[1]} << 16) | (std::uint32_t{at[2]} << 8) |
         std::uint32_t{at[3]};
}

}  // namespace

frame_reader::frame_reader(std::uint32_t max_frame, std::size_t read_size, std::size_t min_read)
    : read_size_(read_size),
      min_read_(std::min(min_read, read_size)),
      next_read_(min_read_),
      max_frame_(max_frame) {}

std::span<std::uint8_t> frame_reader::prepare() {
  // Room needed: a whole read, or the rest of the frame in progress if larger.
  std::size_t pending = end_ - start_;
  std::size_t needed = next_read_;
  if (pending >= length_prefix_size) {
    std::uint32_t length = load_u32(buffer_.data() + start_);
    std::size_t frame_total = length_prefix_size + std::size_t{length};
    if (length <= max_frame_ && frame_total > pending + needed) needed = frame_total - pending;
  }
  if (buffer_.size() - end_ < needed) {
    // Move the partial frame to the front, then grow only if that is not enough.
    if (start_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + start_, pending);
      start_ = 0;
      end_ = pending;
    }
    if (buffer_.size() - end_ < needed) buffer_.resize(end_ + needed);
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

void frame_reader::commit(std::size_t n) {
  end_ += n;
  small_reads_ = n < min_read_ ? small_reads_ + 1 : 0;
  // A read that took all it was offered: the peer has more, read more at a time.
  if (n >= next_read_ && next_read_ < read_size_) next_read_ = std::min(next_read_ * 2, read_size_);
}

read_status frame_reader::next(raw_frame& out, errc& error) {
  if (failed_ != errc::ok) {
    error = failed_;
    return read_status::error;
  }
  std::size_t pending = end_ - start_;
  if (pending < length_prefix_size) {
    if (pending == 0) {
      start_ = end_ = 0;  // cheap reset keeps reads at the front
      // Idle (the last reads were all small, and are consumed): keep a small buffer.
      if (small_reads_ >= small_reads_to_shrink) {
        next_read_ = min_read_;
        if (buffer_.size() > 2 * min_read_) std::vector<std::uint8_t>().swap(buffer_);
      }
    }
    return read_status::need_more;
  }
  std::uint32_t length = load_u32(buffer_.data() + start_);
  if (length == 0) failed_ = errc::malformed_frame;
  if (length > max_frame_) failed_ = errc::frame_too_large;
  if (failed_ == errc::ok && pending > length_prefix_size &&
      !is_known_frame_type(buffer_[start_ + length_prefix_size]))
    failed_ = errc::unknown_frame_type;
  if (failed_ != errc::ok) {
    error = failed_;
    return read_status::error;
  }
  if (pending < length_prefix_size + length) return read_status::need_more;
  const std::uint8_t* frame = buffer_.data() + start_ + length_prefix_size;
  out.type = static_cast<frame_type>(frame[0]);
  out.body = {frame + 1, length - 1};
  start_ += length_prefix_size + length;
  return read_status::frame;
}

}  // namespace ipc::protocol
