// broker_core's memory bound (limits.max_memory, docs/config.md): the limit in bytes, who
// waits while the alarm is on, and what the broker says when it goes on and off.
#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "platform/platform.hpp"

namespace ipc::broker {

namespace {
constexpr std::string_view reply_prefix = "$reply/";
}  // namespace

std::uint64_t broker_core::memory_limit(const config::limits& limits) {
  if (limits.max_memory_percent == 0) return limits.max_memory;
  return platform::available_memory_bytes() / 100 * limits.max_memory_percent;
}

bool broker_core::publisher_must_wait(std::string_view topic) const {
  return memory_->alarm() && !topic.starts_with(reply_prefix);
}

void broker_core::memory_alarm_changed() {
  alarm_posted_ = false;
  bool on = memory_->alarm();
  // Off is always passed on: the alarm may have gone on and off again before this ran,
  // and a publisher paused in between must not wait for an alarm nobody announces.
  if (!on)
    for (const auto& [id, s] : clients_) s->owner().memory_alarm(false);
  if (on == alarm_announced_) return;
  alarm_announced_ = on;
  auto held = memory_->held();
  auto limit = memory_->limit();
  if (on) {
    logger_->warn(
        "memory alarm: {} bytes of message data held, over limits.max_memory ({} bytes): "
        "publishers paused, sends and requests refused",
        held, limit);
  } else {
    logger_->info(
        "memory alarm cleared: {} bytes of message data held (limit {}): publishers "
        "resume",
        held, limit);
  }
  publish_system(
      "$SYS/broker/alarms/memory",
      json_text(nlohmann::json{{"alarm", on}, {"held_bytes", held}, {"limit_bytes", limit}}));
  if (on)
    for (const auto& [id, s] : clients_) s->owner().memory_alarm(true);
}

}  // namespace ipc::broker
