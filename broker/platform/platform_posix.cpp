// POSIX process facts: pid, resident memory from /proc, environment for defaults.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <charconv>
#include <sstream>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "platform/platform.hpp"

namespace ipc::broker::platform {

std::uint64_t process_id() { return static_cast<std::uint64_t>(::getpid()); }

std::uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

double cpu_seconds() {
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::uint64_t available_memory_bytes() {
  auto pages = ::sysconf(_SC_PHYS_PAGES);
  auto page = ::sysconf(_SC_PAGESIZE);
  std::uint64_t physical =
      pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                            : 0;
  // A container's limit: cgroup v2 memory.max ("max" when none), v1 memory.limit_in_bytes
  // (a huge number when none).
  for (const char* file :
       {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    std::ifstream in(file);
    std::uint64_t limit = 0;
    if (in >> limit && limit != 0 && (physical == 0 || limit < physical)) physical = limit;
  }
  return physical;
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

void release_free_memory() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

void prepare_process() {
  std::signal(SIGPIPE, SIG_IGN);
  // Until the broker listens for it (after storage recovery), a SIGHUP must not end the
  // process: one that comes that early is dropped (ask again once READY=1 is sent).
  std::signal(SIGHUP, SIG_IGN);
}

std::optional<std::uint64_t> raise_open_file_limit(std::uint64_t wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::nullopt;
  if (limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY
                          ? static_cast<rlim_t>(wanted)
                          : std::min(static_cast<rlim_t>(wanted), limit.rlim_max);
    // Refused under a seccomp filter without @resources (the systemd unit's): the
    // service manager's LimitNOFILE stands.
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // "DEVICE:INODE"
  struct stat info {};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &info) != 0) return false;
  return std::string(stream) == std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
}

namespace {

std::uint64_t number_of(const char* name) {
  const char* text = std::getenv(name);
  std::uint64_t value = 0;
  if (text == nullptr) return 0;
  auto end = text + std::char_traits<char>::length(text);
  auto [stop, ec] = std::from_chars(text, end, value);
  return ec == std::errc() && stop == end ? value : 0;
}

// What a listening stream socket is bound to; nullopt for anything else.
std::optional<transport::url> bound_address(int fd) {
  int type = 0, listening = 0;
  socklen_t size = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0 || type != SOCK_STREAM)
    return std::nullopt;
  size = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening)
    return std::nullopt;
  sockaddr_storage storage{};
  size = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &size) != 0) return std::nullopt;
  transport::url address;
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_UNIX) {
    const auto* unix_address = reinterpret_cast<const sockaddr_un*>(&storage);
    address.kind = transport::scheme::unix_socket;
    address.path = unix_address->sun_path;  // abstract sockets come out "" and match nothing
  } else if (storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&storage);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    address.host = text;
    address.port = ntohs(v4->sin_port);
  } else if (storage.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    address.host = text;
    address.port = ntohs(v6->sin6_port);
  } else {
    return std::nullopt;
  }
  return address;
}

}  // namespace

std::vector<inherited_socket> take_inherited_sockets() {
  constexpr int first_fd = 3;  // SD_LISTEN_FDS_START
  std::vector<inherited_socket> sockets;
  const bool for_us = number_of("LISTEN_PID") == static_cast<std::uint64_t>(::getpid());
  const std::uint64_t count = for_us ? number_of("LISTEN_FDS") : 0;
  std::vector<std::string> names;
  if (const char* text = std::getenv("LISTEN_FDNAMES"); text != nullptr && for_us) {
    std::stringstream list(text);
    for (std::string name; std::getline(list, name, ':');) names.push_back(name);
  }
  // At most a few thousand: more would be a broken environment, not a socket unit.
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(count, 4096); ++i) {
    int fd = first_fd + static_cast<int>(i);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    inherited_socket found;
    found.handle = fd;
    found.name = i < names.size() ? names[i] : std::string();
    if (auto address = bound_address(fd))
      found.address = *address;
    else
      found.address.host = "";  // not a listening stream socket: matches nothing
    sockets.push_back(std::move(found));
  }
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return sockets;
}

void close_handle(std::intptr_t handle) { ::close(static_cast<int>(handle)); }

std::optional<std::uint32_t> uid_of(const std::string& account) {
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwnam_r(account.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr)
    return std::nullopt;
  return static_cast<std::uint32_t>(found->pw_uid);
}

std::optional<std::string> sid_of(const std::string&) { return std::nullopt; }

}  // namespace ipc::broker::platform
