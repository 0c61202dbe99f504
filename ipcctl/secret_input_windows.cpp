// Console echo on Windows: input without ENABLE_ECHO_INPUT while a secret is read.
#include <windows.h>

#include "secret_input.hpp"

namespace ipcctl::detail {

bool stdin_is_terminal() {
  DWORD mode = 0;  // a pipe or a file has no console mode
  return GetConsoleMode(GetStdHandle(STD_INPUT_HANDLE), &mode) != 0;
}

std::optional<std::string> read_line_without_echo() {
  HANDLE console = GetStdHandle(STD_INPUT_HANDLE);
  DWORD saved = 0;
  GetConsoleMode(console, &saved);
  SetConsoleMode(console, saved & ~static_cast<DWORD>(ENABLE_ECHO_INPUT));
  auto text = read_line();
  SetConsoleMode(console, saved);
  return text;
}

}  // namespace ipcctl::detail
