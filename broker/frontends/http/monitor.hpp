// The monitoring data behind the HTTP endpoint (docs/monitoring.md): a snapshot of the
// broker's status, connections, queues and topics — the JSON the admin commands answer,
// so ipcctl --json and HTTP have one source — taken at most once a second however often
// it is asked for (a page or a scraper cannot make the broker work harder), rendered as
// Prometheus metrics, and the health verdict. On the I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ipc::http {
class prometheus_text;
}

namespace ipc::broker {

class broker_core;

struct monitor_snapshot {
  std::chrono::steady_clock::time_point taken{};
  nlohmann::json status, connections, queues, topics;
  std::string status_text, connections_text, queues_text, topics_text;  // as answered
};

class monitor {
 public:
  explicit monitor(broker_core& core) : core_(core) {}

  // The snapshot, taken again when older than a second.
  const monitor_snapshot& current();
  // The Prometheus text exposition of the snapshot (cached with it).
  const std::string& metrics();
  // Healthy when storage is and the broker is not stopping: "" then, else why not.
  std::string unhealthy_reason();
  // The broker is stopping (from the server): unhealthy from now on.
  void set_stopping() { stopping_ = true; }
  // The TLS listeners and when their certificates expire (UNIX seconds), from the server.
  using certificate_list = std::vector<std::pair<std::string, std::int64_t>>;
  void set_certificates(std::function<certificate_list()> source) {
    certificates_ = std::move(source);
  }

 private:
  // The ipcd_uplink_* families from status "uplinks".
  void uplink_metrics(const nlohmann::json& status, http::prometheus_text& out);

  broker_core& core_;
  monitor_snapshot snapshot_;
  std::string metrics_;
  bool metrics_fresh_ = false;
  bool stopping_ = false;
  std::function<certificate_list()> certificates_;
};

}  // namespace ipc::broker
