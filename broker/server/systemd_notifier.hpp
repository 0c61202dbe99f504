// The service manager's readiness protocol on Linux (sd_notify(3): datagrams of
// "KEY=VALUE" lines to $NOTIFY_SOCKET) spoken directly, without libsystemd.
#pragma once

#include <string>

#include "server/service_notifier.hpp"

namespace ipc::broker {

class systemd_notifier final : public service_notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; inactive (every call does
  // nothing) when the process was not started by a service manager that listens.
  systemd_notifier();
  ~systemd_notifier() override;
  systemd_notifier(const systemd_notifier&) = delete;
  systemd_notifier& operator=(const systemd_notifier&) = delete;

  bool active() const { return fd_ >= 0; }
  void ready(std::string_view status) override;   // READY=1, STATUS=…
  void reloading() override;                      // RELOADING=1, MONOTONIC_USEC=…
  void stopping() override;                       // STOPPING=1
  void status(std::string_view status) override;  // STATUS=… (one line)
  void watchdog() override;                       // WATCHDOG=1
  // Half of WATCHDOG_USEC; zero when no watchdog is set.
  std::chrono::microseconds watchdog_interval() const override { return watchdog_interval_; }

 private:
  void send(const std::string& message);

  int fd_ = -1;
  std::string address_;  // the socket path; a leading '@' names an abstract socket
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace ipc::broker
