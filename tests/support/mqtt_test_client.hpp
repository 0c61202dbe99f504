// A blocking MQTT client for black-box tests of the MQTT front-end: sends packets (well
// formed through the codec, or any bytes) and reads packets back with the codec's own
// packet_reader, with deadlines. Over raw_client's socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ipc/mqtt/codec.hpp"
#include "raw_client.hpp"

namespace ipc::test {

struct mqtt_received {
  std::uint8_t type_byte = 0;
  std::vector<std::uint8_t> body;
  mqtt::packet_type type() const { return static_cast<mqtt::packet_type>(type_byte >> 4); }
  mqtt::raw_packet view() const { return {type_byte, body}; }
};

// A PUBLISH as received, with its own copies of what the test looks at.
struct mqtt_message {
  std::string topic, payload;
  std::uint8_t qos = 0;
  bool retain = false, dup = false;
  std::uint16_t packet_id = 0;
  std::vector<std::pair<std::string, std::string>> user_properties;
  std::optional<std::string> response_topic, correlation, content_type;
  std::optional<std::uint32_t> expiry;
  std::vector<std::uint32_t> subscription_ids;
  std::optional<std::uint16_t> topic_alias;
};

class mqtt_test_client {
 public:
  // `url`: tcp://host:port or unix://path of an MQTT listener.
  mqtt_test_client(const std::string& url, mqtt::version v);

  mqtt::version version() const { return version_; }
  void send_bytes(const std::vector<std::uint8_t>& bytes) { socket_.send(bytes); }
  template <class Packet>
  void send(const Packet& p) {
    mqtt::byte_buffer bytes;
    mqtt::encode(bytes, version_, p);
    socket_.send(bytes);
  }
  // CONNECT (its level set to this client's version) and its CONNACK, decoded.
  std::optional<mqtt::connack_packet> connect(mqtt::connect_packet c);
  // A CONNECT with `client_id`, clean start, keep alive 60: true when accepted.
  bool connect(std::string_view client_id);
  // SUBSCRIBE one filter; the granted code from SUBACK.
  std::optional<std::uint8_t> subscribe(std::string_view filter, std::uint8_t qos,
                                        std::uint16_t packet_id = 1);
  // PUBLISH and, for QoS 1 and 2, its flow to the end (PUBACK, or PUBREC/PUBREL/PUBCOMP):
  // the reason code of the broker's acknowledgement (success for QoS 0).
  std::optional<mqtt::reason> publish(std::string_view topic, std::string_view payload,
                                      std::uint8_t qos, bool retain = false,
                                      std::uint16_t packet_id = 7);

  std::optional<mqtt_received> next(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // The next packet of `type`, skipping others; nullopt on timeout or close.
  std::optional<mqtt_received> next_of(mqtt::packet_type type,
                                       std::chrono::milliseconds limit = std::chrono::seconds(5));
  // The next PUBLISH, decoded; QoS 1 and 2 ones are acknowledged (PUBACK, PUBREC then
  // PUBCOMP after the broker's PUBREL) unless `ack` is false.
  std::optional<mqtt_message> next_message(
      std::chrono::milliseconds limit = std::chrono::seconds(5), bool ack = true);
  // True when the broker closed the connection within `limit` (packets before it skipped).
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(5));
  // The DISCONNECT the broker sent before closing (MQTT 5), or nullopt.
  std::optional<mqtt::reason> disconnect_reason(
      std::chrono::milliseconds limit = std::chrono::seconds(5));

 private:
  raw_client socket_;
  mqtt::version version_;
  mqtt::packet_reader reader_{mqtt::max_remaining_length + 5};
};

}  // namespace ipc::test
