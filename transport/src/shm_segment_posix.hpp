// A shm connection's shared memory on Linux (docs/shared-memory.md §2, §4): a sealed
// memfd mapped by both sides and four eventfds, made by the broker and passed to the
// client with SCM_RIGHTS. Owns its descriptors and mapping; no Asio.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ipc/transport/shm_ring.hpp"

namespace ipc::transport::shm {

// The eventfds, in the order they are passed: who waits on each is in the name's first
// half (the consumer of a ring waits for bytes, its producer for space).
enum wake_slot : std::size_t {
  to_broker_bytes = 0,  // the broker waits; the client signals after writing
  to_broker_space = 1,  // the client waits; the broker signals after reading
  to_client_bytes = 2,  // the client waits; the broker signals after writing
  to_client_space = 3,  // the broker waits; the client signals after reading
  wake_slots = 4,
};

class segment {
 public:
  segment() = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  ~segment();

  // Broker: a fresh segment with rings of `ring_bytes`, sealed against resizing.
  static segment create(std::uint32_t ring_bytes, std::string& error);
  // Client: the segment of the descriptors a broker sent (memfd first, then the four
  // eventfds); takes ownership of every descriptor, also on failure.
  static segment adopt(std::vector<int> descriptors, std::string& error);

  bool valid() const { return memory_ != nullptr; }
  std::span<std::uint8_t> memory() const { return {memory_, bytes_}; }
  std::uint32_t ring_bytes() const { return ring_bytes_; }
  // The memfd and the eventfds, in passing order.
  std::array<int, 1 + wake_slots> descriptors() const;
  int wake_descriptor(wake_slot slot) const { return wakes_[slot]; }
  // Once the descriptors are passed, the broker needs the memfd no more (the mapping
  // stays): one descriptor less per connection.
  void close_memfd();
  // Hands an eventfd over (to an Asio descriptor that closes it); -1 afterwards here.
  int release_wake_descriptor(wake_slot slot);

 private:
  void reset();

  std::uint8_t* memory_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t ring_bytes_ = 0;
  int memfd_ = -1;
  std::array<int, wake_slots> wakes_{-1, -1, -1, -1};
};

// Wakes the side that waits on eventfd `fd`. Never blocks: a counter at its maximum (a
// peer that wrote it full) already wakes the waiter.
void signal_wake(int fd);

}  // namespace ipc::transport::shm
