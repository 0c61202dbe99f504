// stream and acceptor implementations shared by every Asio socket protocol
// (tcp, local stream); transport-specific set-up lives in tcp.cpp / unix_posix.cpp.
#pragma once

#include <functional>

#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "ipc/transport/stream.hpp"

namespace ipc::transport {

// One non-blocking gathered send on an Asio socket (stream::write_now): what the socket
// buffer takes, 0 when it is full.
template <class Socket>
std::size_t write_without_waiting(Socket& socket, const std::vector<asio::const_buffer>& buffers,
                                  std::error_code& ec) {
  ec.clear();
  if (!socket.non_blocking()) {
    socket.non_blocking(true, ec);  // synchronous calls only; async ones never block
    if (ec) return 0;
  }
  std::size_t n = socket.write_some(buffers, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec.clear();
    return 0;
  }
  return ec ? 0 : n;
}

template <class Protocol>
class socket_stream final : public stream {
 public:
  using socket_type = typename Protocol::socket;

  socket_stream(socket_type socket, peer_info peer)
      : socket_(std::move(socket)), peer_(std::move(peer)) {}

  // Asio's awaitable itself: no coroutine frame of ours around every read.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                         std::error_code& ec) override {
    return socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override {
    co_return co_await asio::async_write(socket_, buffers,
                                         asio::redirect_error(asio::use_awaitable, ec));
  }

  std::size_t write_now(const std::vector<asio::const_buffer>& buffers,
                        std::error_code& ec) override {
    return write_without_waiting(socket_, buffers, ec);
  }

  void close() override {
    std::error_code ignored;
    socket_.shutdown(socket_type::shutdown_both, ignored);
    socket_.close(ignored);
  }

  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override { return socket_.get_executor(); }

 private:
  socket_type socket_;
  peer_info peer_;
};

// Builds the peer_info of an accepted or connected socket.
template <class Protocol>
using peer_reader = std::function<peer_info(typename Protocol::socket&)>;

template <class Protocol>
class socket_acceptor final : public acceptor {
 public:
  socket_acceptor(typename Protocol::acceptor bound, url local, peer_reader<Protocol> reader,
                  std::function<void()> on_close = {})
      : acceptor_(std::move(bound)),
        local_(std::move(local)),
        reader_(std::move(reader)),
        on_close_(std::move(on_close)) {}
  ~socket_acceptor() override { close(); }

  asio::awaitable<std::unique_ptr<stream>> accept(std::error_code& ec) override {
    auto socket = co_await accept_socket(ec);
    if (ec) co_return nullptr;
    peer_info peer = reader_(socket);
    co_return std::make_unique<socket_stream<Protocol>>(std::move(socket), std::move(peer));
  }

  asio::awaitable<typename Protocol::socket> accept_socket(std::error_code& ec) {
    co_return co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
  }

  void close() override {
    if (!acceptor_.is_open()) return;
    std::error_code ignored;
    acceptor_.close(ignored);
    if (on_close_) on_close_();
  }

  url local_url() const override { return local_; }

 private:
  typename Protocol::acceptor acceptor_;
  url local_;
  peer_reader<Protocol> reader_;
  std::function<void()> on_close_;  // e.g. unlink the socket file
};

}  // namespace ipc::transport
