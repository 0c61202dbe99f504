// Client-chosen text (user names, topics, command names) in log lines: control
// characters replaced, so a name cannot forge a line; long text cut at 256 bytes.
#pragma once

#include <string>
#include <string_view>

namespace ipc::broker {

inline std::string loggable(std::string_view text) {
  std::string out(text.substr(0, 256));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() > 256) out += "...";
  return out;
}

}  // namespace ipc::broker
