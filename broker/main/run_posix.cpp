// POSIX process shell: signals (SIGTERM/SIGINT → graceful stop, SIGHUP → reload), the
// service manager's notifications and inherited sockets, around the server.
#include <csignal>

#include <asio/signal_set.hpp>

#include "main/run.hpp"
#include "platform/platform.hpp"
#include "server/server.hpp"
#include "server/systemd_notifier.hpp"

namespace ipc::broker {

namespace {

// Waits for SIGHUP again and again; each one reloads.
void on_hangup(asio::signal_set& hangup, server& broker, spdlog::logger& log) {
  hangup.async_wait([&](const std::error_code& ec, int) {
    if (ec) return;
    log.info("received SIGHUP");
    broker.reload();
    on_hangup(hangup, broker, log);
  });
}

}  // namespace

int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger,
        std::function<config::load_result()> source) {
  platform::prepare_process();
  asio::io_context io(1);
  systemd_notifier notifier;
  server broker(io, config, logger);
  broker.adopt(platform::take_inherited_sockets());
  broker.set_notifier(&notifier);
  if (source) broker.set_config_source(std::move(source));
  if (!broker.open()) {
    notifier.status("failed to start: see the log");
    return 1;
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const std::error_code& ec, int signal_number) {
    if (ec) return;
    logger->info("received signal {}", signal_number);
    broker.stop();
  });
  asio::signal_set hangup(io, SIGHUP);
  on_hangup(hangup, broker, *logger);
  broker.on_stopped([&] {
    signals.cancel();
    hangup.cancel();
  });
  broker.start();
  logger->info("ipcd {} ready", IPCD_VERSION);
  notifier.ready("serving on " + std::to_string(broker.bound_urls().size()) + " listener(s)");
  io.run();
  return 0;
}

void add_platform_commands(CLI::App&) {}

std::optional<int> run_platform_command(const std::string&) { return std::nullopt; }

}  // namespace ipc::broker
