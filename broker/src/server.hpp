// The serving process minus its platform shell: listeners and their accept loops, the
// broker core, the once-a-second rate sampler, and the graceful stop sequence.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "broker.hpp"
#include "ipc/config/config.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::broker {

class server {
 public:
  // `fs` is where storage goes (the system's files unless a test injects failures).
  server(asio::io_context& io, const config::broker_config& config,
         std::shared_ptr<spdlog::logger> logger,
         std::shared_ptr<storage::file_system> fs = nullptr);
  ~server();

  // Opens storage (recovering durable queues), then every configured listener; on
  // failure logs why, closes what was opened and returns false.
  bool open();
  // The addresses actually bound (real ports for tcp://host:0).
  std::vector<transport::url> bound_urls() const;
  // Starts accepting and the background timers.
  void start();
  // Graceful stop: stop accepting, tell clients, flush, and close every session once it
  // has drained or after `grace`. Safe to call more than once.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  broker_core& core() { return core_; }
  // Called once the graceful stop has finished (to release the caller's own work,
  // such as a signal set, so that io_context::run() returns).
  void on_stopped(std::function<void()> fn) { on_stopped_ = std::move(fn); }

 private:
  struct listener {
    std::unique_ptr<transport::acceptor> acceptor;
    transport::url url;
    transport::listen_options options;
  };
  asio::awaitable<void> accept_loop(listener& l);
  asio::awaitable<void> sample_loop();
  asio::awaitable<void> drain_then_stop(std::chrono::milliseconds grace);

  asio::io_context& io_;
  config::broker_config config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<storage::file_system> fs_;
  broker_core core_;
  std::vector<listener> listeners_;
  asio::steady_timer sample_timer_;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
};

}  // namespace ipc::broker
