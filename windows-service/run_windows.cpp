// Windows process shell: under the service control manager ipcd runs as a service (STOP
// and SHUTDOWN stop it gracefully, PARAMCHANGE reloads the config); started any other
// way it is a console program (Ctrl+C, Ctrl+Break, closing the console, log-off and
// shutdown stop it gracefully).
#include <windows.h>

#include <condition_variable>
#include <mutex>

#include <asio/post.hpp>

#include "main/run.hpp"
#include "scm_notifier.hpp"
#include "server/server.hpp"
#include "windows_service.hpp"

namespace ipc::broker {
namespace {

// What the control handlers (on threads of their own) need to reach the server. A stop
// asked for before the server runs (during storage recovery) is kept and carried out as
// soon as it does.
struct running_broker {
  std::mutex mutex;
  std::condition_variable ended;
  asio::io_context* io = nullptr;
  server* broker = nullptr;
  bool stop_requested = false;
  bool finished = false;

  void post(void (server::*action)()) {
    std::lock_guard lock(mutex);
    if (io != nullptr) asio::post(*io, [b = broker, action] { (b->*action)(); });
  }
  void stop() {
    std::lock_guard lock(mutex);
    stop_requested = true;
    if (io != nullptr) asio::post(*io, [b = broker] { b->stop(); });
  }
  // Serving begins: a stop asked for already is carried out now.
  void serving(asio::io_context& context, server& running) {
    std::lock_guard lock(mutex);
    io = &context;
    broker = &running;
    if (stop_requested) asio::post(context, [b = broker] { b->stop(); });
  }
  void done() {
    {
      std::lock_guard lock(mutex);
      io = nullptr;
      broker = nullptr;
      finished = true;
    }
    ended.notify_all();
  }
  // Waits until serving has ended (or failed to begin), at most `limit`.
  void wait_until_stopped(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    ended.wait_for(lock, limit, [this] { return finished; });
  }
};

// Never destroyed: a console handler thread may still be waking in it while main returns.
running_broker& current = *new running_broker;

// What service_main serves (ipcd's main has parsed and loaded it before the dispatcher).
struct service_arguments {
  const config::broker_config* config = nullptr;
  std::shared_ptr<spdlog::logger> logger;
  std::function<config::load_result()> source;
  int exit_code = 0;
};
service_arguments service_args;

// One serving run on this thread until the graceful stop has finished.
int serve(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger,
          std::function<config::load_result()> source) {
  asio::io_context io(1);
  scm_notifier notifier;
  server broker(io, config, logger);
  broker.set_notifier(&notifier);
  if (source) broker.set_config_source(std::move(source));
  if (!broker.open()) {
    current.done();
    return 1;
  }
  current.serving(io, broker);
  broker.start();
  logger->info("ipcd {} ready", IPCD_VERSION);
  notifier.ready("serving");
  io.run();
  current.done();
  return 0;
}

BOOL WINAPI on_console_event(DWORD event) {
  switch (event) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT: current.stop(); return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      // Windows ends the process once this returns (about 5 s after a console closes):
      // finish the graceful stop first.
      current.stop();
      current.wait_until_stopped(std::chrono::milliseconds(4500));
      return TRUE;
    default: return FALSE;
  }
}

DWORD WINAPI on_service_control(DWORD control, DWORD, LPVOID, LPVOID) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      windows_service::report_stopping();
      current.stop();
      return NO_ERROR;
    case SERVICE_CONTROL_PARAMCHANGE: current.post(&server::reload_and_forget); return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE: return NO_ERROR;
    default: return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI service_main(DWORD, LPWSTR*) {
  SERVICE_STATUS_HANDLE handle =
      RegisterServiceCtrlHandlerExW(L"ipcd", on_service_control, nullptr);
  if (handle == nullptr) {  // no handle to report through: the SCM times the start out
    service_args.logger->error("cannot register with the service control manager (error {})",
                               GetLastError());
    service_args.exit_code = 1;
    return;
  }
  windows_service::set_status_handle(handle);
  windows_service::report_starting();
  service_args.exit_code = serve(*service_args.config, service_args.logger, service_args.source);
  service_args.logger->flush();
  windows_service::report_stopped(static_cast<std::uint32_t>(service_args.exit_code));
}

}  // namespace

int run(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger,
        std::function<config::load_result()> source) {
  service_args = {&config, logger, source, 0};
  // The name is ignored for a service of its own process (SERVICE_WIN32_OWN_PROCESS).
  wchar_t name[] = L"ipcd";
  SERVICE_TABLE_ENTRYW table[] = {{name, service_main}, {nullptr, nullptr}};
  if (StartServiceCtrlDispatcherW(table)) return service_args.exit_code;
  if (GetLastError() != ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
    logger->error("cannot connect to the service control manager (error {})", GetLastError());
    return 1;
  }
  SetConsoleCtrlHandler(on_console_event, TRUE);  // not a service: a console program
  return serve(config, logger, source);
}

}  // namespace ipc::broker
