// shm::channel: the ring phase and its wake-up protocol (docs/shared-memory.md §3, §6).
#include "shm_channel.hpp"

#include <chrono>
#include <thread>

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

namespace ipc::transport::shm {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

channel::channel(asio::any_io_executor executor, std::span<std::uint8_t> memory,
                 std::uint32_t ring_bytes, bool broker, std::uint32_t spin_us,
                 std::unique_ptr<wake_port> wakes)
    : executor_(std::move(executor)),
      rx_(memory, ring_bytes, broker ? direction::to_broker : direction::to_client),
      tx_(memory, ring_bytes, broker ? direction::to_client : direction::to_broker),
      spin_us_(spin_us),
      wake_room_(ring_bytes / 2),
      wakes_(std::move(wakes)) {}

void channel::fail(std::error_code why) {
  if (!failed_) failed_ = why;
  wakes_->cancel();
}

void channel::close() {
  closed_ = true;
  wakes_->cancel();
}

bool channel::rx_ready() const {
  bool corrupt = false;
  return rx_.readable(corrupt) > 0 || corrupt || failed_ || closed_;
}

bool channel::tx_ready() const {
  bool corrupt = false;
  return tx_.writable(corrupt) > 0 || corrupt || failed_ || closed_;
}

bool channel::poll_briefly(bool (channel::*ready)() const) const {
  for (int i = 0; i < 64; ++i) {
    if ((this->*ready)()) return true;
    cpu_relax();
  }
  return false;
}

asio::awaitable<bool> channel::spin_until(bool (channel::*ready)() const) {
  // Poll without holding anything up: between looks the I/O thread runs whatever else
  // is ready (what this connection set going, other connections, other spinning ones),
  // and the CPU goes to any process that shares it (a yield returns at once when none
  // does).
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
  do {
    co_await asio::post(executor_, asio::use_awaitable);
    if (poll_briefly(ready)) co_return true;
    std::this_thread::yield();
  } while (std::chrono::steady_clock::now() < until);
  co_return false;
}

asio::awaitable<std::size_t> channel::read(asio::mutable_buffer buffer, std::error_code& ec) {
  std::span<std::uint8_t> out(static_cast<std::uint8_t*>(buffer.data()), buffer.size());
  bool waited = false;
  for (;;) {
    if (closed_) {
      ec = asio::error::operation_aborted;
      co_return 0;
    }
    bool corrupt = false;
    std::size_t n = rx_.read(out, corrupt);
    if (corrupt) fail(std::make_error_code(std::errc::bad_message));
    if (n > 0) {
      // A producer waiting for room is woken once half the ring is free, not for every
      // read: woken for a sliver, it would fill it and sleep again, a wake-up per read.
      // A consumer only sleeps on an empty ring, so the wake-up always comes.
      if (rx_.readable(corrupt) <= wake_room_ && rx_.producer_wants_wake())
        wakes_->signal(wake_port::space);
      // Bytes that were there at once: let the I/O thread run what else is ready first, as
      // a socket read does (Asio posts its completion). A reader whose peer keeps its ring
      // full would otherwise never give the thread back: every other connection, timer
      // and accept on it would wait.
      if (!waited) co_await asio::post(executor_, asio::use_awaitable);
      co_return n;
    }
    if (failed_) {  // what the peer wrote before it left has been read
      ec = failed_;
      co_return 0;
    }
    waited = true;
    // Waiting is written out here and in write(), not in a coroutine of its own: a round
    // trip sleeps twice in each process, and each coroutine frame on the way costs.
    if (spin_us_ != 0) {
      if (co_await spin_until(&channel::rx_ready)) continue;
    }
    rx_.announce_wait();  // then one more look before sleeping (docs/shared-memory.md §3)
    if (!rx_ready()) co_await wakes_->sleep(wake_port::bytes);
    rx_.withdraw_wait();
  }
}

std::size_t channel::copy_in(std::vector<asio::const_buffer>::const_iterator& next,
                             std::vector<asio::const_buffer>::const_iterator end,
                             std::span<const std::uint8_t>& rest, std::size_t& skip, bool& full) {
  // Copy as much as the ring takes, then wake the reader once.
  bool corrupt = false;
  std::size_t copied = 0;
  full = false;
  while (!full) {
    while (rest.empty() && next != end) {
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
    copied += n;
    full = !rest.empty();
    if (corrupt) break;
  }
  if (tx_.consumer_wants_wake()) wakes_->signal(wake_port::bytes);
  if (corrupt) fail(std::make_error_code(std::errc::bad_message));
  return copied;
}

std::size_t channel::write_now(const std::vector<asio::const_buffer>& buffers,
                               std::error_code& ec) {
  ec.clear();
  if (closed_) ec = asio::error::operation_aborted;
  if (failed_) ec = failed_;
  if (ec) return 0;
  auto next = buffers.begin();
  std::span<const std::uint8_t> rest;
  std::size_t skip = 0;
  bool full = false;
  std::size_t copied = copy_in(next, buffers.end(), rest, skip, full);
  if (failed_) ec = failed_;
  return ec ? 0 : copied;
}

asio::awaitable<void> channel::write(const std::vector<asio::const_buffer>& buffers,
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
    bool full = false;
    copy_in(next, buffers.end(), rest, skip, full);
    if (failed_) continue;  // the ring was corrupt: reported above
    if (!full) co_return;
    if (spin_us_ != 0) {
      if (co_await spin_until(&channel::tx_ready)) continue;
    }
    tx_.announce_wait();  // as in read()
    if (!tx_ready()) co_await wakes_->sleep(wake_port::space);
    tx_.withdraw_wait();
  }
}

}  // namespace ipc::transport::shm
