// Logger construction from config `log`: text or JSON lines to stderr. Components get
// the logger injected; tests pass their own capturing logger.
#pragma once

#include <memory>

#include <spdlog/logger.h>

#include "ipc/config/config.hpp"

namespace ipc::broker {

std::shared_ptr<spdlog::logger> make_logger(const config::log& settings);

}  // namespace ipc::broker
