// The MQTT front-end's shared state (docs/mqtt.md §3.3, §3.4): which connection holds each
// client identifier (a second CONNECT with the same one takes over), identifiers for
// clients that send none, and the persistent sessions. A persistent session keeps its
// subscriptions here and its messages in a durable queue of the core (`mqtt.ID`), bound
// to its QoS 1 and 2 filters, so that they wait while the client is away, are bounded by
// the queue's limits, and survive a restart; its record is saved to `mqtt-sessions.json`
// in the storage directory. One per server, on the I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ipc/config/config.hpp"

namespace ipc::broker {

class broker_core;
class mqtt_connection;

// One subscription of a session, with its MQTT options.
struct mqtt_subscription_options {
  std::uint8_t max_qos = 0;
  bool no_local = false;
  bool retain_as_published = false;
  std::uint32_t identifier = 0;  // MQTT 5 Subscription Identifier; 0 = none
};

// A persistent session: what outlives its connection.
struct mqtt_session_record {
  std::string client_id;
  std::string user;   // who owns it: another user with the same identifier starts afresh
  std::string queue;  // its messages (mqtt_registry::queue_name_of)
  std::vector<std::pair<std::string, mqtt_subscription_options>> subscriptions;
  std::uint32_t expiry_s = 0;
  // Unset while a connection holds the session.
  std::optional<std::chrono::steady_clock::time_point> disconnected_at;
  // Delivery state across reconnections (MQTT 5 §4.4): the packet identifier each
  // unacknowledged queue message was sent with (resent with it and DUP), the QoS 2
  // deliveries waiting for PUBCOMP (PUBREL resent), the inbound QoS 2 publishes waiting
  // for PUBREL. In memory only: a restart forgets them.
  std::unordered_map<std::uint64_t, std::uint16_t> packet_ids;
  std::vector<std::uint16_t> pubrel_pending;
  std::vector<std::uint16_t> inbound_qos2;
};

class mqtt_registry {
 public:
  // `state_file`: where persistent sessions are saved ("" = nowhere).
  mqtt_registry(broker_core& core, config::mqtt settings, std::string state_file);

  const config::mqtt& settings() const { return settings_; }
  void set_settings(config::mqtt settings) { settings_ = std::move(settings); }

  // The live connection holding `client_id`, or null.
  std::shared_ptr<mqtt_connection> holder(const std::string& client_id) const;
  // `connection` holds `client_id` from now on (the earlier holder was taken over).
  void hold(const std::string& client_id, const std::shared_ptr<mqtt_connection>& connection);
  // `connection` ends: it lets go of `client_id` unless another took it over.
  void release(const std::string& client_id, const mqtt_connection* connection);
  std::size_t size() const { return holders_.size(); }

  // A client identifier for a client that sent none (MQTT 5 Assigned Client Identifier):
  // unique in this broker's life and unlikely to meet one a client chose.
  std::string assign_identifier();

  // Persistent sessions. resume() gives the session of `client_id` to a connection of
  // `user` that asked to keep it (null: none, or another user's, which is discarded);
  // create() makes one with its queue (null with `error` when the queue cannot be made);
  // discard() ends one (its queue deleted); save() writes every record to the state file.
  std::shared_ptr<mqtt_session_record> resume(const std::string& client_id,
                                              const std::string& user);
  std::shared_ptr<mqtt_session_record> create(const std::string& client_id, const std::string& user,
                                              std::uint32_t expiry_s, std::string& error);
  void discard(const std::string& client_id);
  void save();
  // Reads the state file (at start, after storage is open): sessions whose queue is gone
  // are dropped. Every session starts disconnected.
  void load();
  // Ends the sessions whose expiry passed (periodic).
  void expire(std::chrono::steady_clock::time_point now);
  std::size_t session_count() const { return sessions_.size(); }

  // The queue of a session: "mqtt." and the identifier, with every byte outside
  // [A-Za-z0-9-] as _XX (hex); a long identifier is named by a hash of it instead.
  static std::string queue_name_of(const std::string& client_id);

 private:
  broker_core& core_;
  config::mqtt settings_;
  std::string state_file_;
  std::unordered_map<std::string, std::weak_ptr<mqtt_connection>> holders_;
  std::unordered_map<std::string, std::shared_ptr<mqtt_session_record>> sessions_;
  std::uint64_t assigned_ = 0;
  std::uint64_t salt_ = 0;  // random per broker run
  bool salted_ = false;
};

}  // namespace ipc::broker
