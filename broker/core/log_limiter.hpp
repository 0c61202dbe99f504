// Log lines for events an attacker can cause at will (protocol errors, failed
// authentications and TLS handshakes) are rate-limited so that a flood cannot fill the
// log or slow the broker: at most `burst` lines per `period` for one kind, the rest
// counted and reported with the next line let through. The counters in `status` see
// every event either way.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ipc::broker {

class log_limiter {
 public:
  using clock = std::chrono::steady_clock;
  // 10 lines a second: enough to see what an attack is, far too few to flood a journal.
  explicit log_limiter(std::uint32_t burst = 10, clock::duration period = std::chrono::seconds(1))
      : burst_(burst), period_(period) {}

  // Whether to write this event's line; when it is, `suppressed` says how many were held
  // back since the last line written.
  bool allow(clock::time_point now, std::uint64_t& suppressed) {
    if (now - window_start_ >= period_) {
      window_start_ = now;
      lines_ = 0;
    }
    if (lines_ >= burst_) {
      ++held_back_;
      return false;
    }
    ++lines_;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

  // " (N more like it not logged)" after a line that follows suppressed ones, else "".
  static std::string note(std::uint64_t suppressed) {
    return suppressed == 0 ? std::string()
                           : " (" + std::to_string(suppressed) + " more like it not logged)";
  }

 private:
  std::uint32_t burst_;
  clock::duration period_;
  clock::time_point window_start_{};
  std::uint32_t lines_ = 0;
  std::uint64_t held_back_ = 0;
};

}  // namespace ipc::broker
