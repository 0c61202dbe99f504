// Logger construction from config `log`: text or JSON lines to stderr (journal priority
// prefixes when stderr is the journal) and optionally a rotated file. Components get the
// logger injected; tests pass their own capturing logger.
#pragma once

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "ipc/config/config.hpp"

namespace ipc::broker {

// `journal`: stderr is connected to the systemd journal (JOURNAL_STREAM matches it), so
// text lines carry "<N>" syslog priorities and no timestamps. Returns nullptr with
// `error` set when the log file cannot be opened.
std::shared_ptr<spdlog::logger> make_logger(const config::log& settings, bool journal,
                                            std::string& error);

}  // namespace ipc::broker
