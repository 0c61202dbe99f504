// A move-only type-erased callable (std::move_only_function is C++23): completion
// handlers such as Asio's use_awaitable and use_future ones cannot be copied.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ipc::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function>>>
  unique_function(F f) {  // NOLINT: implicit by design, like std::function
    if constexpr (fits_inline<F>) {
      impl_ = ::new (static_cast<void*>(&buffer_)) model<F>(std::move(f));
    } else {
      impl_ = new model<F>(std::move(f));
    }
  }
  unique_function(unique_function&& other) noexcept { take(other); }
  unique_function& operator=(unique_function&& other) noexcept {
    if (this != &other) {
      // Taken out first: `other` may be owned by the callable about to be destroyed.
      unique_function taken(std::move(other));
      reset();
      take(taken);
    }
    return *this;
  }
  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;
  ~unique_function() { reset(); }

  explicit operator bool() const { return impl_ != nullptr; }
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  // Most completion handlers (a lambda holding an Asio handler and a pointer or two) are
  // kept inline: an operation awaiting the broker's answer costs no allocation for it.
  static constexpr std::size_t inline_bytes = 64;
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... args) = 0;
    // Moves the callable into `to` (inline storage of another unique_function) and
    // destroys this one; only for inline models.
    virtual concept_t* move_to(void* to) noexcept = 0;
    virtual bool is_inline() const noexcept = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F f) : fn(std::move(f)) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    concept_t* move_to(void* to) noexcept override {
      if constexpr (fits_inline<F>) {
        auto* moved = ::new (to) model(std::move(fn));
        this->~model();
        return moved;
      } else {
        (void)to;
        return this;  // never called: a heap model moves by its pointer
      }
    }
    bool is_inline() const noexcept override { return fits_inline<F>; }
    F fn;
  };
  template <class F>
  static constexpr bool fits_inline =
      sizeof(model<F>) <= inline_bytes &&
      alignof(model<F>) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<F>;

  void take(unique_function& other) noexcept {
    if (other.impl_ == nullptr) return;
    impl_ = other.impl_->is_inline() ? other.impl_->move_to(&buffer_) : other.impl_;
    other.impl_ = nullptr;
  }
  void reset() noexcept {
    if (impl_ == nullptr) return;
    if (impl_->is_inline())
      impl_->~concept_t();
    else
      delete impl_;
    impl_ = nullptr;
  }

  concept_t* impl_ = nullptr;
  alignas(std::max_align_t) unsigned char buffer_[inline_bytes];
};

}  // namespace ipc::detail
