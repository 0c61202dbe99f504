// windows_service: SetServiceStatus reports for the status handle of the running service.
#include <windows.h>

#include <atomic>

#include "windows_service.hpp"

namespace ipc::broker::windows_service {
namespace {

std::atomic<SERVICE_STATUS_HANDLE> status_handle{nullptr};
std::atomic<DWORD> checkpoint{0};
std::atomic<bool> stopping{false};  // once STOP_PENDING, never RUNNING again

void report(DWORD state, DWORD exit_code, DWORD wait_hint_ms) {
  SERVICE_STATUS_HANDLE handle = status_handle.load();
  if (handle == nullptr) return;
  SERVICE_STATUS status{};
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted =
      state == SERVICE_RUNNING
          ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
          : 0;
  // A non-zero exit code reaches the SCM (and its recovery actions) as a service-specific
  // error: 1 a failed start, 2 an invalid config.
  status.dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  status.dwServiceSpecificExitCode = exit_code;
  status.dwCheckPoint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : ++checkpoint;
  status.dwWaitHint = wait_hint_ms;
  SetServiceStatus(handle, &status);
}

}  // namespace

void set_status_handle(void* handle) { status_handle = static_cast<SERVICE_STATUS_HANDLE>(handle); }
bool running_as_service() { return status_handle.load() != nullptr; }
// Wait hints: recovering a large storage directory or draining connections takes time.
void report_starting() { report(SERVICE_START_PENDING, 0, 30000); }
void report_running() {
  if (!stopping) report(SERVICE_RUNNING, 0, 0);  // e.g. a reload ending after a STOP
}
void report_stopping() {
  stopping = true;
  report(SERVICE_STOP_PENDING, 0, 30000);
}
void report_stopped(std::uint32_t code) { report(SERVICE_STOPPED, code, 0); }

}  // namespace ipc::broker::windows_service
