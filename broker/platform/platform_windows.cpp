// Windows process facts: pid, working set (psapi), %ProgramData% for defaults, account
// SIDs for auth.windows_users. No SIGPIPE, no journal, no socket activation here.
#include <windows.h>
// windows.h first.
#include <psapi.h>
#include <sddl.h>

#include <cstdlib>
#include <vector>

#include "platform/platform.hpp"

namespace ipc::broker::platform {

std::uint64_t process_id() { return GetCurrentProcessId(); }

std::uint64_t resident_memory_bytes() {
  PROCESS_MEMORY_COUNTERS counters{};
  if (!GetProcessMemoryInfo(GetCurrentProcess(), &counters, sizeof counters)) return 0;
  return counters.WorkingSetSize;
}

double cpu_seconds() {
  FILETIME created, exited, kernel, user;
  if (!GetProcessTimes(GetCurrentProcess(), &created, &exited, &kernel, &user)) return 0;
  auto seconds = [](const FILETIME& t) {  // 100 ns units
    return ((std::uint64_t{t.dwHighDateTime} << 32) | t.dwLowDateTime) / 1e7;
  };
  return seconds(kernel) + seconds(user);
}

std::uint64_t available_memory_bytes() {
  MEMORYSTATUSEX status{};
  status.dwLength = sizeof status;
  if (!GlobalMemoryStatusEx(&status)) return 0;
  return status.ullTotalPhys;
}

config::environment read_environment() {
  config::environment env;
  env.windows = true;
  if (const char* data = std::getenv("ProgramData")) env.program_data = data;
  return env;
}

void release_free_memory() {}  // the Windows heap decommits free pages by itself

void prepare_process() {}

std::optional<std::uint64_t> raise_open_file_limit(std::uint64_t) { return std::nullopt; }

bool stderr_is_journal() { return false; }

std::vector<inherited_socket> take_inherited_sockets() { return {}; }

void close_handle(std::intptr_t handle) { CloseHandle(reinterpret_cast<HANDLE>(handle)); }

std::optional<std::uint32_t> uid_of(const std::string&) { return std::nullopt; }

std::optional<std::string> sid_of(const std::string& account) {
  int size = MultiByteToWideChar(CP_UTF8, 0, account.c_str(), -1, nullptr, 0);
  std::wstring wide(static_cast<std::size_t>(size), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, account.c_str(), -1, wide.data(), size);
  DWORD sid_size = 0, domain_size = 0;
  SID_NAME_USE use{};
  LookupAccountNameW(nullptr, wide.c_str(), nullptr, &sid_size, nullptr, &domain_size, &use);
  if (sid_size == 0) return std::nullopt;
  std::vector<unsigned char> sid(sid_size);
  std::wstring domain(domain_size, L'\0');
  if (!LookupAccountNameW(nullptr, wide.c_str(), sid.data(), &sid_size, domain.data(), &domain_size,
                          &use))
    return std::nullopt;
  LPSTR text = nullptr;
  if (!ConvertSidToStringSidA(sid.data(), &text)) return std::nullopt;
  std::string out = text;
  LocalFree(text);
  return out;
}

}  // namespace ipc::broker::platform
