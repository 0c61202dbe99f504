// ipcctl reload and ipcctl config check FILE (SPEC §6): ask the running broker to re-read
// its config, or validate a config file here, listing every error with its JSON path.
#include <iostream>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "ipc/client.hpp"
#include "ipc/config/config.hpp"

namespace ipcctl {
namespace {

using json = nlohmann::json;

void print_error(const std::string& path, const std::string& message) {
  std::cerr << "  " << (path.empty() ? "(file)" : path) << ": " << message << "\n";
}

int run_reload(const global_options& global) {
  auto options = global.client_options();
  options.auto_reconnect = false;
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  std::error_code ec;
  std::string body = client.admin("reload", "{}", ec);
  json answer = json::parse(body, nullptr, false);
  if (global.json && !answer.is_discarded()) std::cout << answer.dump() << "\n";
  if (ec) {
    bool listed = answer.is_object() && answer.contains("errors") && answer["errors"].is_array();
    std::string detail =
        answer.is_object() && answer.contains("error") ? answer["error"].get<std::string>() : "";
    int code = fail("reload", ec, detail);
    if (listed)
      for (const auto& e : answer["errors"])
        print_error(e.value("path", ""), e.value("message", ""));
    return code;
  }
  if (global.json) return exit_ok;
  if (!answer.is_object()) {
    std::cerr << "ipcctl: reload: the broker's answer is not JSON\n";
    return exit_refused;
  }
  auto changes = answer.value("changes", json::array());
  std::cout << "reloaded" << (changes.empty() ? ": no changes" : ":") << "\n";
  for (const auto& change : changes) std::cout << "  " << change.get<std::string>() << "\n";
  for (const auto& key : answer.value("restart_required", json::array()))
    std::cout << "  " << key.get<std::string>() << ": changed, takes effect at the next start\n";
  return exit_ok;
}

int run_config_check(const std::string& file) {
  // The defaults only fill in paths the file leaves out; the checks do not depend on them.
  auto loaded = ipc::config::load_file(file, ipc::config::environment{});
  if (loaded.ok()) {
    std::cout << file << ": ok\n";
    return exit_ok;
  }
  std::cerr << file << ": " << loaded.errors.size() << " error(s)\n";
  for (const auto& e : loaded.errors) print_error(e.path, e.message);
  return exit_refused;
}

}  // namespace

void register_config_admin(CLI::App& app, global_options& global, int& exit_status) {
  app.add_subcommand("reload", "ask the running broker to re-read and apply its config file")
      ->callback([&] { exit_status = run_reload(global); });
  auto* config = app.add_subcommand("config", "config files")->require_subcommand(1);
  auto file = std::make_shared<std::string>();
  auto* check = config->add_subcommand("check", "validate a config file (exit 4 when invalid)");
  check->add_option("file", *file, "the JSON config file")->required();
  check->callback([&exit_status, file] { exit_status = run_config_check(*file); });
}

}  // namespace ipcctl
