// read_secret: asked twice without echo on a terminal, else read as one line of stdin.
#include <iostream>

#include "secret_input.hpp"

namespace ipcctl {

namespace detail {
std::optional<std::string> read_line() {
  std::string text;
  if (!std::getline(std::cin, text)) return std::nullopt;
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}
}  // namespace detail

namespace {
std::optional<std::string> quiet_line(const char* prompt) {
  std::cerr << prompt << std::flush;
  auto text = detail::read_line_without_echo();
  std::cerr << "\n";  // the Enter the terminal did not echo
  return text;
}
}  // namespace

std::optional<std::string> read_secret(const char* prompt) {
  if (!detail::stdin_is_terminal()) return detail::read_line();
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
