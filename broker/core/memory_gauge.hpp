// The broker-wide memory bound (limits.max_memory, docs/config.md): the bytes of message
// data the broker holds — every connection's pending output (queued and being written)
// and every queue's messages (ready and unacknowledged) — counted where they are added
// and released. Past the limit the alarm goes on; it goes off once the count is back at
// 90 % of the limit or below, so that it does not flap at the line. What the alarm does
// (docs/architecture.md §3, "The memory bound") is the core's and the front-ends'
// business: the gauge only counts and says when the state flips. One I/O thread.
#pragma once

#include <cstdint>
#include <functional>

namespace ipc::broker {

class memory_gauge {
 public:
  // Called after the alarm went on or off; it must not call back into the gauge's
  // holders (the core posts the work it triggers).
  void on_change(std::function<void()> notify) { notify_ = std::move(notify); }
  // 0: no bound. Applies at once in both directions.
  void set_limit(std::uint64_t limit) {
    limit_ = limit;
    update();
  }

  void add(std::uint64_t bytes) {
    held_ += bytes;
    if (!alarm_ && limit_ != 0 && held_ > limit_) flip();
  }
  void release(std::uint64_t bytes) {
    held_ -= bytes < held_ ? bytes : held_;
    if (alarm_ && held_ <= low_mark()) flip();
  }

  std::uint64_t held() const { return held_; }
  std::uint64_t limit() const { return limit_; }
  bool alarm() const { return alarm_; }
  std::uint64_t alarms() const { return alarms_; }  // times it went on

 private:
  std::uint64_t low_mark() const { return limit_ - limit_ / 10; }
  void update() {
    if (!alarm_ && limit_ != 0 && held_ > limit_) return flip();
    if (alarm_ && (limit_ == 0 || held_ <= low_mark())) flip();
  }
  void flip() {
    alarm_ = !alarm_;
    if (alarm_) ++alarms_;
    if (notify_) notify_();
  }

  std::uint64_t held_ = 0;
  std::uint64_t limit_ = 0;
  std::uint64_t alarms_ = 0;
  bool alarm_ = false;
  std::function<void()> notify_;
};

}  // namespace ipc::broker
