// broker_core's periodic statistics on $SYS/broker/... (docs/monitoring.md §7), like
// Mosquitto's: one value per topic, a JSON number or string, so that MQTT and native
// subscribers can watch the broker; encoded only for topics someone subscribes to.
#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"

namespace ipc::broker {

void broker_core::publish_statistics() {
  static constexpr std::pair<const char*, const char*> topics[] = {
      {"$SYS/broker/version", "version"},
      {"$SYS/broker/uptime", "uptime_s"},
      {"$SYS/broker/connections", "connections"},
      {"$SYS/broker/connections/total", "connections_total"},
      {"$SYS/broker/subscriptions", "subscriptions"},
      {"$SYS/broker/queues", "queues"},
      {"$SYS/broker/retained", "retained"},
      {"$SYS/broker/messages/received", "messages_in"},
      {"$SYS/broker/messages/sent", "messages_out"},
      {"$SYS/broker/bytes/received", "bytes_in"},
      {"$SYS/broker/bytes/sent", "bytes_out"},
      {"$SYS/broker/load/messages/received", "rate_in"},  // per second, over the last one
      {"$SYS/broker/load/messages/sent", "rate_out"},
      {"$SYS/broker/memory/held", "memory_held_bytes"},
  };
  bool anyone = false;
  for (const auto& [topic, key] : topics) anyone = anyone || trie_.has_match(topic);
  if (!anyone) return;  // nobody listens: not even the status is made
  auto status = nlohmann::json::parse(admin_status());
  for (const auto& [topic, key] : topics)
    if (status.contains(key)) publish_system(topic, status[key].dump());
}

}  // namespace ipc::broker
