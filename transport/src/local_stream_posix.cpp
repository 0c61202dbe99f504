// local_stream: the socket phase, the switch (descriptors passed with SCM_RIGHTS) and the
// ring phase with its wake-up protocol (docs/shared-memory.md §3, §4).
#include "local_stream_posix.hpp"

#include <sched.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace ipc::transport {
namespace {

constexpr std::size_t passed_descriptors = 1 + shm::wake_slots;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

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

// Sleeps until the peer writes to the wake-up pipe whose read end is `wake` (or the wait
// is cancelled), and takes what it wrote. A read, not async_wait: Asio re-arms a
// descriptor (EPOLL_CTL_MOD) for every wait and still needs the read to empty the pipe.
// Asio (1.22) tries each read once before it waits (EAGAIN when nothing came), so a sleep
// costs three system calls: that read, the epoll_wait that returns the wake-up, and the
// read that takes it. A wake-up that came while nobody waited stays in the pipe and ends
// the next sleep at once.
asio::awaitable<void> sleep_on(asio::posix::stream_descriptor& wake) {
  char tokens[256];  // a peer that floods the pipe is emptied in few reads
  std::error_code ignored;
  co_await wake.async_read_some(asio::buffer(tokens),
                                asio::redirect_error(asio::use_awaitable, ignored));
}

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
  if (rx_wait_) rx_wait_->cancel(ignored);
  if (tx_wait_) tx_wait_->cancel(ignored);
}

bool local_stream::can_offer_shared_memory() const {
  return role_ == role::broker && shm_.enabled && !rings_ && switch_at_ == 0;
}

bool local_stream::offer_shared_memory(std::uint64_t switch_after, std::string& error) {
  if (!can_offer_shared_memory()) {
    error = "this listener does not offer shared memory";
    return false;
  }
  if (switch_after <= written_) {
    error = "the switch point has been written already";
    return false;
  }
  segment_ = shm::segment::create(shm_.ring_bytes, error);
  if (!segment_.valid()) return false;
  switch_at_ = switch_after;
  return true;
}

std::error_code local_stream::accept_shared_memory() {
  if (role_ != role::client || rings_) return std::make_error_code(std::errc::invalid_argument);
  std::string error;
  segment_ = shm::segment::adopt(std::exchange(received_, {}), error);
  if (!segment_.valid()) return std::make_error_code(std::errc::bad_message);
  start_rings();
  return {};
}

void local_stream::start_rings() {
  using shm::direction;
  bool broker = role_ == role::broker;
  auto memory = segment_.memory();
  auto ring_bytes = segment_.ring_bytes();
  rx_ = shm::ring_reader(memory, ring_bytes, broker ? direction::to_broker : direction::to_client);
  tx_ = shm::ring_writer(memory, ring_bytes, broker ? direction::to_client : direction::to_broker);
  auto executor = socket_.get_executor();
  rx_wait_ = std::make_unique<asio::posix::stream_descriptor>(
      executor,
      segment_.release_wake_descriptor(broker ? shm::to_broker_bytes : shm::to_client_bytes));
  tx_wait_ = std::make_unique<asio::posix::stream_descriptor>(
      executor,
      segment_.release_wake_descriptor(broker ? shm::to_client_space : shm::to_broker_space));
  rx_signal_ = segment_.wake_descriptor(broker ? shm::to_broker_space : shm::to_client_space);
  tx_signal_ = segment_.wake_descriptor(broker ? shm::to_client_bytes : shm::to_broker_bytes);
  rings_ = true;
  peer_.transport = scheme::shm;
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
    watched->peer_gone(n > 0 ? std::make_error_code(std::errc::protocol_error)
                             : std::error_code(asio::error::eof));
  });
}

void local_stream::peer_gone(std::error_code why) {
  if (!failed_) failed_ = why;
  std::error_code ignored;
  rx_wait_->cancel(ignored);
  tx_wait_->cancel(ignored);
}

asio::awaitable<std::size_t> local_stream::read_some(asio::mutable_buffer buffer,
                                                     std::error_code& ec) {
  ec.clear();  // callers reuse one error_code
  if (!rings_) {
    std::size_t n = 0;
    if (expect_descriptors_)
      n = co_await read_with_descriptors(buffer, ec);
    else
      n = co_await socket_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    if (!(rings_ && !closed_ && ec == asio::error::operation_aborted)) co_return n;
    ec.clear();  // the switch cancelled this read: the bytes come through the ring
  }
  co_return co_await ring_read(buffer, ec);
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
    co_await ring_write(buffers, 0, ec);
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
  if (before < total) co_await ring_write(buffers, before, ec);
  co_return ec ? 0 : total;
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

bool local_stream::rx_ready() const {
  bool corrupt = false;
  return rx_.readable(corrupt) > 0 || corrupt || failed_ || closed_;
}

bool local_stream::tx_ready() const {
  bool corrupt = false;
  return tx_.writable(corrupt) > 0 || corrupt || failed_ || closed_;
}

bool local_stream::poll_briefly(bool (local_stream::*ready)() const) const {
  for (int i = 0; i < 64; ++i) {
    if ((this->*ready)()) return true;
    cpu_relax();
  }
  return false;
}

template <class Ring>
asio::awaitable<void> local_stream::wait_until(Ring& ring, bool (local_stream::*ready)() const,
                                               asio::posix::stream_descriptor& wake) {
  if (shm_.spin_us != 0) {
    // Poll without holding anything up: between looks the I/O thread runs whatever else
    // is ready (what this connection set going, other connections, other spinning ones),
    // and the CPU goes to any process that shares it (sched_yield returns at once when
    // none does).
    auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(shm_.spin_us);
    do {
      co_await asio::post(socket_.get_executor(), asio::use_awaitable);
      if (poll_briefly(ready)) co_return;
      ::sched_yield();
    } while (std::chrono::steady_clock::now() < until);
  }
  ring.announce_wait();  // then one more look before sleeping (docs/shared-memory.md §3)
  if (!(this->*ready)()) co_await sleep_on(wake);
  ring.withdraw_wait();
}

asio::awaitable<std::size_t> local_stream::ring_read(asio::mutable_buffer buffer,
                                                     std::error_code& ec) {
  std::span<std::uint8_t> out(static_cast<std::uint8_t*>(buffer.data()), buffer.size());
  for (;;) {
    if (closed_) {
      ec = asio::error::operation_aborted;
      co_return 0;
    }
    bool corrupt = false;
    std::size_t n = rx_.read(out, corrupt);
    if (corrupt) peer_gone(std::make_error_code(std::errc::bad_message));
    if (n > 0) {
      if (rx_.producer_wants_wake()) shm::signal_wake(rx_signal_);
      co_return n;
    }
    if (failed_) {  // what the peer wrote before it left has been read
      ec = failed_;
      co_return 0;
    }
    co_await wait_until(rx_, &local_stream::rx_ready, *rx_wait_);
  }
}

asio::awaitable<void> local_stream::ring_write(const std::vector<asio::const_buffer>& buffers,
                                               std::size_t skip, std::error_code& ec) {
  auto next = buffers.begin();
  std::span<const std::uint8_t> rest;
  for (;;) {
    if (closed_) {
      ec = asio::error::operation_aborted;
      co_return;
    }
    if (failed_) {
      ec = failed_;
      co_return;
    }
    // Copy as much as the ring takes, then wake the reader once.
    bool corrupt = false, full = false;
    while (!full) {
      while (rest.empty() && next != buffers.end()) {
        auto buffer = *next++;
        if (skip >= buffer.size()) {
          skip -= buffer.size();
          continue;
        }
        rest = {static_cast<const std::uint8_t*>(buffer.data()) + skip, buffer.size() - skip};
        skip = 0;
      }
      if (rest.empty()) break;
      std::size_t n = tx_.write(rest, corrupt);
      rest = rest.subspan(n);
      full = !rest.empty();
      if (corrupt) break;
    }
    if (tx_.consumer_wants_wake()) shm::signal_wake(tx_signal_);
    if (corrupt) peer_gone(std::make_error_code(std::errc::bad_message));
    if (!full && !corrupt) co_return;
    co_await wait_until(tx_, &local_stream::tx_ready, *tx_wait_);
  }
}

}  // namespace ipc::transport
