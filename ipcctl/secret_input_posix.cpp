// Terminal echo on POSIX: termios without ECHO while a secret is read.
#include <termios.h>
#include <unistd.h>

#include "secret_input.hpp"

namespace ipcctl::detail {

bool stdin_is_terminal() { return ::isatty(STDIN_FILENO) != 0; }

std::optional<std::string> read_line_without_echo() {
  termios saved{};
  ::tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  auto text = read_line();
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return text;
}

}  // namespace ipcctl::detail
