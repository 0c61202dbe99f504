// Running the broker until it is told to stop: run_posix.cpp handles SIGTERM/SIGINT
// (stop) and SIGHUP (reload); run_windows.cpp runs it as a service or a console program.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/logger.h>

#include "ipc/config/config.hpp"

namespace CLI {
class App;
}

namespace ipc::broker {

// Serves until SIGTERM/SIGINT; returns the process exit code (0 after a graceful stop,
// 1 when storage or a listener could not be opened). `source` re-reads the config for a
// reload (empty: the broker runs on its embedded config and cannot reload).
int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger,
        std::function<config::load_result()> source);

// The platform's own subcommands on ipcd's command line (Windows: `service install`,
// `uninstall`, `start`, `stop`; none on POSIX). After parsing, run_platform_command runs
// the one given and returns its exit code, or nullopt when none was given.
void add_platform_commands(CLI::App& app);
std::optional<int> run_platform_command(const std::string& config_file);

}  // namespace ipc::broker
