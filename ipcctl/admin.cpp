// ipcctl status, topic list, conn list|kill (SPEC §6): admin requests answered with JSON,
// printed as aligned tables or, with --json, as the broker's JSON.
#include <iostream>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "ipc/client.hpp"

namespace ipcctl {
namespace {

using json = nlohmann::json;

}  // namespace

// Sends one admin command; on success stores the parsed JSON answer.
int admin_call(const global_options& global, const std::string& command, const json& args,
               json& answer) {
  auto options = global.client_options();
  options.auto_reconnect = false;
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  std::error_code ec;
  std::string body = client.admin(command, args.dump(), ec);
  if (ec) {
    json error = json::parse(body, nullptr, false);
    std::string detail =
        error.is_object() && error.contains("error") ? error["error"].get<std::string>() : "";
    return fail(command, ec, detail);
  }
  answer = json::parse(body, nullptr, false);
  if (answer.is_discarded()) {
    std::cerr << "ipcctl: " << command << ": the broker's answer is not JSON\n";
    return exit_refused;
  }
  return exit_ok;
}

namespace {

std::string cell(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", value.get<double>());
    return buffer;
  }
  return value.dump();
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return buffer;
}

namespace {

int run_status(const global_options& global) {
  json answer;
  if (int code = admin_call(global, "status", json::object(), answer)) return code;
  if (global.json) {
    std::cout << answer.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [key, value] : answer.items()) {
    if (key == "uplinks" && value.is_array()) {  // one line: names and states
      std::string shown;
      for (const auto& u : value)
        shown += (shown.empty() ? "" : ", ") + u["name"].get<std::string>() + " " +
                 u["state"].get<std::string>();
      rows.push_back({key, shown.empty() ? "-" : shown});
      continue;
    }
    bool bytes = key == "memory_bytes" || key == "memory_held_bytes" || key == "max_memory";
    std::string shown = bytes ? human_bytes(value.get<std::uint64_t>()) : cell(value);
    rows.push_back({key, shown});
  }
  std::cout << render_table({"FIELD", "VALUE"}, rows);
  return exit_ok;
}

int run_topic_list(const global_options& global) {
  json answer;
  if (int code = admin_call(global, "topic.list", json::object(), answer)) return code;
  if (global.json) {
    std::cout << answer.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& entry : answer)
    rows.push_back({cell(entry["pattern"]), cell(entry["subscribers"])});
  std::cout << render_table({"PATTERN", "SUBSCRIBERS"}, rows);
  return exit_ok;
}

int run_conn_list(const global_options& global) {
  json answer;
  if (int code = admin_call(global, "conn.list", json::object(), answer)) return code;
  if (global.json) {
    std::cout << answer.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : answer)
    rows.push_back({cell(c["id"]), cell(c["peer"]), cell(c["transport"]), cell(c["protocol"]),
                    cell(c["user"]), cell(c["client"]),
                    human_bytes(c["bytes_in"].get<std::uint64_t>()),
                    human_bytes(c["bytes_out"].get<std::uint64_t>()), cell(c["messages_in"]),
                    cell(c["messages_out"]), cell(c["subscriptions"])});
  std::cout << render_table({"ID", "PEER", "TRANSPORT", "PROTOCOL", "USER", "CLIENT", "BYTES_IN",
                             "BYTES_OUT", "MSGS_IN", "MSGS_OUT", "SUBS"},
                            rows);
  return exit_ok;
}

int run_retained_list(const global_options& global, const std::string& pattern) {
  json answer;
  if (int code = admin_call(global, "retained.list", json{{"pattern", pattern}}, answer))
    return code;
  if (global.json) {
    std::cout << answer.dump() << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : answer)
    rows.push_back({cell(r["topic"]), cell(r["message_id"]),
                    human_bytes(r["payload_bytes"].get<std::uint64_t>()),
                    r.contains("expires_in_ms") ? cell(r["expires_in_ms"]) + " ms" : "never"});
  std::cout << render_table({"TOPIC", "MESSAGE_ID", "PAYLOAD", "EXPIRES_IN"}, rows);
  return exit_ok;
}

int run_retained_clear(const global_options& global, const std::string& topic, bool all) {
  if (all == !topic.empty()) {
    std::cerr << "ipcctl: retained clear: give a TOPIC or --all\n";
    return exit_usage;
  }
  json answer;
  json args = all ? json{{"all", true}} : json{{"topic", topic}};
  if (int code = admin_call(global, "retained.clear", args, answer)) return code;
  if (global.json)
    std::cout << answer.dump() << "\n";
  else
    std::cout << answer["cleared"].get<std::uint64_t>() << " retained message(s) cleared\n";
  return exit_ok;
}

int run_conn_kill(const global_options& global, std::uint64_t id) {
  json answer;
  if (int code = admin_call(global, "conn.kill", json{{"id", id}}, answer)) return code;
  if (global.json)
    std::cout << answer.dump() << "\n";
  else
    std::cout << "connection " << id << " closed\n";
  return exit_ok;
}

}  // namespace

void register_admin(CLI::App& app, global_options& global, int& exit_status) {
  app.add_subcommand("status", "broker version, uptime, connections, rates, memory")->callback([&] {
    exit_status = run_status(global);
  });

  auto* topic = app.add_subcommand("topic", "topics and subscriptions")->require_subcommand(1);
  topic->add_subcommand("list", "active subscription patterns with subscriber counts")
      ->callback([&] { exit_status = run_topic_list(global); });

  auto* retained = app.add_subcommand("retained", "retained messages")->require_subcommand(1);
  auto list_pattern = std::make_shared<std::string>("#");
  auto* retained_list = retained->add_subcommand("list", "retained messages whose topic matches");
  retained_list->add_option("pattern", *list_pattern, "topic pattern (default #)");
  retained_list->callback([&global, &exit_status, list_pattern] {
    exit_status = run_retained_list(global, *list_pattern);
  });
  auto clear_topic = std::make_shared<std::string>();
  auto clear_all = std::make_shared<bool>(false);
  auto* retained_clear = retained->add_subcommand("clear", "clear a topic's retained message");
  retained_clear->add_option("topic", *clear_topic, "the topic");
  retained_clear->add_flag("--all", *clear_all, "clear every retained message");
  retained_clear->callback([&global, &exit_status, clear_topic, clear_all] {
    exit_status = run_retained_clear(global, *clear_topic, *clear_all);
  });

  auto* conn = app.add_subcommand("conn", "client connections")->require_subcommand(1);
  conn->add_subcommand("list", "connections with peer, user, transport, traffic")->callback([&] {
    exit_status = run_conn_list(global);
  });
  auto kill_id = std::make_shared<std::uint64_t>(0);
  auto* kill = conn->add_subcommand("kill", "close a connection");
  kill->add_option("id", *kill_id, "connection id (from conn list)")->required();
  kill->callback(
      [&global, &exit_status, kill_id] { exit_status = run_conn_kill(global, *kill_id); });
}

}  // namespace ipcctl
