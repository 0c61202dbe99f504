// POSIX process facts: pid, resident memory from /proc, environment for defaults.
#include <pwd.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "platform.hpp"

namespace ipc::broker::platform {

std::uint64_t process_id() { return static_cast<std::uint64_t>(::getpid()); }

std::uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

config::environment read_environment() {
  auto text = [](const char* name) {
    const char* value = std::getenv(name);
    return value ? std::string(value) : std::string();
  };
  config::environment env;
  env.uid = static_cast<std::uint32_t>(::geteuid());
  env.is_root = env.uid == 0;
  env.xdg_runtime_dir = text("XDG_RUNTIME_DIR");
  env.xdg_state_home = text("XDG_STATE_HOME");
  env.home = text("HOME");
  return env;
}

void prepare_process() { std::signal(SIGPIPE, SIG_IGN); }

std::optional<std::uint32_t> uid_of(const std::string& account) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(account.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr)
    return std::nullopt;
  return static_cast<std::uint32_t>(found->pw_uid);
}

}  // namespace ipc::broker::platform
