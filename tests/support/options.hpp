// Client options for tests: a fixed broker URL and no automatic reconnect.
#pragma once

#include <string>

#include "ipc/types.hpp"

namespace ipc::test {

inline client_options at(const std::string& url) {
  client_options options;
  options.url = url;
  options.auto_reconnect = false;
  return options;
}

}  // namespace ipc::test
