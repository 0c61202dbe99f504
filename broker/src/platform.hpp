// Process facts and process-wide set-up that differ per OS; siblings
// platform_posix.cpp / platform_windows.cpp are picked by CMake (DESIGN rule 3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/config/config.hpp"

namespace ipc::broker::platform {

std::uint64_t process_id();
std::uint64_t resident_memory_bytes();  // 0 when unknown
// The facts default paths depend on (SPEC §5), read from the OS and environment.
config::environment read_environment();
// Process-wide set-up before serving (e.g. ignore SIGPIPE on POSIX).
void prepare_process();
// The uid of a local account (auth.unix_users names), nullopt when there is none.
std::optional<std::uint32_t> uid_of(const std::string& account);

}  // namespace ipc::broker::platform
