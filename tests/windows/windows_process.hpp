// ipcd.exe and ipcctl.exe as child processes of a Windows test (Wine sees the Linux build
// tree on its Z: drive).
#pragma once

#include <windows.h>

#include <string>

namespace ipc::test {

// A Linux path CMake knows, as Windows sees it.
inline std::wstring windows_path(std::string path) {
  if (path.starts_with("/")) path = "Z:" + path;
  std::wstring out(path.begin(), path.end());
  for (auto& c : out)
    if (c == L'/') c = L'\\';
  return out;
}

// A Windows path inside a JSON string: backslashes escaped.
inline std::string json_path(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '\\' ? std::string("\\\\") : std::string(1, c);
  return out;
}

inline std::wstring ipcd_exe() { return windows_path(IPCD_TEST_IPCD_BINARY); }
inline std::wstring ipcctl_exe() { return windows_path(IPCD_TEST_IPCCTL_BINARY); }

// A running child process, terminated (if still running) when destroyed.
class windows_child {
 public:
  windows_child(const std::wstring& exe, const std::wstring& args) {
    std::wstring command_line = L"\"" + exe + L"\" " + args;
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    if (CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, FALSE, 0, nullptr, nullptr,
                       &startup, &process_))
      CloseHandle(process_.hThread);
    else
      process_.hProcess = nullptr;
  }
  windows_child(const windows_child&) = delete;
  windows_child& operator=(const windows_child&) = delete;
  ~windows_child() {
    if (process_.hProcess == nullptr) return;
    if (running()) kill();
    CloseHandle(process_.hProcess);
  }
  bool started() const { return process_.hProcess != nullptr; }
  bool running() const {
    return started() && WaitForSingleObject(process_.hProcess, 0) == WAIT_TIMEOUT;
  }
  // As kill -9: no chance to clean up.
  void kill() {
    TerminateProcess(process_.hProcess, 9);
    WaitForSingleObject(process_.hProcess, 30000);
  }
  // Its exit code, or -1 when it did not end within `ms`.
  int wait(DWORD ms = 60000) {
    DWORD code = static_cast<DWORD>(-1);
    if (WaitForSingleObject(process_.hProcess, ms) == WAIT_OBJECT_0)
      GetExitCodeProcess(process_.hProcess, &code);
    return static_cast<int>(code);
  }

 private:
  PROCESS_INFORMATION process_{};
};

}  // namespace ipc::test
