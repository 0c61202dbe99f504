// Shared immutable message bodies for fan-out: encoded once, referenced by every
// recipient's output queue, recycled through a bounded pool so that steady-state
// fan-out of large messages does no heap allocation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ipc::broker {

class message_pool;

// One encoded message body (docs/protocol.md §4.1) with an intrusive reference count.
// Owned by one I/O thread (docs/architecture.md): the count is not atomic.
class shared_body {
 public:
  std::span<const std::uint8_t> bytes() const { return bytes_; }
  std::vector<std::uint8_t>& buffer() { return bytes_; }

 private:
  friend class message_pool;
  friend class body_ref;
  std::vector<std::uint8_t> bytes_;
  std::uint32_t refs_ = 0;
  message_pool* pool_ = nullptr;
};

// A counted reference to a shared_body; returns it to its pool when the last goes.
class body_ref {
 public:
  body_ref() = default;
  explicit body_ref(shared_body* body) : body_(body) {
    if (body_ != nullptr) ++body_->refs_;
  }
  body_ref(const body_ref& other) : body_ref(other.body_) {}
  body_ref(body_ref&& other) noexcept : body_(other.body_) { other.body_ = nullptr; }
  body_ref& operator=(body_ref other) noexcept {
    std::swap(body_, other.body_);
    return *this;
  }
  ~body_ref() { reset(); }

  void reset() {
    if (body_ != nullptr) drop();
  }
  explicit operator bool() const { return body_ != nullptr; }
  std::span<const std::uint8_t> bytes() const { return body_->bytes(); }
  shared_body* get() const { return body_; }

 private:
  void drop();  // body_ is set: one reference fewer, then none here
  shared_body* body_ = nullptr;
};

class message_pool {
 public:
  // At most `max_free` idle bodies are kept, each with at most `max_kept_capacity`
  // bytes of buffer: the pool's idle memory is bounded by their product.
  explicit message_pool(std::size_t max_free = 1024, std::size_t max_kept_capacity = 256 * 1024);
  ~message_pool();
  message_pool(const message_pool&) = delete;
  message_pool& operator=(const message_pool&) = delete;

  // An empty body (buffer cleared, capacity kept) to encode into.
  body_ref acquire();
  std::size_t idle() const { return free_.size(); }

 private:
  friend class body_ref;
  void release(shared_body* body);

  std::vector<shared_body*> free_;
  std::size_t max_free_;
  std::size_t max_kept_capacity_;
};

}  // namespace ipc::broker
