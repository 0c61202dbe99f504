// The service control manager's side of ipcd on Windows: the status handle run_windows.cpp
// registers, and the reports made through it (START_PENDING, RUNNING, STOP_PENDING,
// STOPPED). Without a registered handle (a console program) every report does nothing.
#pragma once

#include <cstdint>

namespace ipc::broker::windows_service {

// Set by the service's main function (a SERVICE_STATUS_HANDLE).
void set_status_handle(void* handle);
bool running_as_service();
void report_starting();                   // SERVICE_START_PENDING
void report_running();                    // SERVICE_RUNNING: listeners are open
void report_stopping();                   // SERVICE_STOP_PENDING: a graceful stop has begun
void report_stopped(std::uint32_t code);  // SERVICE_STOPPED with ipcd's exit code

}  // namespace ipc::broker::windows_service
