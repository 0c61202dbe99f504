// A shm connection's shared memory on Linux (docs/shared-memory.md §2, §4): a sealed
// memfd mapped by both sides and four wake-up pipes, made by the broker, which keeps one
// end of each pipe and passes the memfd and the other ends to the client with
// SCM_RIGHTS. Pipes, not eventfds: a descriptor passed to another process shares its open
// file, and with it O_NONBLOCK, which that process could clear; a pipe's two ends are two
// files, so the broker's ends stay non-blocking whatever the client does. Owns its
// descriptors and mapping; no Asio.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ipc/transport/shm_ring.hpp"

namespace ipc::transport::shm {

class segment {
 public:
  segment() = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  ~segment();

  // Broker: a fresh segment with rings of `ring_bytes`, sealed against resizing, and the
  // wake-up pipes.
  static segment create(std::uint32_t ring_bytes, std::string& error);
  // Client: the segment of the descriptors a broker sent (memfd first, then its ends of
  // the four pipes); takes ownership of every descriptor, also on failure.
  static segment adopt(std::vector<int> descriptors, std::string& error);

  bool valid() const { return memory_ != nullptr; }
  std::span<std::uint8_t> memory() const { return {memory_, bytes_}; }
  std::uint32_t ring_bytes() const { return ring_bytes_; }
  // Broker: what the client gets, in passing order: the memfd and its pipe ends.
  std::array<int, 1 + wake_slots> descriptors() const;
  // Broker, once they are passed: closes them (the mapping stays).
  void close_passed();
  // This side's end of a wake-up pipe: the read end where it waits, the write end where
  // it signals.
  int wake_descriptor(wake_slot slot) const { return wakes_[slot]; }
  // Hands a read end over (to an Asio descriptor that closes it); -1 afterwards here.
  int release_wake_descriptor(wake_slot slot);

 private:
  void reset();

  std::uint8_t* memory_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t ring_bytes_ = 0;
  int memfd_ = -1;
  std::array<int, wake_slots> wakes_{-1, -1, -1, -1};   // this side's ends
  std::array<int, wake_slots> passed_{-1, -1, -1, -1};  // broker: the client's ends
};

// Wakes the side that waits on the pipe whose write end is `fd`. Never blocks: a full
// pipe (a peer that does not read it) already wakes its reader.
void signal_wake(int fd);

}  // namespace ipc::transport::shm
