// Assertion helpers for config errors: all of them as "PATH: message" lines (so a failing
// check shows every error), and whether one has a path and a message part.
#pragma once

#include <string>
#include <vector>

#include "ipc/config/config.hpp"

namespace ipc::test {

inline std::string dump(const std::vector<config::error>& errors) {
  std::string text;
  for (const auto& found : errors) text += found.path + ": " + found.message + "\n";
  return text;
}

// True when some error has exactly `path` and a message containing `part`.
inline bool has_error(const std::vector<config::error>& errors, const std::string& path,
                      const std::string& part) {
  for (const auto& found : errors)
    if (found.path == path && found.message.find(part) != std::string::npos) return true;
  return false;
}

}  // namespace ipc::test
