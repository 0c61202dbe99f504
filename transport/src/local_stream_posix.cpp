// local_stream: the socket phase, the switch (descriptors passed with SCM_RIGHTS) and the
// ring phase with its wake-up protocol (docs/shared-memory.md §3, §4).
#include "local_stream_posix.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "socket_stream.hpp"

namespace ipc::transport {
namespace {

constexpr std::size_t passed_descriptors = 1 + shm::wake_slots;

// The first `bytes` of `buffers`, or what follows them (skip).
std::vector<asio::const_buffer> slice(const std::vector<asio::const_buffer>& buffers,
                                      std::size_t skip, std::size_t bytes) {
  std::vector<asio::const_buffer> out;
  for (const auto& buffer : buffers) {
    if (bytes == 0) break;
    if (skip >= buffer.size()) {
      skip -= buffer.size();
      continue;
    }
    auto part = asio::buffer(buffer + skip, std::min(bytes, buffer.size() - skip));
    skip = 0;
    bytes -= part.size();
    out.push_back(part);
  }
  return out;
}

std::size_t total_bytes(const std::vector<asio::const_buffer>& buffers) {
  std::size_t total = 0;
  for (const auto& buffer : buffers) total += buffer.size();
  return total;
}

// The wake-up pipes of a segment, from one side (docs/shared-memory.md §3).
class pipe_wakes final : public shm::wake_port {
 public:
  pipe_wakes(const asio::any_io_executor& executor, shm::segment& segment, bool broker)
      : rx_wait_(executor, segment.release_wake_descriptor(shm::slots_of(broker).wait_bytes)),
        tx_wait_(executor, segment.release_wake_descriptor(shm::slots_of(broker).wait_space)),
        rx_signal_(segment.wake_descriptor(shm::slots_of(broker).signal_space)),
        tx_signal_(segment.wake_descriptor(shm::slots_of(broker).signal_bytes)) {}

  // A read, not async_wait: Asio re-arms a descriptor (EPOLL_CTL_MOD) for every wait and
  // still needs the read to empty the pipe. Asio (1.22) tries each read once before it
  // waits (EAGAIN when nothing came), so a sleep costs three system calls: that read, the
  // epoll_wait that returns the wake-up, and the read that takes it. A wake-up that came
  // while nobody waited stays in the pipe and ends the next sleep at once. Asio's own
  // awaitable, not a coroutine around it: one frame less on every sleep. At most one
  // sleep per event at a time (the channel's read sleeps for bytes, its write for
  // space, and both may at once), so each event has its own members to take the tokens
  // and the error.
  asio::awaitable<std::size_t> sleep(event what) override {
    auto& wait = what == bytes ? rx_wait_ : tx_wait_;
    return wait.async_read_some(asio::buffer(tokens_[what]),
                                asio::redirect_error(asio::use_awaitable, ignored_[what]));
  }
  void signal(event what) override { shm::signal_wake(what == bytes ? tx_signal_ : rx_signal_); }
  void cancel() override {
    std::error_code ignored;
    rx_wait_.cancel(ignored);
    tx_wait_.cancel(ignored);
  }

 private:
  asio::posix::stream_descriptor rx_wait_, tx_wait_;  // we sleep on these (and own them)
  int rx_signal_, tx_signal_;  // and wake the peer with these (the segment owns them)
  char tokens_[2][128];        // per event; a peer that floods the pipe is emptied in few reads
  std::error_code ignored_[2];
};

}  // namespace

local_stream::local_stream(socket_type socket, peer_info peer, role side, shm_options shm)
    : socket_(std::move(socket)),
      peer_(std::move(peer)),
      role_(side),
      shm_(shm),
      expect_descriptors_(side == role::client && shm.enabled),
      self_(std::make_shared<local_stream*>(this)) {}

local_stream::~local_stream() {
  *self_ = nullptr;
  close();
  for (int fd : received_) ::close(fd);
}

void local_stream::close() {
  closed_ = true;
  std::error_code ignored;
  socket_.shutdown(socket_type::shutdown_both, ignored);
  socket_.close(ignored);
  if (rings_) rings_->close();
}

bool local_stream::can_offer_shared_memory(bool) const {  // no token needed here
  return role_ == role::broker && shm_.enabled && !rings_ && !segment_.valid();
}

bool local_stream::offer_shared_memory(std::string& token, std::string& error) {
  token.clear();  // the descriptors travel with the bytes
  if (!can_offer_shared_memory(false)) {
    error = "this listener does not offer shared memory";
    return false;
  }
  segment_ = shm::segment::create(shm_.ring_bytes, error);
  return segment_.valid();
}

bool local_stream::switch_shared_memory_after(std::uint64_t bytes) {
  if (!segment_.valid() || rings_) return false;
  if (bytes <= written_) {  // the offer is withdrawn: the connection stays on the socket
    segment_ = {};
    return false;
  }
  switch_at_ = bytes;
  return true;
}

std::error_code local_stream::accept_shared_memory(std::string_view, std::string& error) {
  if (role_ != role::client || rings_) {
    error = "not a client connection waiting for the switch";
    return std::make_error_code(std::errc::invalid_argument);
  }
  segment_ = shm::segment::adopt(std::exchange(received_, {}), error);
  if (!segment_.valid()) return std::make_error_code(std::errc::bad_message);
  start_rings();
  return {};
}

void local_stream::start_rings() {
  bool broker = role_ == role::broker;
  auto executor = socket_.get_executor();
  rings_ = std::make_unique<shm::channel>(executor, segment_.memory(), segment_.ring_bytes(),
                                          broker, shm_.spin_us,
                                          std::make_unique<pipe_wakes>(executor, segment_, broker));
  peer_.transport = scheme::shm;
  if (closed_) rings_->close();  // closed while the switching write was under way
  std::error_code ignored;
  socket_.cancel(ignored);  // a read waiting on the socket goes on with the rings
  watch_socket();
}

void local_stream::watch_socket() {
  // Nothing may come on the socket after the switch: its end is the peer's (a crash
  // included), any byte a broken peer.
  socket_.async_wait(socket_type::wait_read, [self = self_](std::error_code ec) {
    local_stream* watched = *self;
    if (watched == nullptr || watched->closed_ || ec == asio::error::operation_aborted) return;
    char probe = 0;
    auto n = ::recv(watched->socket_.native_handle(), &probe, 1, MSG_DONTWAIT | MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
      return watched->watch_socket();  // a readiness event that was not (or no longer) true
    watched->rings_->fail(n > 0 ? std::make_error_code(std::errc::protocol_error)
                                : std::error_code(asio::error::eof));
  });
}

asio::awaitable<std::size_t> local_stream::read_some(asio::mutable_buffer buffer,
                                                     std::error_code& ec) {
  ec.clear();  // callers reuse one error_code
  // Asio's or the channel's awaitable itself, no coroutine frame of ours around it, once
  // on the rings or where there will be none.
  if (rings_) return rings_->read(buffer, ec);
  if (!shm_.enabled)
    return socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  return read_before_rings(buffer, ec);
}

asio::awaitable<std::size_t> local_stream::read_before_rings(asio::mutable_buffer buffer,
                                                             std::error_code& ec) {
  std::size_t n = 0;
  if (expect_descriptors_)
    n = co_await read_with_descriptors(buffer, ec);
  else
    n = co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  if (!(rings_ && !closed_ && ec == asio::error::operation_aborted)) co_return n;
  ec.clear();  // the switch cancelled this read: the bytes come through the ring
  co_return co_await rings_->read(buffer, ec);
}

asio::awaitable<std::size_t> local_stream::read_with_descriptors(asio::mutable_buffer buffer,
                                                                 std::error_code& ec) {
  // The client's reads until the handshake is over: recvmsg keeps the descriptors a
  // broker's switch sends (a plain read would drop them).
  for (;;) {
    if (closed_) {
      ec = asio::error::operation_aborted;
      co_return 0;
    }
    iovec io{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * passed_descriptors)];
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    auto n = ::recvmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await socket_.async_wait(socket_type::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return 0;
      continue;
    }
    if (n < 0) {
      ec = std::error_code(errno, std::system_category());
      co_return 0;
    }
    for (auto* header = CMSG_FIRSTHDR(&message); header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
      if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
      std::size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
        received_.push_back(fd);
      }
    }
    if (n == 0) ec = asio::error::eof;
    // The descriptors come with the first bytes of the WELCOME (the broker sends nothing
    // before it): later reads are plain.
    expect_descriptors_ = false;
    co_return static_cast<std::size_t>(n);
  }
}

asio::awaitable<std::size_t> local_stream::write(const std::vector<asio::const_buffer>& buffers,
                                                 std::error_code& ec) {
  ec.clear();  // callers reuse one error_code
  std::size_t total = total_bytes(buffers);
  if (rings_) {
    co_await rings_->write(buffers, 0, ec);
    co_return ec ? 0 : total;
  }
  if (switch_at_ == 0 || written_ + total < switch_at_) {
    std::size_t n =
        co_await asio::async_write(socket_, buffers, asio::redirect_error(asio::use_awaitable, ec));
    written_ += n;
    co_return n;
  }
  // This write reaches the switch point: the bytes up to it go on the socket with the
  // descriptors, the rest through the ring.
  std::size_t before = static_cast<std::size_t>(switch_at_ - written_);
  co_await send_descriptors(buffers, before, ec);
  if (ec) co_return 0;
  written_ += before;
  segment_.close_passed();
  start_rings();
  if (before < total) co_await rings_->write(buffers, before, ec);
  co_return ec ? 0 : total;
}

std::size_t local_stream::write_now(const std::vector<asio::const_buffer>& buffers,
                                    std::error_code& ec) {
  if (rings_) return rings_->write_now(buffers, ec);
  ec.clear();
  if (switch_at_ != 0) return 0;  // the write that reaches the switch point carries descriptors
  std::size_t n = write_without_waiting(socket_, buffers, ec);
  written_ += n;
  return n;
}

asio::awaitable<void> local_stream::send_descriptors(const std::vector<asio::const_buffer>& buffers,
                                                     std::size_t bytes, std::error_code& ec) {
  auto first = slice(buffers, 0, bytes);
  std::vector<iovec> io;
  for (const auto& part : first) io.push_back({const_cast<void*>(part.data()), part.size()});
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * passed_descriptors)]{};
  msghdr message{};
  message.msg_iov = io.data();
  message.msg_iovlen = io.size();
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  auto* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int) * passed_descriptors);
  auto descriptors = segment_.descriptors();
  std::memcpy(CMSG_DATA(header), descriptors.data(), sizeof(int) * passed_descriptors);
  for (;;) {
    auto n = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      co_await socket_.async_wait(socket_type::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      continue;
    }
    if (n < 0) {
      ec = std::error_code(errno, std::system_category());
      co_return;
    }
    auto rest = slice(first, static_cast<std::size_t>(n), bytes - static_cast<std::size_t>(n));
    if (!rest.empty())
      co_await asio::async_write(socket_, rest, asio::redirect_error(asio::use_awaitable, ec));
    co_return;
  }
}

}  // namespace ipc::transport
