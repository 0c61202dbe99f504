// `ipcd service install|uninstall|start|stop` on Windows: registers ipcd with the service
// control manager (quoted binary path, description, automatic start, restart on failure)
// and removes it again.
#include <windows.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>

#include "main/run.hpp"

namespace ipc::broker {
namespace {

struct service_command {
  std::string verb;  // install | uninstall | start | stop; "" when none was given
  std::string name = "ipcd";
  std::string account;  // "" = LocalSystem
};
service_command command;

std::wstring widen(const std::string& text) {
  int size = MultiByteToWideChar(CP_UTF8, 0, text.c_str(), -1, nullptr, 0);
  std::wstring out(static_cast<std::size_t>(size > 0 ? size - 1 : 0), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.c_str(), -1, out.data(), size);
  return out;
}

int fail(const std::string& what) {
  DWORD error = GetLastError();
  std::cerr << "ipcd: " << what << ": " << std::system_category().message(static_cast<int>(error))
            << " (error " << error << ")\n";
  return 1;
}

// Handles closed when they go out of scope.
struct service_handle {
  SC_HANDLE handle;
  explicit service_handle(SC_HANDLE h) : handle(h) {}
  ~service_handle() {
    if (handle != nullptr) CloseServiceHandle(handle);
  }
  explicit operator bool() const { return handle != nullptr; }
};

int install(const std::string& config_file) {
  wchar_t self[32768];  // the longest path Windows has
  DWORD length = GetModuleFileNameW(nullptr, self, 32768);
  if (length == 0 || length >= 32768) return fail("cannot tell where ipcd.exe is");
  // Quoted: a path with spaces must not be read as a shorter program plus arguments.
  std::wstring command_line = L"\"" + std::wstring(self) + L"\"";
  if (!config_file.empty())
    command_line += L" -c \"" + std::filesystem::absolute(config_file).wstring() + L"\"";
  service_handle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
  if (!manager) return fail("cannot open the service control manager");
  std::wstring name = widen(command.name), account = widen(command.account);
  service_handle service(CreateServiceW(
      manager.handle, name.c_str(), L"ipcd message broker", SERVICE_ALL_ACCESS,
      SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, command_line.c_str(),
      nullptr, nullptr, nullptr, account.empty() ? nullptr : account.c_str(), nullptr));
  if (!service) return fail("cannot create the service '" + command.name + "'");
  wchar_t text[] = L"Message broker for interprocess communication (named pipes, TCP).";
  SERVICE_DESCRIPTIONW description{text};
  ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_DESCRIPTION, &description);
  // Restart after 5 s, twice more after 30 s; the count resets after a day without failure.
  SC_ACTION actions[] = {
      {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 30000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 24 * 60 * 60;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
  // Also when ipcd stops with an error exit code, not only when it crashes.
  SERVICE_FAILURE_ACTIONS_FLAG on_error{TRUE};
  ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &on_error);
  std::wcout << L"service " << name << L" installed: " << command_line << L"\n";
  return 0;
}

// Waits up to 30 s for the service to reach `state`; false at once when it stops while
// waiting for another state (a failed start).
bool wait_for(SC_HANDLE service, DWORD state) {
  for (int i = 0; i < 300; ++i) {
    SERVICE_STATUS status{};
    if (!QueryServiceStatus(service, &status)) return false;
    if (status.dwCurrentState == state) return true;
    if (status.dwCurrentState == SERVICE_STOPPED && i > 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the SCM has no wait call
  }
  return false;
}

int control(bool start) {
  service_handle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) return fail("cannot open the service control manager");
  std::wstring name = widen(command.name);
  service_handle service(OpenServiceW(manager.handle, name.c_str(),
                                      SERVICE_START | SERVICE_STOP | SERVICE_QUERY_STATUS));
  if (!service) return fail("cannot open the service '" + command.name + "'");
  if (start) {
    if (!StartServiceW(service.handle, 0, nullptr)) return fail("cannot start the service");
    if (!wait_for(service.handle, SERVICE_RUNNING)) {
      SERVICE_STATUS status{};
      QueryServiceStatus(service.handle, &status);
      std::cerr << "ipcd: the service did not reach RUNNING (state " << status.dwCurrentState
                << ", exit code " << status.dwServiceSpecificExitCode << "); see its log file\n";
      return 1;
    }
    std::cout << "service " << command.name << " running\n";
    return 0;
  }
  SERVICE_STATUS status{};
  if (!ControlService(service.handle, SERVICE_CONTROL_STOP, &status) &&
      GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
    return fail("cannot stop the service");
  if (!wait_for(service.handle, SERVICE_STOPPED)) {
    std::cerr << "ipcd: the service did not stop within 30 s\n";
    return 1;
  }
  std::cout << "service " << command.name << " stopped\n";
  return 0;
}

int uninstall() {
  service_handle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) return fail("cannot open the service control manager");
  std::wstring name = widen(command.name);
  service_handle service(
      OpenServiceW(manager.handle, name.c_str(), DELETE | SERVICE_STOP | SERVICE_QUERY_STATUS));
  if (!service) return fail("cannot open the service '" + command.name + "'");
  SERVICE_STATUS status{};
  if (ControlService(service.handle, SERVICE_CONTROL_STOP, &status))
    wait_for(service.handle, SERVICE_STOPPED);
  if (!DeleteService(service.handle)) return fail("cannot delete the service");
  std::cout << "service " << command.name << " uninstalled\n";
  return 0;
}

}  // namespace

void add_platform_commands(CLI::App& app) {
  auto* service =
      app.add_subcommand("service", "manage the Windows service")->require_subcommand(1);
  service->add_option("--name", command.name, "service name (default: ipcd)");
  auto* install_command =
      service->add_subcommand("install", "register ipcd (with -c FILE) as an automatic service");
  install_command->add_option("--account", command.account,
                              "run as this account, e.g. \"NT AUTHORITY\\LocalService\" "
                              "(default: LocalSystem)");
  install_command->callback([] { command.verb = "install"; });
  service->add_subcommand("uninstall", "stop and remove the service")->callback([] {
    command.verb = "uninstall";
  });
  service->add_subcommand("start", "start the service, wait until it runs")->callback([] {
    command.verb = "start";
  });
  service->add_subcommand("stop", "stop the service, wait until it has stopped")->callback([] {
    command.verb = "stop";
  });
}

std::optional<int> run_platform_command(const std::string& config_file) {
  if (command.verb == "install") return install(config_file);
  if (command.verb == "uninstall") return uninstall();
  if (command.verb == "start") return control(true);
  if (command.verb == "stop") return control(false);
  return std::nullopt;
}

}  // namespace ipc::broker
