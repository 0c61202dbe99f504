// Admin commands (docs/protocol.md §5.2): status, conn.list, conn.kill, topic.list.
// Ordinary protocol requests answered with JSON; ipcctl renders them.
#include <nlohmann/json.hpp>

#include "broker.hpp"
#include "platform.hpp"
#include "session.hpp"

namespace ipc::broker {

using json = nlohmann::json;
using protocol::errc;

namespace {

std::string error_body(std::uint16_t& status, errc code, std::string_view message) {
  status = static_cast<std::uint16_t>(code);
  return json{{"error", message}, {"code", protocol::errc_name(status)}}.dump();
}

}  // namespace

std::string broker_core::admin_status() const {
  std::size_t subscriptions = 0;
  for (const auto& [id, s] : sessions_) subscriptions += s->subscriptions().size();
  auto uptime = std::chrono::steady_clock::now() - started_;
  return json{
      {"version", IPCD_VERSION},
      {"pid", platform::process_id()},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()},
      {"connections", sessions_.size()},
      {"connections_total", counters_.connections_total},
      {"subscriptions", subscriptions},
      {"queues", 0},
      {"messages_in", counters_.messages_in},
      {"messages_out", counters_.messages_out},
      {"bytes_in", counters_.bytes_in},
      {"bytes_out", counters_.bytes_out},
      {"rate_in", rate_in_},
      {"rate_out", rate_out_},
      {"slow_consumers", counters_.slow_consumers},
      {"protocol_errors", counters_.protocol_errors},
      {"memory_bytes", platform::resident_memory_bytes()},
  }
      .dump();
}

std::string broker_core::admin_conn_list() const {
  json list = json::array();
  for (const auto& [id, s] : sessions_) {
    const auto& c = s->counters();
    auto since =
        std::chrono::duration_cast<std::chrono::seconds>(s->connected_at().time_since_epoch());
    list.push_back({{"id", id},
                    {"peer", s->peer().address},
                    {"transport", transport::scheme_name(s->peer().transport)},
                    {"listener", s->listener()},
                    {"user", s->user()},
                    {"client", s->client_name()},
                    {"connected_at", since.count()},
                    {"bytes_in", c.bytes_in},
                    {"bytes_out", c.bytes_out},
                    {"messages_in", c.messages_in},
                    {"messages_out", c.messages_out},
                    {"subscriptions", s->subscriptions().size()},
                    {"pending_bytes", s->pending_bytes()}});
  }
  return list.dump();
}

std::string broker_core::admin_topic_list() const {
  json list = json::array();
  for (const auto& entry : trie_.patterns())
    list.push_back({{"pattern", entry.pattern}, {"subscribers", entry.routes}});
  return list.dump();
}

std::string broker_core::admin(session& s, std::string_view command, std::string_view args_json,
                               std::uint16_t& status) {
  status = 0;
  json args = json::object();
  if (!args_json.empty()) {
    args = json::parse(args_json, nullptr, false);
    if (args.is_discarded() || !args.is_object())
      return error_body(status, errc::invalid_argument, "admin arguments must be a JSON object");
  }
  if (command == "status") return admin_status();
  if (command == "conn.list") return admin_conn_list();
  if (command == "topic.list") return admin_topic_list();
  if (command == "conn.kill") {
    if (!args.contains("id") || !args["id"].is_number_unsigned())
      return error_body(status, errc::invalid_argument, "conn.kill needs {\"id\": N}");
    auto target = find_session(args["id"].get<std::uint64_t>());
    if (!target) return error_body(status, errc::invalid_argument, "no connection with that id");
    logger_->info("connection {} killed by connection {} ({})", target->id(), s.id(), s.user());
    target->close_with_error(errc::connection_killed, "connection closed by an administrator");
    return json{{"killed", target->id()}}.dump();
  }
  return error_body(status, errc::unknown_command,
                    "unknown admin command '" + std::string(command) + "'");
}

}  // namespace ipc::broker
