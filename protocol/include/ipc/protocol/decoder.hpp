// Sans-I/O frame decoding (docs/protocol.md §2): frame_reader splits a byte stream into
// frames with bounded buffering; decode() turns one frame's body into its typed view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ipc/protocol/errc.hpp"
#include "ipc/protocol/frames.hpp"

namespace ipc::protocol {

struct raw_frame {
  frame_type type{};
  std::span<const std::uint8_t> body;  // bytes after the type byte
};

enum class read_status { frame, need_more, error };

// Owns the receive buffer. The I/O layer writes into prepare(), calls commit(n), then
// next() until need_more. A length prefix over the current maximum is an error as soon
// as its 4 bytes arrive, so no input makes the buffer grow past max_frame + 4 bytes.
class frame_reader {
 public:
  static constexpr std::uint32_t small_reads_to_shrink = 4;
  // Reads take up to `read_size` bytes at a time. The buffer starts at `min_read` bytes
  // (nothing is allocated before the first prepare()), doubles while reads fill it, and
  // goes back to `min_read` once it is empty after `small_reads_to_shrink` reads in a
  // row smaller than that: an idle connection holds about `min_read` bytes, a busy one
  // reads `read_size` at a time, and a bursty one does not shrink between bursts.
  explicit frame_reader(std::uint32_t max_frame, std::size_t read_size = 64 * 1024,
                        std::size_t min_read = 1024);

  // A writable area of at least min(current read size, room for the frame in progress)
  // bytes. Invalidates frames returned by next().
  std::span<std::uint8_t> prepare();
  void commit(std::size_t n);

  // On read_status::frame fills `out`, valid until the next call of next() or prepare();
  // on read_status::error fills `error` (then the stream is unusable: every later call
  // returns the same error).
  read_status next(raw_frame& out, errc& error);

  void set_max_frame(std::uint32_t max_frame) { max_frame_ = max_frame; }
  std::uint32_t max_frame() const { return max_frame_; }
  std::size_t buffered() const { return end_ - start_; }
  std::size_t capacity() const { return buffer_.size(); }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;          // first unconsumed byte
  std::size_t end_ = 0;            // one past the last received byte
  std::size_t read_size_;          // the largest read
  std::size_t min_read_;           // the smallest read, and what an idle reader keeps
  std::size_t next_read_;          // the current read size, between the two
  std::uint32_t small_reads_ = 0;  // reads in a row smaller than min_read_
  std::uint32_t max_frame_;
  errc failed_ = errc::ok;
};

// Typed decoding of one frame body. Returns errc::malformed_frame when fields run past
// the body, trailing bytes remain, or an enum field is out of range.
errc decode(const raw_frame& frame, hello_frame& out);
errc decode(const raw_frame& frame, welcome_frame& out);
errc decode(const raw_frame& frame, ping_frame& out);  // PING and PONG
errc decode_goodbye(const raw_frame& frame);           // an empty body
errc decode(const raw_frame& frame, error_frame& out);
errc decode(const raw_frame& frame, ok_frame& out);
errc decode(const raw_frame& frame, publish_frame& out);
errc decode(const raw_frame& frame, subscribe_frame& out);
errc decode(const raw_frame& frame, unsubscribe_frame& out);
errc decode(const raw_frame& frame, message_frame& out);
errc decode(const raw_frame& frame, send_frame& out);
errc decode(const raw_frame& frame, consume_frame& out);
errc decode(const raw_frame& frame, cancel_frame& out);
errc decode(const raw_frame& frame, deliver_frame& out);
errc decode(const raw_frame& frame, ack_frame& out);
errc decode(const raw_frame& frame, nack_frame& out);
errc decode(const raw_frame& frame, request_frame& out);
errc decode(const raw_frame& frame, response_frame& out);
errc decode(const raw_frame& frame, admin_frame& out);
errc decode(const raw_frame& frame, admin_result_frame& out);

// Decodes a shared message body (as produced by encode_message_body).
errc decode_message_body(std::span<const std::uint8_t> bytes, message_body& out);

}  // namespace ipc::protocol
