// The URL of the platform's local transport for a test listener: a Unix socket in `dir`
// on POSIX, a pipe with a name of its own on Windows (local_url_posix.cpp /
// local_url_windows.cpp).
#pragma once

#include <string>

#include "temp_dir.hpp"

namespace ipc::test {

std::string local_test_url(const temp_dir& dir);

}  // namespace ipc::test
