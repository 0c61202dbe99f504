// Admin commands (docs/protocol.md §5.2): status, conn.list, conn.kill, topic.list,
// queue.*, reload (retained.* are in retained.cpp). Answered with JSON whatever the front-end;
// ipcctl renders them.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "core/loggable.hpp"
#include "platform/platform.hpp"
#include "queues/queue_manager.hpp"
#include "queues/queue_store.hpp"

namespace ipc::broker {

using json = nlohmann::json;

namespace {

std::string error_body(errc& status, errc code, std::string_view message) {
  status = code;
  return json_text(json{{"error", message}, {"code", errc_name(code)}});
}

}  // namespace

std::string broker_core::admin_status() const {
  std::size_t subscriptions = 0;
  for (const auto& [id, s] : clients_) subscriptions += s->subscription_count();
  auto uptime = std::chrono::steady_clock::now() - started_;
  json status{
      {"version", IPCD_VERSION},
      {"pid", platform::process_id()},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(uptime).count()},
      {"connections", clients_.size()},
      {"connections_total", counters_.connections_total},
      {"subscriptions", subscriptions},
      {"queues", queues_->size()},
      {"requests", counters_.requests},
      {"replies", counters_.replies},
      {"request_timeouts", counters_.request_timeouts},
      {"no_responders", counters_.no_responders},
      {"connections_closed", counters_.closed},
      {"messages_in", counters_.messages_in},
      {"messages_out", counters_.messages_out},
      {"bytes_in", counters_.bytes_in},
      {"bytes_out", counters_.bytes_out},
      {"rate_in", rate_in_},
      {"rate_out", rate_out_},
      {"slow_consumers", counters_.slow_consumers},
      {"slow_consumer_drops", counters_.slow_consumer_drops},
      {"auth_failures", counters_.auth_failures},
      {"auth_lockouts", counters_.auth_lockouts},
      {"tls_handshake_failures", counters_.handshake_failures},
      {"shm_switch_failures", counters_.shm_switch_failures},
      {"protocol_errors", counters_.protocol_errors},
      {"internal_errors", counters_.internal_errors},
      {"memory_bytes", platform::resident_memory_bytes()},
      {"cpu_seconds", platform::cpu_seconds()},
      {"memory_held_bytes", memory_->held()},
      {"max_memory", memory_->limit()},
      {"memory_alarm", memory_->alarm()},
      {"memory_alarms", memory_->alarms()},
      {"retained", retained_.count()},
      {"wills_published", counters_.wills_published},
      {"wills_pending", pending_wills_.size()},
      {"retained_bytes", retained_.bytes()},
      {"storage", queues_->store() ? queues_->store()->describe() : json(nullptr)},
  };
  for (const auto& [command, extra] : extra_reports_)
    if (!extra.status_key.empty())
      status[extra.status_key] = json::parse(extra.produce(), nullptr, false);
  return json_text(status);
}

std::string broker_core::admin_conn_list() const {
  json list = json::array();
  for (const auto& [id, s] : clients_) {
    const auto& c = s->owner();
    const auto& counted = c.counters();
    auto since =
        std::chrono::duration_cast<std::chrono::seconds>(c.connected_at().time_since_epoch());
    list.push_back({{"id", id},
                    {"peer", c.peer().address},
                    {"transport", transport::scheme_name(c.peer().transport)},
                    {"protocol", c.protocol_name()},
                    {"listener", c.listener()},
                    {"user", s->user()},
                    {"client", c.client_name()},
                    {"connected_at", since.count()},
                    {"bytes_in", counted.bytes_in},
                    {"bytes_out", counted.bytes_out},
                    {"messages_in", counted.messages_in},
                    {"messages_out", counted.messages_out},
                    {"dropped", counted.dropped},
                    {"subscriptions", s->subscription_count()},
                    {"pending_bytes", c.pending_bytes()},
                    {"shm_bytes", c.shared_memory_bytes()}});
  }
  return json_text(list);
}

std::string broker_core::admin_topic_list() const {
  json list = json::array();
  for (const auto& entry : trie_.patterns())
    list.push_back({{"pattern", entry.pattern}, {"subscribers", entry.routes}});
  return json_text(list);
}

void broker_core::add_report(std::string command, std::function<std::string()> produce,
                             std::string status_key) {
  extra_reports_[std::move(command)] = {std::move(produce), std::move(status_key)};
}

std::string broker_core::report(std::string_view command) const {
  if (auto extra = extra_reports_.find(command); extra != extra_reports_.end())
    return extra->second.produce();
  if (command == "status") return admin_status();
  if (command == "conn.list") return admin_conn_list();
  if (command == "queue.list") return json_text(queues_->list());
  if (command == "topic.list") return admin_topic_list();
  return "null";
}

std::string broker_core::admin(client_state& s, std::string_view command,
                               std::string_view args_json, errc& status) {
  status = errc::ok;
  if (!s.perms().admin()) {
    logger_->info("connection {} ({}) user '{}': permission denied: admin {}", s.id(),
                  s.owner().peer().address, s.user(), loggable(command));
    return error_body(status, errc::permission_denied,
                      "permission denied: admin commands need the admin permission");
  }
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
    auto* target = find(args["id"].get<std::uint64_t>());
    if (target == nullptr)
      return error_body(status, errc::invalid_argument, "no connection with that id");
    logger_->info("connection {} killed by connection {} ({})", target->id(), s.id(), s.user());
    target->owner().close(errc::connection_killed, "connection closed by an administrator");
    return json_text(json{{"killed", target->id()}});
  }
  if (command.starts_with("queue.")) return admin_queue(command, args, status);
  if (command == "retained.list" || command == "retained.clear")
    return admin_retained(command, args, status);
  if (command == "reload") return admin_reload(s, status);
  if (auto extra = extra_admin_.find(std::string(command)); extra != extra_admin_.end())
    return extra->second(args_json, status);
  if (auto extra = extra_reports_.find(command); extra != extra_reports_.end())
    return extra->second.produce();
  return error_body(status, errc::unknown_command,
                    "unknown admin command '" + std::string(command) + "'");
}

namespace {
// A string member of the admin arguments, or "" with `missing` set.
std::string text_arg(const json& args, const char* key, bool& missing) {
  if (args.contains(key) && args[key].is_string()) return args[key].get<std::string>();
  missing = true;
  return {};
}
}  // namespace

std::string broker_core::admin_queue(std::string_view command, const json& args, errc& status) {
  if (command == "queue.list") return json_text(queues_->list());
  static constexpr std::string_view known[] = {"queue.info",  "queue.create", "queue.delete",
                                               "queue.purge", "queue.bind",   "queue.unbind"};
  if (std::find(std::begin(known), std::end(known), command) == std::end(known))
    return error_body(status, errc::unknown_command,
                      "unknown admin command '" + std::string(command) + "'");
  bool missing = false;
  std::string name = text_arg(args, "name", missing);
  if (missing) return error_body(status, errc::invalid_argument, "needs {\"name\": QUEUE}");
  auto answer = [&](const refusal& refused, json body) {
    if (refused) return error_body(status, refused.code, refused.message);
    queues_->dispatch_pending();
    return json_text(body);
  };
  if (command == "queue.create") {
    config::queue_options options;
    json rest = args;
    rest.erase("name");
    auto problems = config::parse_queue_options(json_text(rest), options);
    if (!problems.empty())
      return error_body(status, errc::invalid_argument,
                        problems.front().path + ": " + problems.front().message);
    bool created = false;
    auto refused = queues_->create(name, options, created);
    return answer(refused, {{"name", name}, {"created", created}});
  }
  auto target = queues_->find(name);
  if (!target && config::valid_queue_name(name) == false)
    return error_body(status, errc::invalid_queue_name, "invalid queue name '" + name + "'");
  if (!target) return error_body(status, errc::unknown_queue, "no queue '" + name + "'");
  if (command == "queue.info") return json_text(queues_->describe(*target));
  if (command == "queue.delete") return answer(queues_->remove(name), {{"deleted", name}});
  if (command == "queue.purge") return json_text(json{{"purged", target->purge()}});
  std::string pattern = text_arg(args, "pattern", missing);
  if (missing) return error_body(status, errc::invalid_argument, "needs {\"pattern\": PATTERN}");
  if (command == "queue.bind") return answer(queues_->bind(name, pattern), {{"bound", pattern}});
  if (command == "queue.unbind")
    return answer(queues_->unbind(name, pattern), {{"unbound", pattern}});
  return error_body(status, errc::unknown_command,
                    "unknown admin command '" + std::string(command) + "'");
}

}  // namespace ipc::broker
