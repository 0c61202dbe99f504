// temp_dir: mkdtemp under /tmp (short paths: Unix socket paths are limited to 107 bytes).
#include "temp_dir.hpp"

#include <stdlib.h>

#include <stdexcept>

namespace ipc::test {

temp_dir::temp_dir() {
  std::string pattern = "/tmp/ipcd-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace ipc::test
