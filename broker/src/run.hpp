// Running the broker until it is told to stop; run_posix.cpp handles SIGTERM/SIGINT
// (stop) and SIGHUP (reload), the Windows twin lives with the service code.
#pragma once

#include <functional>
#include <memory>

#include <spdlog/logger.h>

#include "ipc/config/config.hpp"

namespace ipc::broker {

// Serves until SIGTERM/SIGINT; returns the process exit code (0 after a graceful stop,
// 1 when storage or a listener could not be opened). `source` re-reads the config for a
// reload (empty: the broker runs on its embedded config and cannot reload).
int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger,
        std::function<config::load_result()> source);

}  // namespace ipc::broker
