// Default broker address on Windows (SPEC §2): %IPCD_URL%, else the pipe \\.\pipe\ipcd.
#include <cstdlib>
#include <string>

#include "ipc/types.hpp"

namespace ipc {

std::string default_url() {
  if (const char* url = std::getenv("IPCD_URL"); url != nullptr && *url != '\0') return url;
  return "npipe:////./pipe/ipcd";
}

}  // namespace ipc
