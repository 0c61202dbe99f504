// local_test_url on Windows: \\.\pipe\ipcd-test-PID-N, unique per process and call.
#include <windows.h>

#include <atomic>

#include "local_url.hpp"

namespace ipc::test {

std::string local_test_url(const temp_dir&) {
  static std::atomic<unsigned> counter{0};
  return "npipe:////./pipe/ipcd-test-" + std::to_string(GetCurrentProcessId()) + "-" +
         std::to_string(++counter);
}

}  // namespace ipc::test
