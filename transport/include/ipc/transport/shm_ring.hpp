// The shared-memory segment of a shm connection (docs/shared-memory.md §2): a header and
// two single-producer/single-consumer byte rings, one per direction, with the waiting
// flags of the wake-up protocol. Pure memory operations, no system calls: the platform
// files map the segment and do the waking. Neither side trusts what the other writes:
// a position read from the segment is checked before use and bytes are copied out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ipc::transport::shm {

inline constexpr std::uint32_t segment_magic = 0x52435049;  // "IPCR" in memory order
inline constexpr std::uint32_t layout_version = 1;
// Ring sizes: powers of two from one page to 64 MiB (a ring holds a byte stream, not
// whole frames, so a frame larger than the ring passes through it in pieces).
inline constexpr std::uint32_t min_ring_bytes = 4096;
inline constexpr std::uint32_t max_ring_bytes = 64u << 20;
// The first page holds the header and the two rings' control blocks; the rings' bytes
// follow, client-to-broker first.
inline constexpr std::size_t control_page_bytes = 4096;

constexpr bool valid_ring_bytes(std::uint64_t bytes) {
  return bytes >= min_ring_bytes && bytes <= max_ring_bytes && (bytes & (bytes - 1)) == 0;
}
constexpr std::size_t segment_bytes(std::uint32_t ring_bytes) {
  return control_page_bytes + 2 * static_cast<std::size_t>(ring_bytes);
}

enum class direction { to_broker = 0, to_client = 1 };

// A segment's four wake-up objects (pipes on Linux, events on Windows), in the order the
// client's are passed: the consumer of a ring waits for bytes, its producer for space.
enum wake_slot : std::size_t {
  to_broker_bytes = 0,  // the broker waits; the client signals after writing
  to_broker_space = 1,  // the client waits; the broker signals after reading
  to_client_bytes = 2,  // the client waits; the broker signals after writing
  to_client_space = 3,  // the broker waits; the client signals after reading
  wake_slots = 4,
};
// Whether the broker waits on `slot` (else it signals it).
constexpr bool broker_waits(wake_slot slot) {
  return slot == to_broker_bytes || slot == to_client_space;
}
// One side's use of the slots: where it sleeps until its read ring has bytes or its write
// ring has space, and which it signals after writing bytes or freeing space.
struct side_slots {
  wake_slot wait_bytes, wait_space, signal_bytes, signal_space;
};
constexpr side_slots slots_of(bool broker) {
  return broker ? side_slots{to_broker_bytes, to_client_space, to_client_bytes, to_broker_space}
                : side_slots{to_client_bytes, to_broker_space, to_broker_bytes, to_client_space};
}

// Writes the header and zeroes the control blocks of a fresh segment (the broker does
// this before the client ever sees it).
void initialize_segment(std::span<std::uint8_t> segment, std::uint32_t ring_bytes);
// The ring size a mapped segment's header announces, or 0 when the header is not one of
// ours (wrong magic or version, a size that is not valid, or a segment too small for it).
std::uint32_t read_ring_bytes(std::span<const std::uint8_t> segment);

// The consuming side of one ring. Keeps its own read position; the producer's position
// is re-read and checked on every call.
class ring_reader {
 public:
  ring_reader() = default;
  ring_reader(std::span<std::uint8_t> segment, std::uint32_t ring_bytes, direction which);

  // Copies up to out.size() readable bytes into `out` and releases their space; returns
  // how many. `corrupt` is set (and nothing read) when the producer's position is
  // impossible: more bytes readable than the ring holds.
  std::size_t read(std::span<std::uint8_t> out, bool& corrupt);
  // Bytes readable now (0 with `corrupt` set when the producer's position is impossible).
  std::size_t readable(bool& corrupt) const;
  // The wake-up protocol, consumer half: announce a wait (then check readable() once
  // more before sleeping), and withdraw it after waking.
  void announce_wait();
  void withdraw_wait();
  // After read(): true once when the producer announced it waits for space (it must be
  // woken).
  bool producer_wants_wake();

 private:
  std::uint8_t* control_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t head_ = 0;  // our read position; the segment's copy is for the producer
};

// The producing side of one ring. Keeps its own write position; the consumer's position
// is re-read and checked on every call.
class ring_writer {
 public:
  ring_writer() = default;
  ring_writer(std::span<std::uint8_t> segment, std::uint32_t ring_bytes, direction which);

  // Copies as much of `bytes` as fits and publishes it; returns how many. `corrupt` is
  // set (and nothing written) when the consumer's position is impossible.
  std::size_t write(std::span<const std::uint8_t> bytes, bool& corrupt);
  std::size_t writable(bool& corrupt) const;
  // The wake-up protocol, producer half (see ring_reader).
  void announce_wait();
  void withdraw_wait();
  // After write(): true once when the consumer announced it waits for bytes.
  bool consumer_wants_wake();
  // Whether the consumer announced that it waits (a look, no claim on the wake-up).
  bool consumer_waiting() const;

 private:
  std::uint8_t* control_ = nullptr;
  std::uint8_t* data_ = nullptr;
  std::uint64_t mask_ = 0;
  std::uint64_t tail_ = 0;  // our write position
};

}  // namespace ipc::transport::shm
