// libFuzzer target: the shared-memory rings (transport/shm_ring) as the broker uses them
// while a hostile client owns the other half of the segment. The input is a script: each
// step either has the "client" overwrite a word of the control page (positions, waiting
// flags, the header) or scribble over the ring bytes, or has the broker read or write a
// number of bytes. Whatever the client writes, a read returns at most what was asked and
// what a ring holds, a write at most what was given, and nothing touches memory outside
// the segment (ASan). Each step takes its operation, an amount and any value it writes
// from the input in turn.
// Run by scripts/fuzz.sh.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ipc/transport/shm_ring.hpp"

using namespace ipc::transport::shm;

namespace {

constexpr std::uint32_t ring = min_ring_bytes;

struct cursor {
  const std::uint8_t* at;
  std::size_t left;
  std::uint64_t take(std::size_t bytes) {
    std::uint64_t value = 0;
    bytes = std::min(bytes, left);
    std::memcpy(&value, at, bytes);
    at += bytes;
    left -= bytes;
    return value;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Exactly the segment, on the heap: ASan sees a byte past its end.
  std::vector<std::uint64_t> words(segment_bytes(ring) / 8);
  std::span<std::uint8_t> segment(reinterpret_cast<std::uint8_t*>(words.data()),
                                  segment_bytes(ring));
  initialize_segment(segment, ring);
  ring_reader from_client(segment, ring, direction::to_broker);
  ring_writer to_client(segment, ring, direction::to_client);
  std::vector<std::uint8_t> buffer(2 * ring);
  cursor script{data, size};
  while (script.left > 0) {
    auto op = script.take(1) % 5;
    auto amount = static_cast<std::size_t>(script.take(2)) % buffer.size();
    bool corrupt = false;
    switch (op) {
      case 0: {  // the client sets a control word (8-byte aligned, like the real fields)
        std::size_t offset = (amount % (control_page_bytes / 8)) * 8;
        std::uint64_t value = script.take(8);
        std::memcpy(segment.data() + offset, &value, 8);
        break;
      }
      case 1: {  // the client scribbles over ring bytes
        std::size_t offset = control_page_bytes + amount % (2 * ring);
        std::size_t n = std::min<std::size_t>(script.take(1), segment.size() - offset);
        std::memset(segment.data() + offset, static_cast<int>(amount), n);
        break;
      }
      case 2: {
        std::size_t got = from_client.read(std::span(buffer).first(amount), corrupt);
        if (got > amount || got > ring || (corrupt && got != 0)) std::abort();
        if (from_client.producer_wants_wake()) from_client.withdraw_wait();
        break;
      }
      case 3: {
        std::size_t put = to_client.write(std::span(buffer).first(amount), corrupt);
        if (put > amount || put > ring || (corrupt && put != 0)) std::abort();
        if (to_client.consumer_wants_wake()) to_client.withdraw_wait();
        break;
      }
      default: {
        if (from_client.readable(corrupt) > ring || to_client.writable(corrupt) > ring)
          std::abort();
        from_client.announce_wait();
        to_client.announce_wait();
        break;
      }
    }
  }
  (void)read_ring_bytes(segment);
  return 0;
}
