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
#include <asio/posix/stream_descriptor.hpp>

#include "ipc/transport/stream.hpp"
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
  void close() override;
  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override { return socket_.get_executor(); }

  bool can_offer_shared_memory() const override;
  bool offer_shared_memory(std::uint64_t switch_after, std::string& error) override;
  std::error_code accept_shared_memory() override;

 private:
  asio::awaitable<std::size_t> read_with_descriptors(asio::mutable_buffer buffer,
                                                     std::error_code& ec);
  asio::awaitable<std::size_t> ring_read(asio::mutable_buffer buffer, std::error_code& ec);
  asio::awaitable<void> ring_write(const std::vector<asio::const_buffer>& buffers, std::size_t skip,
                                   std::error_code& ec);
  asio::awaitable<void> send_descriptors(const std::vector<asio::const_buffer>& buffers,
                                         std::size_t bytes, std::error_code& ec);
  void start_rings();  // both sides: rings, wake descriptors, the socket watch
  void watch_socket();
  void peer_gone(std::error_code why);
  bool poll_briefly(bool (local_stream::*ready)() const) const;
  // Until `ready` (bytes to read, room to write) or a wake-up on `wake`: spins first when
  // configured, else announces the wait on `ring` (rx_ or tx_) and sleeps.
  template <class Ring>
  asio::awaitable<void> wait_until(Ring& ring, bool (local_stream::*ready)() const,
                                   asio::posix::stream_descriptor& wake);
  bool rx_ready() const;
  bool tx_ready() const;

  socket_type socket_;
  peer_info peer_;
  role role_;
  shm_options shm_;
  bool expect_descriptors_;  // client: reads take passed descriptors (the handshake's)
  bool closed_ = false;
  bool rings_ = false;
  std::uint64_t written_ = 0;    // bytes written on the socket
  std::uint64_t switch_at_ = 0;  // broker: the switch point once offered, else 0
  std::vector<int> received_;    // client: descriptors that came with the handshake
  shm::segment segment_;
  shm::ring_reader rx_;
  shm::ring_writer tx_;
  std::unique_ptr<asio::posix::stream_descriptor> rx_wait_, tx_wait_;  // we sleep on these
  int rx_signal_ = -1, tx_signal_ = -1;  // and wake the peer with these (segment_ owns them)
  std::error_code failed_;               // the peer left or broke the rings: reads end once drained
  std::shared_ptr<local_stream*> self_;  // the socket watch's way back; null once destroyed
};

}  // namespace ipc::transport
