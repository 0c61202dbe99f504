// ipc::subscription: the RAII handle of a live subscription, shared by the async and the
// blocking client; no Asio here.
#pragma once

#include <cstdint>
#include <memory>

namespace ipc {

namespace detail {
class client_core;
}

// A live subscription or queue consumer; unsubscribes (or cancels) when destroyed or
// reset, from any thread. Dropped on the client's own thread it takes effect at once;
// dropped on another thread the unsubscribe is posted, so the handler may still run for
// messages already received until the client's thread has processed it.
class subscription {
 public:
  subscription() = default;
  subscription(subscription&& other) noexcept;
  bool is_consumer() const { return consumer_; }
  subscription& operator=(subscription&& other) noexcept;
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;
  ~subscription();

  void unsubscribe();
  std::uint32_t id() const { return sid_; }
  explicit operator bool() const { return sid_ != 0; }

 private:
  friend class async_client;
  friend class Client;
  subscription(std::weak_ptr<detail::client_core> core, std::uint32_t sid, bool consumer = false)
      : core_(std::move(core)), sid_(sid), consumer_(consumer) {}
  std::weak_ptr<detail::client_core> core_;
  std::uint32_t sid_ = 0;
  bool consumer_ = false;
};

}  // namespace ipc
