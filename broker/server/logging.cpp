// make_logger: stderr and rotating-file sinks, level from config, the JSON-lines and the
// journal formatters.
#include "server/logging.hpp"

#include <chrono>

#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace ipc::broker {
namespace {

constexpr const char* text_pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";

// One JSON object per line: {"time":…,"level":…,"logger":…,"msg":…}, message escaped.
class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    nlohmann::json line{
        {"time_ms", millis},
        {"level", spdlog::level::to_string_view(msg.level).data()},
        {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<json_formatter>();
  }
};

// sd-daemon(3) prefixes: "<N>" with the syslog priority, then the message; the journal
// adds the time itself.
class journal_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";  // LOG_INFO
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prefix = "<7>"; break;     // LOG_DEBUG
      case spdlog::level::warn: prefix = "<4>"; break;      // LOG_WARNING
      case spdlog::level::err: prefix = "<3>"; break;       // LOG_ERR
      case spdlog::level::critical: prefix = "<2>"; break;  // LOG_CRIT
      default: break;
    }
    dest.append(prefix, prefix + 3);
    dest.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<journal_formatter>();
  }
};

std::unique_ptr<spdlog::formatter> formatter_for(const config::log& settings, bool journal) {
  if (settings.format == "json") return std::make_unique<json_formatter>();
  if (journal) return std::make_unique<journal_formatter>();
  return std::make_unique<spdlog::pattern_formatter>(text_pattern);
}

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const config::log& settings, bool journal,
                                            std::string& error) {
  std::vector<spdlog::sink_ptr> sinks;
  if (settings.to_stderr) {
    sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    sinks.back()->set_formatter(formatter_for(settings, journal));
  }
  if (!settings.file.empty()) {
    try {
      sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          settings.file, settings.max_file_bytes, settings.max_files));
    } catch (const spdlog::spdlog_ex& failure) {
      error = "log.file: " + std::string(failure.what());
      return nullptr;
    }
    sinks.back()->set_formatter(formatter_for(settings, false));
  }
  auto logger = std::make_shared<spdlog::logger>("ipcd", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(settings.level));
  logger->flush_on(spdlog::level::info);
  return logger;
}

}  // namespace ipc::broker
