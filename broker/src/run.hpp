// Running the broker until it is told to stop; run_posix.cpp handles SIGTERM/SIGINT,
// the Windows twin lives with the service code.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "ipc/config/config.hpp"

namespace ipc::broker {

// Serves until SIGTERM/SIGINT; returns the process exit code (0 after a graceful stop,
// 1 when a listener could not be opened).
int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger);

}  // namespace ipc::broker
