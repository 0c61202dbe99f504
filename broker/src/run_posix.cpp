// POSIX process shell: signals (SIGTERM/SIGINT → graceful stop) around the server.
#include <csignal>

#include <asio/signal_set.hpp>

#include "platform.hpp"
#include "run.hpp"
#include "server.hpp"

namespace ipc::broker {

int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger) {
  platform::prepare_process();
  asio::io_context io(1);
  server broker(io, config, logger);
  if (!broker.open()) return 1;
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const std::error_code& ec, int signal_number) {
    if (ec) return;
    logger->info("received signal {}", signal_number);
    broker.stop();
  });
  broker.on_stopped([&] { signals.cancel(); });
  broker.start();
  logger->info("ipcd {} ready", IPCD_VERSION);
  io.run();
  return 0;
}

}  // namespace ipc::broker
