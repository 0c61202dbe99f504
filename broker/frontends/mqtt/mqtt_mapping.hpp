// Between MQTT PUBLISH packets and the core's message records (docs/mqtt.md §5): user
// properties are headers, the publish's QoS, retain flag, expiry, content type, payload
// format and correlation data are the reserved ipc- attributes, the response topic is the
// reply address. Also the MQTT codes of the core's refusals. Sans-I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/errc.hpp"
#include "core/message.hpp"
#include "ipc/message/record.hpp"
#include "ipc/mqtt/packets.hpp"

namespace ipc::broker {

// The headers of an inbound PUBLISH, in the record's map encoding.
class mqtt_headers {
 public:
  // Fills the map from `p`: its user properties in order, then the attributes its flags
  // and properties carry (ipc-retain, ipc-qos for QoS 1 and 2, ipc-ttl, …). False when
  // there are more than a map holds.
  bool build(const mqtt::publish_packet& p);
  header_map view() const { return {bytes_, count_}; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::uint16_t count_ = 0;
  std::vector<char> scratch_;  // the text of numeric attributes
};

// What a delivered record says in MQTT terms.
struct mqtt_outbound {
  message_record::fields record;
  std::uint8_t qos = 0;  // the publisher's (ipc-qos; 0 when absent)
  bool retain = false;   // ipc-retain: the publisher set the retain flag
  std::optional<std::string_view> content_type;
  std::optional<std::uint8_t> payload_format;
  std::optional<std::span<const std::uint8_t>> correlation;
  std::vector<mqtt::string_pair> user_properties;  // the headers that are not reserved
};

// Reads a record for delivery over MQTT; false when it is damaged.
bool read_outbound(std::span<const std::uint8_t> body, mqtt_outbound& out);

// The PUBLISH for one subscriber (the properties only matter to MQTT 5).
struct mqtt_delivery {
  std::uint8_t qos = 0;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;
  std::uint32_t expiry_s = 0;  // the Message Expiry Interval left; 0 = none
  std::uint32_t subscription_id = 0;
  std::uint16_t topic_alias = 0;  // 0 = none
  bool alias_only = false;        // the alias is known to the client: send no topic name
};
void encode_delivery(std::vector<std::uint8_t>& out, mqtt::version v, const mqtt_outbound& m,
                     const mqtt_delivery& d);

// The MQTT 5 reason code for a core refusal of a publish or subscription.
mqtt::reason reason_of(errc code);
// The MQTT 3.1.1 CONNACK return code (MQTT 3.1.1 §3.2.2.3) for an MQTT 5 reason code.
std::uint8_t connack_v311_code(mqtt::reason code);

}  // namespace ipc::broker
