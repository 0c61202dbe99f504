// What the server tells the service manager: ready, reloading, stopping, a status line,
// and watchdog pings. systemd_notifier (POSIX, the sd_notify protocol) and scm_notifier
// (windows-service/, the service control manager) implement it; run() picks one.
#pragma once

#include <chrono>
#include <string_view>

namespace ipc::broker {

class service_notifier {
 public:
  virtual ~service_notifier() = default;
  virtual void ready(std::string_view status) = 0;   // serving: listeners are open
  virtual void reloading() = 0;                      // a config reload has begun
  virtual void stopping() = 0;                       // a graceful stop has begun
  virtual void status(std::string_view status) = 0;  // a one-line status
  virtual void watchdog() = 0;                       // the event loop is alive
  // How often to call watchdog(); zero when the service manager wants no pings.
  virtual std::chrono::microseconds watchdog_interval() const { return {}; }
};

}  // namespace ipc::broker
