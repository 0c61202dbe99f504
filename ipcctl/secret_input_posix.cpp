// read_secret on POSIX: termios without ECHO when stdin is a terminal.
#include <termios.h>
#include <unistd.h>

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

std::optional<std::string> quiet_line(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  ::tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  auto text = line();
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  std::cerr << "\n";
  return text;
}

}  // namespace

std::optional<std::string> read_secret(const char* prompt) {
  if (!::isatty(STDIN_FILENO)) return line();
  auto first = quiet_line(prompt);
  if (!first) return std::nullopt;
  auto again = quiet_line("Again: ");
  if (!again || *again != *first) {
    std::cerr << "ipcctl: the two entries differ\n";
    return std::nullopt;
  }
  return first;
}

}  // namespace ipcctl
