// ipcctl uplink list (docs/uplinks.md §7): each NATS uplink's state, server, traffic and
// spool, from the admin report `uplink.list`; --json prints the broker's JSON.
#include <iostream>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace ipcctl {
namespace {

using json = nlohmann::json;

std::string text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

int run_uplink_list(const global_options& global) {
  json answer;
  if (int code = admin_call(global, "uplink.list", json::object(), answer)) return code;
  if (global.json) {
    std::cout << answer.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : answer) {
    const auto& spool = u["spool"];
    rows.push_back({text(u["name"]), text(u["state"]),
                    u["server"].get<std::string>().empty() ? "-" : text(u["server"]),
                    text(u["messages_out"]), text(u["messages_in"]),
                    human_bytes(u["bytes_out"].get<std::uint64_t>()),
                    human_bytes(u["bytes_in"].get<std::uint64_t>()),
                    spool.is_null() ? "-" : text(spool["messages"]), text(u["reconnects"]),
                    text(u["dropped_down"])});
  }
  std::cout << render_table({"NAME", "STATE", "SERVER", "MSGS_OUT", "MSGS_IN", "BYTES_OUT",
                             "BYTES_IN", "SPOOLED", "RECONNECTS", "DROPPED"},
                            rows);
  for (const auto& u : answer)
    if (!u["last_error"].get<std::string>().empty() && u["state"] != "connected")
      std::cout << text(u["name"]) << ": " << text(u["last_error"]) << "\n";
  return exit_ok;
}

}  // namespace

void register_uplinks(CLI::App& app, global_options& global, int& exit_status) {
  auto* uplink = app.add_subcommand("uplink", "NATS uplinks")->require_subcommand(1);
  uplink->add_subcommand("list", "each uplink's state, server, traffic and spool")->callback([&] {
    exit_status = run_uplink_list(global);
  });
}

}  // namespace ipcctl
