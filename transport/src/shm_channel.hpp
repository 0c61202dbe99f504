// The ring phase of a shm connection, the same on every platform (docs/shared-memory.md
// §2, §3): reads and writes through the segment's two rings, polling for a while when
// spinning is configured, else announcing the wait and sleeping until the peer's wake-up.
// How a side sleeps and how it wakes the other is the platform's (wake_port: pipes on
// Linux, events on Windows); everything else is here.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>

#include "ipc/transport/shm_ring.hpp"

namespace ipc::transport::shm {

// One side's wake-up objects. `bytes` is about bytes arriving (this side's read ring got
// some, or its peer's did), `space` about room freed (this side's write ring, or its
// peer's read ring).
class wake_port {
 public:
  enum event { bytes, space };
  virtual ~wake_port() = default;
  // Until the peer signals `what` (a signal sent while nobody slept ends the next sleep
  // at once) or cancel(). What it returns means nothing (a count of wake-up tokens taken
  // on some platforms): an implementation may hand back Asio's own awaitable, with no
  // coroutine frame of its own.
  virtual asio::awaitable<std::size_t> sleep(event what) = 0;
  // bytes: our write ring has new bytes; space: our read ring has room. Never blocks.
  virtual void signal(event what) = 0;
  // Ends sleeps in progress.
  virtual void cancel() = 0;
};

class channel {
 public:
  // `memory`: the mapped segment (it outlives the channel); `broker`: which end of the
  // rings this side is.
  channel(asio::any_io_executor executor, std::span<std::uint8_t> memory, std::uint32_t ring_bytes,
          bool broker, std::uint32_t spin_us, std::unique_ptr<wake_port> wakes);

  // At least one byte, or ec: operation_aborted after close(), the peer's failure once
  // what it wrote before has been read.
  asio::awaitable<std::size_t> read(asio::mutable_buffer buffer, std::error_code& ec);
  // Every byte of `buffers` after the first `skip`.
  asio::awaitable<void> write(const std::vector<asio::const_buffer>& buffers, std::size_t skip,
                              std::error_code& ec);
  // What the ring takes now of `buffers` (stream::write_now): never waits.
  std::size_t write_now(const std::vector<asio::const_buffer>& buffers, std::error_code& ec);
  // This side spins and the peer reads its ring awake (it has not announced a wait):
  // write_now() costs a copy and no system call (stream::writes_at_once).
  bool peer_polls() const { return spin_us_ != 0 && !tx_.consumer_waiting(); }
  // The peer left or broke the rings: writes fail, reads end once drained.
  void fail(std::error_code why);
  // This side closes: operations in progress end with operation_aborted.
  void close();

 private:
  // Copies into the ring what it takes of `buffers` from `next`/`rest` on, wakes a reader
  // that sleeps, and returns the bytes copied; `full` when some did not fit.
  std::size_t copy_in(std::vector<asio::const_buffer>::const_iterator& next,
                      std::vector<asio::const_buffer>::const_iterator end,
                      std::span<const std::uint8_t>& rest, std::size_t& skip, bool& full);
  bool poll_briefly(bool (channel::*ready)() const) const;
  // Polls for `ready` (bytes to read, room to write) for spin_us_: whether it came. Else
  // the caller announces its wait on the ring, looks once more and sleeps.
  asio::awaitable<bool> spin_until(bool (channel::*ready)() const);
  bool rx_ready() const;
  bool tx_ready() const;

  asio::any_io_executor executor_;
  ring_reader rx_;
  ring_writer tx_;
  std::uint32_t spin_us_;
  std::uint32_t wake_room_;  // a waiting producer is woken when no more than this is unread
  std::unique_ptr<wake_port> wakes_;
  bool closed_ = false;
  std::error_code failed_;
};

}  // namespace ipc::transport::shm
