// The MQTT front-end's shared state (docs/mqtt.md §4): which connection holds each client
// identifier (a second CONNECT with the same one takes the session over), and identifiers
// for clients that send none. One per server, on the I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "ipc/config/config.hpp"

namespace ipc::broker {

class mqtt_connection;

class mqtt_registry {
 public:
  explicit mqtt_registry(config::mqtt settings) : settings_(std::move(settings)) {}

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

 private:
  config::mqtt settings_;
  std::unordered_map<std::string, std::weak_ptr<mqtt_connection>> holders_;
  std::uint64_t assigned_ = 0;
  std::uint64_t salt_;  // random per broker run
  bool salted_ = false;
};

}  // namespace ipc::broker
