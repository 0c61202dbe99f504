// A connection's pending output: small frames and small message bodies are copied into
// one contiguous scratch buffer, large bodies are referenced. The writer swaps the
// pending half out and sends it as one gathered write while new output accumulates.
// Everything from append() until release() counts in the broker's memory gauge.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "core/memory_gauge.hpp"
#include "core/message_pool.hpp"

namespace ipc::broker {

// A vector element type's allocator that leaves new elements uninitialised: the output
// queue's scratch grows by what is about to be written over (no zero-fill first).
template <class T>
struct uninitialised_allocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = uninitialised_allocator<U>;
  };
  template <class U>
  void construct(U* at) noexcept {
    ::new (static_cast<void*>(at)) U;
  }
  template <class U, class... Args>
  void construct(U* at, Args&&... args) {
    ::new (static_cast<void*>(at)) U(std::forward<Args>(args)...);
  }
};

class output_queue {
 public:
  explicit output_queue(std::shared_ptr<memory_gauge> gauge) : gauge_(std::move(gauge)) {}
  ~output_queue() { gauge_->release(pending_bytes_); }
  output_queue(const output_queue&) = delete;
  output_queue& operator=(const output_queue&) = delete;

  // Appends bytes (a complete frame, or a prefix followed by the body).
  void append(std::span<const std::uint8_t> bytes);
  // Appends a reference to a shared body (after its prefix was appended).
  void append(body_ref body);
  // Reserves `n` bytes at the end of the scratch buffer for the caller to fill.
  std::uint8_t* extend(std::size_t n);
  // Bytes waiting (not yet handed to the writer).
  std::size_t pending_bytes() const { return pending_bytes_; }
  bool empty() const { return pending_bytes_ == 0; }
  void clear();  // drops what is pending

  // Moves everything pending into `batch` (whose old content is released) and returns
  // the buffers to write, valid until the next take().
  struct batch {
    std::vector<std::uint8_t, uninitialised_allocator<std::uint8_t>> scratch;
    struct segment {
      std::size_t scratch_begin;
      std::size_t scratch_end;
      body_ref body;
    };
    std::vector<segment> segments;
    std::size_t bytes = 0;
    void clear();
  };
  void take(batch& out);
  // The batch was written (or will never be): its bytes leave the gauge. Idempotent.
  void release(batch& written) {
    gauge_->release(written.bytes);
    written.clear();
  }

 private:
  std::shared_ptr<memory_gauge> gauge_;  // shared: a connection may outlive the core
  batch pending_;
  std::size_t pending_bytes_ = 0;
};

}  // namespace ipc::broker
