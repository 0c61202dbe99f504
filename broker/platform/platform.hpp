// Process facts and process-wide set-up that differ per OS; siblings
// platform_posix.cpp / platform_windows.cpp are picked by CMake (DESIGN rule 3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/config/config.hpp"
#include "ipc/transport/url.hpp"

namespace ipc::broker::platform {

std::uint64_t process_id();
std::uint64_t resident_memory_bytes();  // 0 when unknown
double cpu_seconds();                   // user and system CPU time used so far
// The memory this process may use: physical memory, or less when a control group (a
// container's memory limit) sets a lower bound. 0 when unknown.
std::uint64_t available_memory_bytes();
// The facts default paths depend on (SPEC §5), read from the OS and environment.
config::environment read_environment();
// Process-wide set-up before serving (e.g. ignore SIGPIPE on POSIX).
void prepare_process();
// Raises how many descriptors the process may have open (RLIMIT_NOFILE's soft limit)
// towards `wanted`, as far as the hard limit allows, and returns the limit then in force
// (never lowered); nullopt where no such limit applies (Windows handles).
std::optional<std::uint64_t> raise_open_file_limit(std::uint64_t wanted);
// Gives memory the allocator holds free back to the system (glibc's malloc_trim; nothing
// where the allocator does that by itself). Called after many connections have ended.
void release_free_memory();
// Whether stderr is the systemd journal's stream (JOURNAL_STREAM names its device and
// inode), so log lines carry "<N>" priorities and no timestamps.
bool stderr_is_journal();

// A listening socket handed over by the service manager (socket activation).
struct inherited_socket {
  std::intptr_t handle = -1;
  std::string name;        // its LISTEN_FDNAMES entry ("" when none)
  transport::url address;  // what it is bound to: a unix path, or tcp host and port
};
// Takes the sockets passed with LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES (sd_listen_fds(3))
// and unsets those variables; empty when none were passed to this process.
std::vector<inherited_socket> take_inherited_sockets();
void close_handle(std::intptr_t handle);

// The uid of a local account (auth.unix_users names), nullopt when there is none.
std::optional<std::uint32_t> uid_of(const std::string& account);
// The SID of a Windows account (auth.windows_users names), nullopt when there is none
// (always on POSIX).
std::optional<std::string> sid_of(const std::string& account);

}  // namespace ipc::broker::platform
