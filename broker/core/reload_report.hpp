// What a config reload did (docs/operations.md §3): what was applied, what needs a
// restart, and, when `errors` is not empty, why nothing at all was applied.
#pragma once

#include <string>
#include <vector>

#include "ipc/config/config.hpp"

namespace ipc::broker {

struct reload_report {
  std::vector<std::string> changes;   // applied, one line each ("auth", "queue jobs created")
  std::vector<std::string> restart;   // changed keys that take effect at the next start
  std::vector<config::error> errors;  // why nothing was applied
};

}  // namespace ipc::broker
