// temp_dir on Windows: a new directory under %TEMP% with a random name.
#include <windows.h>

#include <random>
#include <stdexcept>

#include "temp_dir.hpp"

namespace ipc::test {

temp_dir::temp_dir() {
  std::random_device seed;
  auto base = std::filesystem::temp_directory_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = base / ("ipcd-test-" + std::to_string(GetCurrentProcessId()) + "-" +
                             std::to_string(seed()));
    std::error_code ec;
    if (std::filesystem::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace ipc::test
