// Streams made ready by background coroutines (TLS handshakes, named-pipe instances
// waiting for clients) and handed out one per acceptor::accept(); shared by the TLS and
// named-pipe acceptors. Lives on the listener's executor; no locks.
#pragma once

#include <deque>
#include <memory>

#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "ipc/transport/stream.hpp"

namespace ipc::transport {

class ready_streams {
 public:
  explicit ready_streams(const asio::any_io_executor& executor) : signal_(executor) {
    signal_.expires_at(asio::steady_timer::time_point::max());
  }
  bool closed() const { return closed_; }
  void push(std::unique_ptr<stream> ready) {
    ready_.push_back(std::move(ready));
    signal_.cancel();
  }
  // Wakes a waiting next() with operation_aborted and drops what was not handed out.
  void close() {
    closed_ = true;
    signal_.cancel();
    ready_.clear();
  }
  // The next ready stream; operation_aborted once closed. The caller keeps `*this`
  // alive across the wait (it lives in state the caller holds a shared_ptr to).
  asio::awaitable<std::unique_ptr<stream>> next(std::error_code& ec) {
    for (;;) {
      if (closed_) {
        ec = asio::error::operation_aborted;
        co_return nullptr;
      }
      if (!ready_.empty()) {
        auto first = std::move(ready_.front());
        ready_.pop_front();
        co_return first;
      }
      std::error_code ignored;
      signal_.expires_at(asio::steady_timer::time_point::max());
      co_await signal_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
  }

 private:
  std::deque<std::unique_ptr<stream>> ready_;
  asio::steady_timer signal_;  // cancelled when a stream is pushed or on close
  bool closed_ = false;
};

}  // namespace ipc::transport
