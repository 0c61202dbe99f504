// Reading a secret: from the terminal without echo (asking twice), else the first line
// of stdin. Siblings secret_input_posix.cpp / secret_input_windows.cpp.
#pragma once

#include <optional>
#include <string>

namespace ipcctl {

std::optional<std::string> read_secret(const char* prompt);

}  // namespace ipcctl
