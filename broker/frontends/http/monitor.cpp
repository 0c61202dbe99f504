// monitor: the cached snapshot, the metrics rendered from it, the health verdict.
#include "frontends/http/monitor.hpp"

#include <map>
#include <vector>

#include "core/broker_core.hpp"
#include "ipc/http/prometheus.hpp"

namespace ipc::broker {

using json = nlohmann::json;

namespace {
constexpr auto max_age = std::chrono::seconds(1);

double number(const json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_boolean()) return found->get<bool>() ? 1 : 0;
  return found->is_number() ? found->get<double>() : 0;
}

struct simple_metric {
  const char* name;
  const char* type;
  const char* key;  // in the status JSON
  const char* help;
};

// The broker-wide counters and gauges of `status` (docs/protocol.md §5.2.1), by name.
constexpr simple_metric status_metrics[] = {
    {"ipcd_uptime_seconds", "gauge", "uptime_s", "Seconds since the broker started."},
    {"ipcd_connections_opened_total", "counter", "connections_total", "Connections accepted."},
    {"ipcd_subscriptions", "gauge", "subscriptions", "Topic subscriptions of all connections."},
    {"ipcd_messages_received_total", "counter", "messages_in", "Messages published to the broker."},
    {"ipcd_messages_delivered_total", "counter", "messages_out",
     "Deliveries queued to subscribers and consumers."},
    {"ipcd_received_bytes_total", "counter", "bytes_in", "Bytes read from clients."},
    {"ipcd_sent_bytes_total", "counter", "bytes_out", "Bytes written to clients."},
    {"ipcd_slow_consumers_total", "counter", "slow_consumers",
     "Connections closed for pending output over limits.max_pending_bytes."},
    {"ipcd_protocol_errors_total", "counter", "protocol_errors",
     "Connections closed for a protocol error."},
    {"ipcd_internal_errors_total", "counter", "internal_errors",
     "Connections ended by an unexpected internal error."},
    {"ipcd_auth_failures_total", "counter", "auth_failures", "Failed authentications."},
    {"ipcd_auth_lockouts_total", "counter", "auth_lockouts",
     "Logins refused unchecked while their back-off runs."},
    {"ipcd_tls_handshake_failures_total", "counter", "tls_handshake_failures",
     "TLS handshakes that failed or were refused."},
    {"ipcd_shm_switch_failures_total", "counter", "shm_switch_failures",
     "Switches to shared memory a listener allowed that could not be made."},
    {"ipcd_requests_total", "counter", "requests", "Requests routed."},
    {"ipcd_replies_total", "counter", "replies", "First replies delivered to requesters."},
    {"ipcd_request_timeouts_total", "counter", "request_timeouts",
     "Requests that ended without a reply."},
    {"ipcd_no_responders_total", "counter", "no_responders",
     "Requests refused at once because nobody could answer."},
    {"ipcd_retained_messages", "gauge", "retained", "Retained messages held."},
    {"ipcd_retained_bytes", "gauge", "retained_bytes", "Bytes of the retained messages' records."},
    {"ipcd_wills_published_total", "counter", "wills_published", "Last wills published."},
    {"ipcd_wills_pending", "gauge", "wills_pending", "Delayed wills waiting to be published."},
    {"ipcd_memory_held_bytes", "gauge", "memory_held_bytes",
     "Message data held: pending output and queued messages (limits.max_memory)."},
    {"ipcd_memory_limit_bytes", "gauge", "max_memory", "limits.max_memory in bytes; 0: none."},
    {"ipcd_memory_alarm", "gauge", "memory_alarm", "1 while the memory alarm is on."},
    {"ipcd_memory_alarms_total", "counter", "memory_alarms", "Times the memory alarm went on."},
    {"ipcd_queues", "gauge", "queues", "Queues in the broker."},
    {"process_resident_memory_bytes", "gauge", "memory_bytes", "Resident memory size in bytes."},
    {"process_cpu_seconds_total", "counter", "cpu_seconds",
     "Total user and system CPU time spent in seconds."},
};

constexpr simple_metric storage_metrics[] = {
    {"ipcd_storage_written_bytes_total", "counter", "written_bytes",
     "Bytes written to the durable log."},
    {"ipcd_storage_segments", "gauge", "segments", "Segments of the durable log."},
    {"ipcd_storage_segments_deleted_total", "counter", "segments_deleted",
     "Segments deleted once settled."},
    {"ipcd_storage_syncs_total", "counter", "syncs", "fsync calls on the durable log."},
    {"ipcd_storage_write_errors_total", "counter", "write_errors",
     "Writes to the durable log that failed."},
    {"ipcd_storage_failing", "gauge", "failing", "1 while writes to storage fail."},
    {"ipcd_storage_durable_queues", "gauge", "durable_queues", "Durable queues."},
};

struct queue_metric {
  const char* name;
  const char* type;
  const char* section;  // "" for the queue's own keys, "stats" for its counters
  const char* key;
  const char* help;
};

constexpr queue_metric per_queue[] = {
    {"ipcd_queue_ready_messages", "gauge", "", "ready", "Messages ready for delivery."},
    {"ipcd_queue_unacked_messages", "gauge", "", "unacked", "Messages delivered, not yet acked."},
    {"ipcd_queue_scheduled_messages", "gauge", "", "scheduled", "Delayed messages not yet due."},
    {"ipcd_queue_bytes", "gauge", "", "bytes", "Stored bytes of the queue's messages."},
    {"ipcd_queue_consumers", "gauge", "", "consumers", "Consumers attached."},
    {"ipcd_queue_enqueued_total", "counter", "stats", "enqueued", "Messages enqueued."},
    {"ipcd_queue_delivered_total", "counter", "stats", "delivered", "Deliveries made."},
    {"ipcd_queue_acked_total", "counter", "stats", "acked", "Deliveries acknowledged."},
    {"ipcd_queue_redelivered_total", "counter", "stats", "redelivered", "Deliveries repeated."},
    {"ipcd_queue_dead_lettered_total", "counter", "stats", "dead_lettered",
     "Messages dead-lettered."},
    {"ipcd_queue_expired_total", "counter", "stats", "expired", "Messages expired."},
    {"ipcd_queue_dropped_total", "counter", "stats", "dropped",
     "Messages dropped by overflow drop-oldest."},
    {"ipcd_queue_rejected_total", "counter", "stats", "rejected_full",
     "Messages refused because the queue was full."},
};
}  // namespace

const monitor_snapshot& monitor::current() {
  auto now = std::chrono::steady_clock::now();
  if (snapshot_.taken != std::chrono::steady_clock::time_point{} && now - snapshot_.taken < max_age)
    return snapshot_;
  snapshot_.taken = now;
  snapshot_.status_text = core_.report("status");
  snapshot_.connections_text = core_.report("conn.list");
  snapshot_.queues_text = core_.report("queue.list");
  snapshot_.topics_text = core_.report("topic.list");
  snapshot_.status = json::parse(snapshot_.status_text);
  snapshot_.connections = json::parse(snapshot_.connections_text);
  snapshot_.queues = json::parse(snapshot_.queues_text);
  snapshot_.topics = json::parse(snapshot_.topics_text);
  metrics_fresh_ = false;
  return snapshot_;
}

const std::string& monitor::metrics() {
  const auto& s = current();
  if (metrics_fresh_) return metrics_;
  http::prometheus_text out;
  out.family("ipcd_build_info", "gauge", "The broker's version, as a label; always 1.");
  out.sample("ipcd_build_info", {{"version", s.status.value("version", std::string())}}, 1);
  for (const auto& m : status_metrics) {
    out.family(m.name, m.type, m.help);
    out.sample(m.name, number(s.status, m.key));
  }
  out.family("ipcd_dropped_messages_total", "counter",
             "Topic messages a subscriber missed, by reason.");
  out.sample("ipcd_dropped_messages_total", {{"reason", "slow_consumer"}},
             number(s.status, "slow_consumer_drops"));
  // Connections by transport, listener and protocol, their pending output and the
  // shared-memory segments they map.
  std::map<std::tuple<std::string, std::string, std::string>, int> open;
  double pending = 0, shared = 0;
  for (const auto& c : s.connections) {
    ++open[{c.value("transport", std::string()), c.value("listener", std::string()),
            c.value("protocol", std::string())}];
    pending += number(c, "pending_bytes");
    shared += number(c, "shm_bytes");
  }
  out.family("ipcd_connections", "gauge", "Open connections by transport, listener and protocol.");
  for (const auto& [key, count] : open)
    out.sample("ipcd_connections",
               {{"transport", std::get<0>(key)},
                {"listener", std::get<1>(key)},
                {"protocol", std::get<2>(key)}},
               count);
  out.family("ipcd_connections_closed_total", "counter", "Connections ended, by reason.");
  if (s.status.contains("connections_closed"))
    for (const auto& [why, count] : s.status["connections_closed"].items())
      out.sample("ipcd_connections_closed_total", {{"reason", why}}, count.get<double>());
  out.family("ipcd_pending_output_bytes", "gauge", "Output queued to clients, not yet written.");
  out.sample("ipcd_pending_output_bytes", pending);
  out.family("ipcd_shm_segment_bytes", "gauge",
             "Bytes of the shared-memory segments of open connections.");
  out.sample("ipcd_shm_segment_bytes", shared);
  const json& storage = s.status.contains("storage") ? s.status["storage"] : json::object();
  for (const auto& m : storage_metrics) {
    out.family(m.name, m.type, m.help);
    out.sample(m.name, number(storage, m.key));
  }
  if (storage.contains("sync_seconds")) {
    const auto& h = storage["sync_seconds"];
    auto bounds = h.value("bounds", std::vector<double>());
    auto counts = h.value("counts", std::vector<std::uint64_t>());
    out.family("ipcd_storage_sync_seconds", "histogram",
               "How long fsync of the durable log takes.");
    out.histogram("ipcd_storage_sync_seconds", {}, bounds, counts, h.value("sum", 0.0));
  }
  if (certificates_) {
    out.family("ipcd_tls_certificate_expiry_timestamp_seconds", "gauge",
               "When the certificate a TLS listener presents expires (UNIX time).");
    for (const auto& [listener, expires] : certificates_())
      out.sample("ipcd_tls_certificate_expiry_timestamp_seconds", {{"listener", listener}},
                 static_cast<double>(expires));
  }
  for (const auto& m : per_queue) {
    out.family(m.name, m.type, m.help);
    for (const auto& q : s.queues) {
      const json& from = *m.section ? q.value(m.section, json::object()) : q;
      out.sample(m.name, {{"queue", q.value("name", std::string())}}, number(from, m.key));
    }
  }
  uplink_metrics(s.status, out);
  metrics_ = out.text();
  metrics_fresh_ = true;
  return metrics_;
}

void monitor::uplink_metrics(const json& status, http::prometheus_text& out) {
  // NATS uplinks (docs/uplinks.md §7), from status "uplinks".
  if (!status.contains("uplinks") || !status["uplinks"].is_array()) return;
  const json& uplinks = status["uplinks"];
  auto each = [&](std::string_view name, std::string_view type, std::string_view help, auto value) {
    out.family(name, type, help);
    for (const auto& u : uplinks) value(u.value("name", std::string()), u);
  };
  each("ipcd_uplink_connected", "gauge", "1 while the uplink is connected to a NATS server.",
       [&](const std::string& n, const json& u) {
         out.sample("ipcd_uplink_connected", {{"uplink", n}}, u.value("state", "") == "connected");
       });
  each("ipcd_uplink_messages_total", "counter", "Messages through the uplink, by direction.",
       [&](const std::string& n, const json& u) {
         out.sample("ipcd_uplink_messages_total", {{"uplink", n}, {"direction", "out"}},
                    number(u, "messages_out"));
         out.sample("ipcd_uplink_messages_total", {{"uplink", n}, {"direction", "in"}},
                    number(u, "messages_in"));
       });
  each("ipcd_uplink_bytes_total", "counter", "Bytes on the uplink's connection, by direction.",
       [&](const std::string& n, const json& u) {
         out.sample("ipcd_uplink_bytes_total", {{"uplink", n}, {"direction", "out"}},
                    number(u, "bytes_out"));
         out.sample("ipcd_uplink_bytes_total", {{"uplink", n}, {"direction", "in"}},
                    number(u, "bytes_in"));
       });
  each("ipcd_uplink_reconnects_total", "counter", "Connections made after the first.",
       [&](const std::string& n, const json& u) {
         out.sample("ipcd_uplink_reconnects_total", {{"uplink", n}}, number(u, "reconnects"));
       });
  each("ipcd_uplink_dropped_total", "counter", "Messages the uplink did not pass, by reason.",
       [&](const std::string& n, const json& u) {
         for (auto [reason, key] : {std::pair{"link_down", "dropped_down"},
                                    {"too_large", "dropped_too_large"},
                                    {"slow", "dropped_slow"},
                                    {"duplicate", "duplicates"},
                                    {"echo", "echoes"},
                                    {"refused", "refused"}})
           out.sample("ipcd_uplink_dropped_total", {{"uplink", n}, {"reason", reason}},
                      number(u, key));
       });
  each(
      "ipcd_uplink_spool_messages", "gauge", "Durable exports waiting in the spool.",
      [&](const std::string& n, const json& u) {
        if (u.contains("spool") && u["spool"].is_object())
          out.sample("ipcd_uplink_spool_messages", {{"uplink", n}}, number(u["spool"], "messages"));
      });
  each("ipcd_uplink_spool_bytes", "gauge", "Bytes of durable exports waiting in the spool.",
       [&](const std::string& n, const json& u) {
         if (u.contains("spool") && u["spool"].is_object())
           out.sample("ipcd_uplink_spool_bytes", {{"uplink", n}}, number(u["spool"], "bytes"));
       });
}

std::string monitor::unhealthy_reason() {
  if (stopping_) return "the broker is stopping";
  const auto& s = current();
  if (s.status.contains("storage") && number(s.status["storage"], "failing") != 0)
    return "storage is failing: writes to the durable log do not succeed";
  return {};
}

}  // namespace ipc::broker
