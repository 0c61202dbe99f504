// The server's service notifications on Windows: under the service control manager,
// readiness and stopping become SERVICE_RUNNING and SERVICE_STOP_PENDING (run_windows.cpp
// registers the service); as a console program every call does nothing. No watchdog.
#pragma once

#include "server/service_notifier.hpp"

namespace ipc::broker {

class scm_notifier final : public service_notifier {
 public:
  void ready(std::string_view status) override;
  void reloading() override {}
  void stopping() override;
  void status(std::string_view) override {}
  void watchdog() override {}
};

}  // namespace ipc::broker
