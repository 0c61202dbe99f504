// The client's side of the handshake (docs/protocol.md §3), sans-I/O: the HELLO for the
// configured credentials, then the broker's first frame read into a frame_reader until it
// is a WELCOME (ready) or an ERROR or garbage (failed); and the reconnect backoff. The
// connection driver (client_core) does the reads and writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/types.hpp"

namespace ipc::detail {

class connect_fsm {
 public:
  enum class state { awaiting_welcome, ready, failed };

  // `ask_shared_memory`: the HELLO asks for the switch to shared memory.
  explicit connect_fsm(const client_options& options, bool ask_shared_memory = false);

  // The HELLO that opens the handshake: mechanism "token", "password" or "anonymous"
  // after the options' credentials, with the client name.
  void hello(protocol::byte_buffer& out) const;
  // Where the next read goes, then how many bytes it brought: the state after them.
  std::span<std::uint8_t> prepare() { return reader_->prepare(); }
  state commit(std::size_t n);
  state current() const { return state_; }

  // Once ready: what WELCOME said, and the reader, with any bytes after WELCOME kept and
  // its frame limit raised to the connection's (max_payload plus a margin).
  std::uint64_t connection_id() const { return connection_id_; }
  std::uint32_t max_payload() const { return max_payload_; }
  // The broker switches to shared memory right after the WELCOME (we asked, it agreed).
  bool shared_memory() const { return shared_memory_; }
  // What the transport needs to reach the rings besides the bytes (WELCOME's shm_token).
  const std::string& shm_token() const { return shm_token_; }
  // We asked and the broker did not switch although its listener allows it: why (the
  // WELCOME's shm_error; "" when the listener does not allow it, or from older brokers).
  const std::string& shm_refusal() const { return shm_refusal_; }
  std::unique_ptr<protocol::frame_reader> take_reader() { return std::move(reader_); }
  // Once failed: why (the broker's code, or malformed_frame / frame_too_large), and the
  // broker's message when it sent one.
  std::error_code error() const { return error_; }
  const std::string& message() const { return message_; }

 private:
  state fail(std::error_code error, std::string message = {});

  const client_options& options_;
  bool ask_shared_memory_;
  bool shared_memory_ = false;
  std::string shm_token_, shm_refusal_;
  std::unique_ptr<protocol::frame_reader> reader_;
  state state_ = state::awaiting_welcome;
  std::uint64_t connection_id_ = 0;
  std::uint32_t max_payload_ = 0;
  std::error_code error_;
  std::string message_;
};

// Reconnect delays: `min` first, doubling up to `max`; reset() after a success.
class backoff {
 public:
  backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
      : min_(min), max_(std::max(min, max)), next_(min) {}
  std::chrono::milliseconds next() {
    auto delay = next_;
    next_ = std::min(next_ * 2, max_);
    return delay;
  }
  void reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_, max_, next_;
};

}  // namespace ipc::detail
