// service_notifier on Windows: under the service control manager, readiness and stopping
// become SERVICE_RUNNING and SERVICE_STOP_PENDING (run_windows.cpp registers the service);
// as a console program it does nothing. There is no watchdog.
#include "service_notifier.hpp"
#include "windows_service.hpp"

namespace ipc::broker {

service_notifier::service_notifier() { fd_ = windows_service::running_as_service() ? 0 : -1; }

service_notifier::~service_notifier() = default;

void service_notifier::send(const std::string&) {}

void service_notifier::ready(std::string_view) {
  if (active()) windows_service::report_running();
}

void service_notifier::reloading() {}

void service_notifier::stopping() {
  if (active()) windows_service::report_stopping();
}

void service_notifier::status(std::string_view) {}

void service_notifier::watchdog() {}

}  // namespace ipc::broker
