// Shared-memory rings: layout, checked positions and the waiting flags
// (docs/shared-memory.md §2 and §3).
#include "ipc/transport/shm_ring.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace ipc::transport::shm {
namespace {

// Byte offsets in the control page. Each side's fields share a cache line of their own,
// so that the producer's and the consumer's stores do not contend for one line.
constexpr std::size_t magic_at = 0, version_at = 4, ring_bytes_at = 8;
constexpr std::size_t ring_control_at = 64;  // ring 0; ring 1 follows 128 bytes later
constexpr std::size_t ring_control_bytes = 128;
constexpr std::size_t tail_at = 0, producer_waiting_at = 8;  // the producer's line
constexpr std::size_t head_at = 64, consumer_waiting_at = 72;

static_assert(ring_control_at + 2 * ring_control_bytes <= control_page_bytes);
static_assert(std::atomic_ref<std::uint64_t>::required_alignment <= 8);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

template <class T>
std::atomic_ref<T> field(std::uint8_t* control, std::size_t at) {
  return std::atomic_ref<T>(*reinterpret_cast<T*>(control + at));
}

std::uint8_t* control_of(std::span<std::uint8_t> segment, direction which) {
  return segment.data() + ring_control_at + static_cast<std::size_t>(which) * ring_control_bytes;
}

std::uint8_t* data_of(std::span<std::uint8_t> segment, std::uint32_t ring_bytes, direction which) {
  return segment.data() + control_page_bytes + static_cast<std::size_t>(which) * ring_bytes;
}

std::uint32_t load_u32(const std::uint8_t* at) {
  std::uint32_t value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

// Copies `n` bytes at ring position `position` into `out`, wrapping at the end.
void copy_out(const std::uint8_t* data, std::uint64_t mask, std::uint64_t position,
              std::uint8_t* out, std::size_t n) {
  std::size_t offset = position & mask;
  std::size_t first = std::min<std::size_t>(n, mask + 1 - offset);
  std::memcpy(out, data + offset, first);
  std::memcpy(out + first, data, n - first);
}

void copy_in(std::uint8_t* data, std::uint64_t mask, std::uint64_t position, const std::uint8_t* in,
             std::size_t n) {
  std::size_t offset = position & mask;
  std::size_t first = std::min<std::size_t>(n, mask + 1 - offset);
  std::memcpy(data + offset, in, first);
  std::memcpy(data, in + first, n - first);
}

}  // namespace

void initialize_segment(std::span<std::uint8_t> segment, std::uint32_t ring_bytes) {
  std::memset(segment.data(), 0, control_page_bytes);
  std::memcpy(segment.data() + magic_at, &segment_magic, 4);
  std::memcpy(segment.data() + version_at, &layout_version, 4);
  std::memcpy(segment.data() + ring_bytes_at, &ring_bytes, 4);
}

std::uint32_t read_ring_bytes(std::span<const std::uint8_t> segment) {
  if (segment.size() < control_page_bytes) return 0;
  if (load_u32(segment.data() + magic_at) != segment_magic) return 0;
  if (load_u32(segment.data() + version_at) != layout_version) return 0;
  std::uint32_t ring_bytes = load_u32(segment.data() + ring_bytes_at);
  if (!valid_ring_bytes(ring_bytes) || segment.size() < segment_bytes(ring_bytes)) return 0;
  return ring_bytes;
}

ring_reader::ring_reader(std::span<std::uint8_t> segment, std::uint32_t ring_bytes, direction which)
    : control_(control_of(segment, which)),
      data_(data_of(segment, ring_bytes, which)),
      mask_(ring_bytes - 1) {}

std::size_t ring_reader::readable(bool& corrupt) const {
  std::uint64_t tail = field<std::uint64_t>(control_, tail_at).load(std::memory_order_acquire);
  std::uint64_t available = tail - head_;  // modulo 2^64, like the positions
  if (available > mask_ + 1) {
    corrupt = true;
    return 0;
  }
  return static_cast<std::size_t>(available);
}

std::size_t ring_reader::read(std::span<std::uint8_t> out, bool& corrupt) {
  std::size_t n = std::min(readable(corrupt), out.size());
  if (n == 0) return 0;
  copy_out(data_, mask_, head_, out.data(), n);
  head_ += n;
  field<std::uint64_t>(control_, head_at).store(head_, std::memory_order_release);
  return n;
}

void ring_reader::announce_wait() {
  field<std::uint32_t>(control_, consumer_waiting_at).store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void ring_reader::withdraw_wait() {
  field<std::uint32_t>(control_, consumer_waiting_at).store(0, std::memory_order_relaxed);
}

bool ring_reader::producer_wants_wake() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // our head before their flag
  auto flag = field<std::uint32_t>(control_, producer_waiting_at);
  return flag.load(std::memory_order_relaxed) != 0 && flag.exchange(0) != 0;
}

ring_writer::ring_writer(std::span<std::uint8_t> segment, std::uint32_t ring_bytes, direction which)
    : control_(control_of(segment, which)),
      data_(data_of(segment, ring_bytes, which)),
      mask_(ring_bytes - 1) {}

std::size_t ring_writer::writable(bool& corrupt) const {
  std::uint64_t head = field<std::uint64_t>(control_, head_at).load(std::memory_order_acquire);
  std::uint64_t used = tail_ - head;
  if (used > mask_ + 1) {
    corrupt = true;
    return 0;
  }
  return static_cast<std::size_t>(mask_ + 1 - used);
}

std::size_t ring_writer::write(std::span<const std::uint8_t> bytes, bool& corrupt) {
  std::size_t n = std::min(writable(corrupt), bytes.size());
  if (n == 0) return 0;
  copy_in(data_, mask_, tail_, bytes.data(), n);
  tail_ += n;
  field<std::uint64_t>(control_, tail_at).store(tail_, std::memory_order_release);
  return n;
}

void ring_writer::announce_wait() {
  field<std::uint32_t>(control_, producer_waiting_at).store(1, std::memory_order_seq_cst);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

void ring_writer::withdraw_wait() {
  field<std::uint32_t>(control_, producer_waiting_at).store(0, std::memory_order_relaxed);
}

bool ring_writer::consumer_waiting() const {
  return field<std::uint32_t>(control_, consumer_waiting_at).load(std::memory_order_relaxed) != 0;
}

bool ring_writer::consumer_wants_wake() {
  std::atomic_thread_fence(std::memory_order_seq_cst);  // our tail before their flag
  auto flag = field<std::uint32_t>(control_, consumer_waiting_at);
  return flag.load(std::memory_order_relaxed) != 0 && flag.exchange(0) != 0;
}

}  // namespace ipc::transport::shm
