// A raw frame client over a blocking socket: sends arbitrary bytes (bad input tests)
// and reads frames back with the protocol's own frame_reader, with deadlines.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"

namespace ipc::test {

struct received_frame {
  protocol::frame_type type{};
  std::vector<std::uint8_t> body;
  protocol::raw_frame view() const { return {type, body}; }
};

class raw_client {
 public:
  explicit raw_client(const std::string& url);  // unix:// or tcp://; throws on failure
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  void send(const std::vector<std::uint8_t>& bytes);
  // Bytes as they come, for other protocols' readers: what one read got, empty on
  // timeout or once the peer closed (then peer_closed()).
  std::vector<std::uint8_t> receive(std::chrono::milliseconds limit);
  bool peer_closed() const { return eof_; }
  // HELLO (anonymous) then waits for WELCOME; returns false if something else came.
  bool handshake();
  // The next frame, or nullopt on timeout or connection closed.
  std::optional<received_frame> next(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // Waits until the broker closes the connection; true if it did within `limit`.
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // Reads frames until an ERROR; returns it decoded (code, message) or nullopt.
  std::optional<std::pair<std::uint16_t, std::string>> next_error(
      std::chrono::milliseconds limit = std::chrono::seconds(5));

 private:
  int fd_ = -1;
  protocol::frame_reader reader_{64 * 1024 * 1024};
  bool eof_ = false;
};

}  // namespace ipc::test
