// Reading a secret: from the terminal without echo (asking twice), else the first line
// of stdin. secret_input.cpp holds the logic; the siblings secret_input_posix.cpp /
// secret_input_windows.cpp turn the terminal's echo off and on.
#pragma once

#include <optional>
#include <string>

namespace ipcctl {

std::optional<std::string> read_secret(const char* prompt);

namespace detail {
// The first line of stdin without its line ending; nullopt at end of input.
std::optional<std::string> read_line();
// Per platform: whether stdin is a terminal, and read_line() with its echo off.
bool stdin_is_terminal();
std::optional<std::string> read_line_without_echo();
}  // namespace detail

}  // namespace ipcctl
