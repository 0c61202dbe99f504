// read_secret on Windows: console input without ENABLE_ECHO_INPUT when stdin is a console.
#include <windows.h>

#include <iostream>

#include "secret_input.hpp"

namespace ipcctl {
namespace {

std::optional<std::string> line() {
  std::string text;
  if (!std::getline(std::cin, text)) return std::nullopt;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

std::optional<std::string> quiet_line(HANDLE console, DWORD saved, const char* prompt) {
  std::cerr << prompt << std::flush;
  SetConsoleMode(console, saved & ~static_cast<DWORD>(ENABLE_ECHO_INPUT));
  auto text = line();
  SetConsoleMode(console, saved);
  std::cerr << "\n";
  return text;
}

}  // namespace

std::optional<std::string> read_secret(const char* prompt) {
  HANDLE console = GetStdHandle(STD_INPUT_HANDLE);
  DWORD mode = 0;
  if (!GetConsoleMode(console, &mode)) return line();  // not a console: a pipe or a file
  auto first = quiet_line(console, mode, prompt);
  if (!first) return std::nullopt;
  auto again = quiet_line(console, mode, "Again: ");
  if (!again || *again != *first) {
    std::cerr << "ipcctl: the two entries differ\n";
    return std::nullopt;
  }
  return first;
}

}  // namespace ipcctl
