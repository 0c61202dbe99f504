// A Unix socket connection that may switch to shared-memory rings (docs/shared-memory.md).
// Before the switch it is a plain socket stream. The broker's offer makes the segment; the
// write that reaches the switch point carries its descriptors (SCM_RIGHTS) and from then
// on bytes move through the rings, with pipes to wake a side that sleeps. The socket
// stays open as the liveness signal: its end (or any byte on it) ends the connection once
// the ring is drained.
#pragma once

#include <memory>
#include <vector>

#include <asio/local/stream_protocol.hpp>

#include "ipc/transport/stream.hpp"
#include "shm_channel.hpp"
#include "shm_segment_posix.hpp"

namespace ipc::transport {

class local_stream final : public stream {
 public:
  using socket_type = asio::local::stream_protocol::socket;
  enum class role { broker, client };

  // `shm` for a broker: the listener's settings (enabled: the offer is allowed); for a
  // client: enabled means reads take passed descriptors until the handshake is over.
  local_stream(socket_type socket, peer_info peer, role side, shm_options shm);
  ~local_stream() override;

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec) override;
  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override;
  bool writes_at_once() const override { return rings_ && rings_->peer_polls(); }
  std::size_t write_now(const std::vector<asio::const_buffer>& buffers,
                        std::error_code& ec) override;
  void close() override;
  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override { return socket_.get_executor(); }

  bool can_offer_shared_memory(bool takes_token) const override;
  bool offer_shared_memory(std::string& token, std::string& error) override;
  bool switch_shared_memory_after(std::uint64_t bytes) override;
  std::error_code accept_shared_memory(std::string_view token, std::string& error) override;
  std::size_t shared_memory_bytes() const override { return segment_.memory().size(); }

 private:
  // read_some on the socket, until the switch to the rings (which it may see happen).
  asio::awaitable<std::size_t> read_before_rings(asio::mutable_buffer buffer, std::error_code& ec);
  asio::awaitable<std::size_t> read_with_descriptors(asio::mutable_buffer buffer,
                                                     std::error_code& ec);
  asio::awaitable<void> send_descriptors(const std::vector<asio::const_buffer>& buffers,
                                         std::size_t bytes, std::error_code& ec);
  void start_rings();  // both sides: the channel over the segment, the socket watch
  void watch_socket();

  socket_type socket_;
  peer_info peer_;
  role role_;
  shm_options shm_;
  bool expect_descriptors_;  // client: reads take passed descriptors (the handshake's)
  bool closed_ = false;
  std::uint64_t written_ = 0;    // bytes written on the socket
  std::uint64_t switch_at_ = 0;  // broker: the switch point once offered, else 0
  std::vector<int> received_;    // client: descriptors that came with the handshake
  shm::segment segment_;
  std::unique_ptr<shm::channel> rings_;  // after the switch
  std::shared_ptr<local_stream*> self_;  // the socket watch's way back; null once destroyed
};

}  // namespace ipc::transport
