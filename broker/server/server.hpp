// The serving process minus its platform shell: listeners and their accept loops, the
// broker core, the once-a-second rate sampler, and the graceful stop sequence.
#pragma once

#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "core/broker_core.hpp"
#include "ipc/config/config.hpp"
#include "ipc/transport/stream.hpp"
#include "platform/platform.hpp"

namespace ipc::broker {

class service_notifier;
class mqtt_registry;
class http_service;
class uplink_set;

class server {
 public:
  // `fs` is where storage goes (the system's files unless a test injects failures).
  server(asio::io_context& io, const config::broker_config& config,
         std::shared_ptr<spdlog::logger> logger,
         std::shared_ptr<storage::file_system> fs = nullptr);
  ~server();

  // Listening sockets inherited from the service manager: a configured listener bound
  // to the same address adopts one instead of binding; the rest are closed. Before open().
  void adopt(std::vector<platform::inherited_socket> sockets) { inherited_ = std::move(sockets); }
  // Where reload() gets the next config (re-reading the file); without it reload is refused.
  void set_config_source(std::function<config::load_result()> source) {
    source_ = std::move(source);
  }
  // Told READY/RELOADING/STOPPING and pinged for the watchdog (may be inactive).
  void set_notifier(service_notifier* notifier) { notifier_ = notifier; }

  // Opens storage (recovering durable queues), then every configured listener; on
  // failure logs why, closes what was opened and returns false.
  bool open();
  // The addresses actually bound (real ports for tcp://host:0) of the listeners that
  // speak `protocol`.
  std::vector<transport::url> bound_urls(
      config::listener_protocol protocol = config::listener_protocol::native) const;
  // Starts accepting and the background timers.
  void start();
  // Graceful stop: stop accepting, tell clients, flush, and close every session once it
  // has drained or after `grace`. Safe to call more than once.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Re-reads the config and applies it atomically (docs/operations.md §3): nothing
  // changes when the file is invalid or a new listener or certificate cannot be set up.
  reload_report reload();
  // reload() for callers that only need it logged (a signal, a service control).
  void reload_and_forget() { (void)reload(); }

  broker_core& core() { return core_; }
  // Called once the graceful stop has finished (to release the caller's own work,
  // such as a signal set, so that io_context::run() returns).
  void on_stopped(std::function<void()> fn) { on_stopped_ = std::move(fn); }

 private:
  struct listener {
    std::unique_ptr<transport::acceptor> acceptor;
    transport::url url;
    transport::listen_options options;
    config::listener configured;  // as in the config file
  };
  // Opens one configured listener (adopting an inherited socket when one matches).
  std::unique_ptr<listener> open_listener(const config::listener& entry,
                                          const config::limits& limits, std::string& error);
  transport::listen_options options_of(const config::listener& entry, const config::limits& limits);
  bool plan_listeners(const config::broker_config& next, reload_report& report,
                      std::vector<std::unique_ptr<listener>>& added,
                      std::vector<std::function<void()>>& updates);
  void apply_listeners(const config::broker_config& next,
                       std::vector<std::unique_ptr<listener>> added,
                       std::vector<std::function<void()>>& updates, reload_report& report);
  void apply_log(const config::broker_config& next, reload_report& report);
  // Raises the open-file limit to what limits.max_connections may need, as far as the
  // OS allows, and warns when that is short (docs/operations.md).
  void provide_descriptors();
  asio::awaitable<void> accept_loop(listener& l);
  asio::awaitable<void> sample_loop();
  asio::awaitable<void> delay_loop();
  void release_memory_after_flood();
  asio::awaitable<void> watchdog_loop();
  asio::awaitable<void> drain_then_stop(std::chrono::milliseconds grace);

  asio::io_context& io_;
  config::broker_config config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<storage::file_system> fs_;
  broker_core core_;
  std::shared_ptr<mqtt_registry> mqtt_;  // the MQTT front-end's client identifiers
  std::shared_ptr<http_service> http_;   // the monitoring endpoint's routes and snapshot
  std::unique_ptr<uplink_set> uplinks_;  // NATS uplinks (docs/uplinks.md)
  std::list<std::unique_ptr<listener>> listeners_;
  std::vector<std::unique_ptr<listener>> retired_;  // removed by reload: closed, kept
  std::vector<platform::inherited_socket> inherited_;
  std::function<config::load_result()> source_;
  service_notifier* notifier_ = nullptr;
  asio::steady_timer sample_timer_;
  asio::steady_timer delay_timer_;  // the earliest delayed message (delay_loop)
  asio::steady_timer watchdog_timer_;
  bool stopping_ = false;
  std::size_t peak_clients_ = 0;  // most connections since memory was last released
  std::function<void()> on_stopped_;
};

}  // namespace ipc::broker
