// mqtt_registry: client identifiers in use, assigned ones, and persistent sessions with
// their queues and state file.
#include "frontends/mqtt/mqtt_registry.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using json = nlohmann::json;

mqtt_registry::mqtt_registry(broker_core& core, config::mqtt settings, std::string state_file)
    : core_(core), settings_(std::move(settings)), state_file_(std::move(state_file)) {}

std::shared_ptr<mqtt_connection> mqtt_registry::holder(const std::string& client_id) const {
  auto found = holders_.find(client_id);
  return found == holders_.end() ? nullptr : found->second.lock();
}

void mqtt_registry::hold(const std::string& client_id,
                         const std::shared_ptr<mqtt_connection>& connection) {
  holders_[client_id] = connection;
}

void mqtt_registry::release(const std::string& client_id, const mqtt_connection* connection) {
  auto found = holders_.find(client_id);
  if (found == holders_.end()) return;
  auto current = found->second.lock();
  if (current == nullptr || current.get() == connection) holders_.erase(found);
}

std::string mqtt_registry::assign_identifier() {
  if (!salted_) {
    std::random_device entropy;
    salt_ = (std::uint64_t{entropy()} << 32) ^ entropy();
    salted_ = true;
  }
  char text[48];
  std::snprintf(text, sizeof text, "ipcd-%012llx-%llu",
                static_cast<unsigned long long>(salt_ & 0xffffffffffffull),
                static_cast<unsigned long long>(++assigned_));
  return text;
}

std::string mqtt_registry::queue_name_of(const std::string& client_id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string name = "mqtt.";
  for (unsigned char c : client_id) {
    bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (plain) {
      name += static_cast<char>(c);
    } else {
      name += '_';
      name += hex[c >> 4];
      name += hex[c & 15];
    }
  }
  if (name.size() <= 255) return name;
  // FNV-1a, 64 bits: stable across runs and platforms.
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : client_id) hash = (hash ^ c) * 1099511628211ull;
  char text[40];
  std::snprintf(text, sizeof text, "mqtt.hash.%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::shared_ptr<mqtt_session_record> mqtt_registry::resume(const std::string& client_id,
                                                           const std::string& user) {
  auto found = sessions_.find(client_id);
  if (found == sessions_.end()) return nullptr;
  if (found->second->user != user || !core_.queues().find(found->second->queue)) {
    discard(client_id);  // not this user's to take over, or its queue was deleted
    return nullptr;
  }
  found->second->disconnected_at.reset();
  return found->second;
}

std::shared_ptr<mqtt_session_record> mqtt_registry::create(const std::string& client_id,
                                                           const std::string& user,
                                                           std::uint32_t expiry_s,
                                                           std::string& error) {
  discard(client_id);
  auto record = std::make_shared<mqtt_session_record>();
  record->client_id = client_id;
  record->user = user;
  record->queue = queue_name_of(client_id);
  record->expiry_s = expiry_s;
  config::queue_options options;
  options.durable = core_.queues().store() != nullptr;
  options.max_length = settings_.max_queued_messages;
  options.max_bytes = settings_.max_queued_bytes;
  options.overflow = "drop-oldest";            // the newest messages wait for the client
  (void)core_.queues().remove(record->queue);  // a leftover without a record
  bool created = false;
  if (auto refused = core_.queues().create(record->queue, options, created)) {
    error = refused.message;
    return nullptr;
  }
  sessions_[client_id] = record;
  save();
  return record;
}

void mqtt_registry::discard(const std::string& client_id) {
  auto found = sessions_.find(client_id);
  if (found == sessions_.end()) return;
  (void)core_.queues().remove(found->second->queue);
  sessions_.erase(found);
  save();
}

void mqtt_registry::expire(std::chrono::steady_clock::time_point now) {
  std::vector<std::string> ended;
  for (const auto& [id, record] : sessions_)
    if (record->disconnected_at &&
        now - *record->disconnected_at >= std::chrono::seconds(record->expiry_s))
      ended.push_back(id);
  for (const auto& id : ended) {
    core_.log().info("MQTT session '{}' expired", id);
    discard(id);
  }
}

void mqtt_registry::save() {
  if (state_file_.empty()) return;
  json sessions = json::array();
  for (const auto& [id, record] : sessions_) {
    json subscriptions = json::array();
    for (const auto& [filter, o] : record->subscriptions)
      subscriptions.push_back({{"filter", filter},
                               {"qos", o.max_qos},
                               {"no_local", o.no_local},
                               {"retain_as_published", o.retain_as_published},
                               {"identifier", o.identifier}});
    sessions.push_back({{"client_id", id},
                        {"user", record->user},
                        {"queue", record->queue},
                        {"expiry", record->expiry_s},
                        {"subscriptions", std::move(subscriptions)}});
  }
  // Written aside and renamed over the old file: a crash leaves one or the other whole.
  auto text = json{{"version", 1}, {"sessions", std::move(sessions)}}.dump();
  std::string temporary = state_file_ + ".new";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      core_.log().error("cannot write MQTT sessions to {}", temporary);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, state_file_, ec);
  if (ec) core_.log().error("cannot write MQTT sessions to {}: {}", state_file_, ec.message());
}

void mqtt_registry::load() {
  if (state_file_.empty()) return;
  std::ifstream in(state_file_, std::ios::binary);
  if (!in) return;  // none yet
  try {
    auto document = json::parse(in);
    auto now = std::chrono::steady_clock::now();
    for (const auto& entry : document.at("sessions")) {
      auto record = std::make_shared<mqtt_session_record>();
      record->client_id = entry.at("client_id").get<std::string>();
      record->user = entry.at("user").get<std::string>();
      record->queue = entry.at("queue").get<std::string>();
      record->expiry_s = entry.at("expiry").get<std::uint32_t>();
      for (const auto& s : entry.at("subscriptions")) {
        mqtt_subscription_options o;
        o.max_qos = s.at("qos").get<std::uint8_t>();
        o.no_local = s.at("no_local").get<bool>();
        o.retain_as_published = s.at("retain_as_published").get<bool>();
        o.identifier = s.at("identifier").get<std::uint32_t>();
        record->subscriptions.emplace_back(s.at("filter").get<std::string>(), o);
      }
      if (!core_.queues().find(record->queue)) continue;  // its queue did not survive
      record->disconnected_at = now;                      // expiry counts from the start
      sessions_[record->client_id] = std::move(record);
    }
    core_.log().info("MQTT: {} persistent session(s) restored", sessions_.size());
  } catch (const std::exception& e) {
    core_.log().error("MQTT sessions in {} unreadable ({}); starting without them", state_file_,
                      e.what());
    sessions_.clear();
  }
}

}  // namespace ipc::broker
