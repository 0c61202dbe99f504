// The service manager's readiness protocol (sd_notify(3): datagrams of "KEY=VALUE" lines
// to $NOTIFY_SOCKET) spoken directly, without libsystemd; service_notifier_posix.cpp and its
// Windows sibling (where the service control manager is told instead) are picked by CMake.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace ipc::broker {

class service_notifier {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; inactive (every call does
  // nothing) when the process was not started by a service manager that listens.
  service_notifier();
  ~service_notifier();
  service_notifier(const service_notifier&) = delete;
  service_notifier& operator=(const service_notifier&) = delete;

  bool active() const { return fd_ >= 0; }
  void ready(std::string_view status);   // READY=1, STATUS=…
  void reloading();                      // RELOADING=1, MONOTONIC_USEC=…
  void stopping();                       // STOPPING=1
  void status(std::string_view status);  // STATUS=… (one line)
  void watchdog();                       // WATCHDOG=1
  // How often to send WATCHDOG=1 (half of WATCHDOG_USEC); zero when no watchdog is set.
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

 private:
  void send(const std::string& message);

  int fd_ = -1;
  std::string address_;  // the socket path; a leading '@' names an abstract socket
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace ipc::broker
