// The shared-memory rings without processes or system calls: a segment in ordinary
// memory, a writer and a reader of the same ring. Bytes in order across the wrap, at every
// chunk size; impossible positions written by a broken peer reported, never followed; the
// waiting flags of the wake-up protocol; the header a client checks.
#include <doctest/doctest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "ipc/transport/shm_ring.hpp"

using namespace ipc::transport::shm;

namespace {

constexpr std::uint32_t ring = min_ring_bytes;

struct fixture {
  fixture() : memory(segment_bytes(ring) / 8 + 1) { initialize_segment(bytes(), ring); }
  std::span<std::uint8_t> bytes() {
    return {reinterpret_cast<std::uint8_t*>(memory.data()), segment_bytes(ring)};
  }
  // 8-byte aligned, as a mapping is (the positions are 64-bit atomics).
  std::vector<std::uint64_t> memory;
};

std::vector<std::uint8_t> pattern(std::size_t size, std::uint8_t seed) {
  std::vector<std::uint8_t> out(size);
  std::iota(out.begin(), out.end(), seed);
  return out;
}

// The 64-bit word at `offset` of the control page (for a test playing a broken peer).
std::uint64_t& word_at(fixture& f, std::size_t offset) {
  return *reinterpret_cast<std::uint64_t*>(f.bytes().data() + offset);
}

}  // namespace

TEST_CASE("shm ring: sizes and the header a client checks") {
  CHECK(valid_ring_bytes(4096));
  CHECK(valid_ring_bytes(64u << 20));
  CHECK_FALSE(valid_ring_bytes(2048));
  CHECK_FALSE(valid_ring_bytes(6000));
  CHECK_FALSE(valid_ring_bytes(128u << 20));
  fixture f;
  CHECK(read_ring_bytes(f.bytes()) == ring);
  CHECK(read_ring_bytes(f.bytes().first(segment_bytes(ring) - 1)) == 0);  // too short
  f.bytes()[0] ^= 0xff;
  CHECK(read_ring_bytes(f.bytes()) == 0);  // not our magic
  f.bytes()[0] ^= 0xff;
  f.bytes()[8] = 0x10;  // ring size 4112: not a power of two
  CHECK(read_ring_bytes(f.bytes()) == 0);
}

TEST_CASE("shm ring: bytes arrive in order across the wrap, at every chunk size") {
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{1000}, std::size_t{4095},
                            std::size_t{4096}, std::size_t{5000}}) {
    CAPTURE(chunk);
    fixture f;
    ring_writer writer(f.bytes(), ring, direction::to_client);
    ring_reader reader(f.bytes(), ring, direction::to_client);
    auto sent = pattern(3 * ring + 123, static_cast<std::uint8_t>(chunk));
    std::vector<std::uint8_t> got;
    std::size_t at = 0;
    bool corrupt = false;
    while (got.size() < sent.size()) {
      std::size_t n = std::min(chunk, sent.size() - at);
      at += writer.write(std::span(sent).subspan(at, n), corrupt);
      std::vector<std::uint8_t> out(chunk);
      out.resize(reader.read(out, corrupt));
      got.insert(got.end(), out.begin(), out.end());
      REQUIRE_FALSE(corrupt);
    }
    CHECK(got == sent);
  }
}

TEST_CASE("shm ring: a full ring takes nothing more until read, and the rings are separate") {
  fixture f;
  ring_writer to_client(f.bytes(), ring, direction::to_client);
  ring_writer to_broker(f.bytes(), ring, direction::to_broker);
  ring_reader broker_side(f.bytes(), ring, direction::to_broker);
  bool corrupt = false;
  auto data = pattern(ring + 10, 1);
  CHECK(to_client.write(data, corrupt) == ring);
  CHECK(to_client.writable(corrupt) == 0);
  CHECK(to_client.write(data, corrupt) == 0);
  CHECK(broker_side.readable(corrupt) == 0);  // the other direction is empty
  CHECK(to_broker.write(std::span(data).first(5), corrupt) == 5);
  CHECK(broker_side.readable(corrupt) == 5);
  ring_reader client_side(f.bytes(), ring, direction::to_client);
  std::vector<std::uint8_t> out(100);
  CHECK(client_side.read(out, corrupt) == 100);
  CHECK(to_client.writable(corrupt) == 100);
  CHECK_FALSE(corrupt);
}

TEST_CASE("shm ring: impossible positions from a broken peer are reported, not followed") {
  // Control blocks: ring 0 at 64 (its producer's line) and 128 (its consumer's line).
  constexpr std::size_t tail_of_ring0 = 64, head_of_ring0 = 128;
  fixture f;
  ring_reader broker_side(f.bytes(), ring, direction::to_broker);
  bool corrupt = false;
  std::vector<std::uint8_t> out(64);
  word_at(f, tail_of_ring0) = std::uint64_t{1} << 63;  // claims more than the ring holds
  CHECK(broker_side.read(out, corrupt) == 0);
  CHECK(corrupt);
  corrupt = false;
  word_at(f, tail_of_ring0) = ring;  // a whole ring: possible, read in pieces
  CHECK(broker_side.read(out, corrupt) == 64);
  CHECK_FALSE(corrupt);
  word_at(f, tail_of_ring0) = 10;  // behind what we read: impossible
  CHECK(broker_side.readable(corrupt) == 0);
  CHECK(corrupt);

  fixture g;
  ring_writer client_bound(g.bytes(), ring, direction::to_broker);
  corrupt = false;
  auto data = pattern(100, 3);
  REQUIRE(client_bound.write(data, corrupt) == 100);
  word_at(g, head_of_ring0) = 1000;  // the consumer read past what was written
  CHECK(client_bound.write(data, corrupt) == 0);
  CHECK(corrupt);
  corrupt = false;
  word_at(g, head_of_ring0) = 50;  // possible: half read
  CHECK(client_bound.writable(corrupt) == ring - 50);
  CHECK_FALSE(corrupt);
}

TEST_CASE("shm ring: the waiting flags wake each side once") {
  fixture f;
  ring_writer writer(f.bytes(), ring, direction::to_client);
  ring_reader reader(f.bytes(), ring, direction::to_client);
  bool corrupt = false;
  auto data = pattern(ring, 0);
  CHECK_FALSE(writer.consumer_wants_wake());  // nobody waits
  CHECK_FALSE(writer.consumer_waiting());
  reader.announce_wait();
  CHECK(writer.consumer_waiting());  // a look: it does not take the wake-up
  CHECK(writer.consumer_waiting());
  writer.write(std::span(data).first(10), corrupt);
  CHECK(writer.consumer_wants_wake());
  CHECK_FALSE(writer.consumer_wants_wake());  // taken: one wake per wait
  CHECK_FALSE(writer.consumer_waiting());
  reader.announce_wait();
  reader.withdraw_wait();  // woke for another reason
  CHECK_FALSE(writer.consumer_waiting());
  CHECK_FALSE(writer.consumer_wants_wake());

  writer.write(data, corrupt);  // fills the ring
  writer.announce_wait();
  std::vector<std::uint8_t> out(10);
  reader.read(out, corrupt);
  CHECK(reader.producer_wants_wake());
  CHECK_FALSE(reader.producer_wants_wake());
  CHECK_FALSE(corrupt);
}

TEST_CASE("shm wake slots: each side signals where the other waits, the broker waits on its own") {
  using namespace ipc::transport::shm;
  constexpr auto broker = slots_of(true), client = slots_of(false);
  CHECK(broker.signal_bytes == client.wait_bytes);
  CHECK(broker.signal_space == client.wait_space);
  CHECK(client.signal_bytes == broker.wait_bytes);
  CHECK(client.signal_space == broker.wait_space);
  CHECK(broker_waits(broker.wait_bytes));
  CHECK(broker_waits(broker.wait_space));
  CHECK_FALSE(broker_waits(client.wait_bytes));
  CHECK_FALSE(broker_waits(client.wait_space));
}
