// Driving a real ipcd with ipcctl in black-box tests: the command line for one of its
// verbs, waiting until a client's subscription is in place, and reading what a command
// printed. Shared by the tests that bring outside programs to the broker (MQTT clients,
// NATS clusters).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "wait.hpp"

namespace ipc::test {

// `ipcctl --url BROKER ARGS…` for the broker's Unix socket.
inline std::vector<std::string> ipcctl(const ipcd_process& broker, std::vector<std::string> args) {
  args.insert(args.begin(), {ipcctl_binary(), "--url", broker.unix_url()});
  return args;
}

// Waits until a connection of `client` (its client name: an MQTT client identifier, or
// "ipcctl") holds at least one subscription.
inline bool subscribed(const ipcd_process& broker, const std::string& client = "ipcctl") {
  return wait_until([&] {
    auto listed = run_command(ipcctl(broker, {"--json", "conn", "list"}));
    if (listed.exit_code != 0) return false;
    for (const auto& c : nlohmann::json::parse(listed.out))
      if (c["client"] == client && c["subscriptions"].get<int>() > 0) return true;
    return false;
  });
}

// Output lines of a finished command or child, without the empty last one.
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// Whether `child` exits with status 0 within `limit`.
inline bool finished(child_process& child, std::chrono::seconds limit = std::chrono::seconds(20)) {
  auto code = child.wait(limit);
  return code && *code == 0;
}

}  // namespace ipc::test
