// Default broker address on POSIX (SPEC §2): $IPCD_URL; else the per-user socket when it
// exists, falling back to the system socket; as root the system socket.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ipc/types.hpp"

namespace ipc {

std::string default_url() {
  if (const char* url = std::getenv("IPCD_URL"); url != nullptr && *url != '\0') return url;
  const std::string system_socket = "/run/ipcd/ipcd.sock";
  if (::geteuid() == 0) return "unix://" + system_socket;
  std::string own;
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime != nullptr && *runtime == '/')
    own = std::string(runtime) + "/ipcd/ipcd.sock";
  else
    own = "/tmp/ipcd-" + std::to_string(::geteuid()) + "/ipcd.sock";
  struct stat info {};
  if (::stat(own.c_str(), &info) != 0 && ::stat(system_socket.c_str(), &info) == 0)
    return "unix://" + system_socket;
  return "unix://" + own;
}

}  // namespace ipc
