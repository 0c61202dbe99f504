// A move-only type-erased callable (std::move_only_function is C++23): completion
// handlers such as Asio's use_awaitable and use_future ones cannot be copied.
#pragma once

#include <memory>
#include <utility>

namespace ipc::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() = default;
  template <class F>
  unique_function(F f)
      : impl_(std::make_unique<model<F>>(std::move(f))) {
  }  // NOLINT: implicit by design, like std::function

  explicit operator bool() const { return impl_ != nullptr; }
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F f) : fn(std::move(f)) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<concept_t> impl_;
};

}  // namespace ipc::detail
