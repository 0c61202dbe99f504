// MQTT control packets as values (docs/mqtt.md): the packet types, the reason codes of
// MQTT 5 (also used inside the broker for 3.1.1, which maps them to its return codes),
// the MQTT 5 properties, and one struct per packet. Decoded packets hold views into the
// bytes they were decoded from. Standard library only, sans-I/O (DESIGN rule 1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace ipc::mqtt {

// MQTT 3.1.1 §2.2.1, MQTT 5 §2.1.2.
enum class packet_type : std::uint8_t {
  connect = 1,
  connack = 2,
  publish = 3,
  puback = 4,
  pubrec = 5,
  pubrel = 6,
  pubcomp = 7,
  subscribe = 8,
  suback = 9,
  unsubscribe = 10,
  unsuback = 11,
  pingreq = 12,
  pingresp = 13,
  disconnect = 14,
  auth = 15,  // MQTT 5 only
};
std::string_view packet_type_name(packet_type type) noexcept;

// The protocol level of CONNECT: 3 (MQTT 3.1, "MQIsdp"), 4 (3.1.1), 5.
enum class version : std::uint8_t { v31 = 3, v311 = 4, v5 = 5 };

// MQTT 5 §2.4 reason codes (the subset a broker sends or reads).
enum class reason : std::uint8_t {
  success = 0x00,  // also normal disconnection, granted QoS 0
  granted_qos_1 = 0x01,
  granted_qos_2 = 0x02,
  disconnect_with_will = 0x04,
  no_matching_subscribers = 0x10,
  no_subscription_existed = 0x11,
  unspecified_error = 0x80,
  malformed_packet = 0x81,
  protocol_error = 0x82,
  implementation_specific_error = 0x83,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  bad_user_name_or_password = 0x86,
  not_authorized = 0x87,
  server_unavailable = 0x88,
  server_busy = 0x89,
  banned = 0x8A,
  server_shutting_down = 0x8B,
  bad_authentication_method = 0x8C,
  keep_alive_timeout = 0x8D,
  session_taken_over = 0x8E,
  topic_filter_invalid = 0x8F,
  topic_name_invalid = 0x90,
  packet_identifier_in_use = 0x91,
  packet_identifier_not_found = 0x92,
  receive_maximum_exceeded = 0x93,
  topic_alias_invalid = 0x94,
  packet_too_large = 0x95,
  message_rate_too_high = 0x96,
  quota_exceeded = 0x97,
  administrative_action = 0x98,
  payload_format_invalid = 0x99,
  retain_not_supported = 0x9A,
  qos_not_supported = 0x9B,
  use_another_server = 0x9C,
  server_moved = 0x9D,
  shared_subscriptions_not_supported = 0x9E,
  connection_rate_exceeded = 0x9F,
  maximum_connect_time = 0xA0,
  subscription_identifiers_not_supported = 0xA1,
  wildcard_subscriptions_not_supported = 0xA2,
};
std::string_view reason_name(reason code) noexcept;

// MQTT 5 §2.2.2.2 property identifiers.
enum class property_id : std::uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0B,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1A,
  server_reference = 0x1C,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2A,
};

using string_pair = std::pair<std::string_view, std::string_view>;

// The MQTT 5 properties of one packet. Each field is set only when the property was
// present; which properties a packet may carry is checked when it is decoded.
struct properties {
  std::optional<std::uint8_t> payload_format_indicator;
  std::optional<std::uint32_t> message_expiry_interval;
  std::optional<std::string_view> content_type;
  std::optional<std::string_view> response_topic;
  std::optional<std::span<const std::uint8_t>> correlation_data;
  std::vector<std::uint32_t> subscription_identifiers;  // PUBLISH may carry several
  std::optional<std::uint32_t> session_expiry_interval;
  std::optional<std::string_view> assigned_client_identifier;
  std::optional<std::uint16_t> server_keep_alive;
  std::optional<std::string_view> authentication_method;
  std::optional<std::span<const std::uint8_t>> authentication_data;
  std::optional<std::uint8_t> request_problem_information;
  std::optional<std::uint32_t> will_delay_interval;
  std::optional<std::uint8_t> request_response_information;
  std::optional<std::string_view> response_information;
  std::optional<std::string_view> server_reference;
  std::optional<std::string_view> reason_string;
  std::optional<std::uint16_t> receive_maximum;
  std::optional<std::uint16_t> topic_alias_maximum;
  std::optional<std::uint16_t> topic_alias;
  std::optional<std::uint8_t> maximum_qos;
  std::optional<std::uint8_t> retain_available;
  std::vector<string_pair> user_properties;  // in order, duplicates kept
  std::optional<std::uint32_t> maximum_packet_size;
  std::optional<std::uint8_t> wildcard_subscription_available;
  std::optional<std::uint8_t> subscription_identifier_available;
  std::optional<std::uint8_t> shared_subscription_available;
};

struct will_spec {
  std::string_view topic;
  std::span<const std::uint8_t> payload;
  std::uint8_t qos = 0;
  bool retain = false;
  properties props;  // MQTT 5 will properties (will delay, expiry, content type, …)
};

struct connect_packet {
  version level = version::v311;
  bool clean_start = false;  // 3.1.1: clean session
  std::uint16_t keep_alive = 0;
  std::string_view client_id;
  std::optional<will_spec> will;
  std::optional<std::string_view> user_name;
  std::optional<std::span<const std::uint8_t>> password;
  properties props;
};

struct connack_packet {
  bool session_present = false;
  std::uint8_t code = 0;  // 3.1.1 return code or MQTT 5 reason code
  properties props;
};

struct publish_packet {
  bool dup = false;
  std::uint8_t qos = 0;
  bool retain = false;
  std::string_view topic;  // may be empty in MQTT 5 with a topic alias
  std::uint16_t packet_id = 0;
  properties props;
  std::span<const std::uint8_t> payload;
};

// PUBACK, PUBREC, PUBREL, PUBCOMP.
struct ack_packet {
  packet_type type = packet_type::puback;
  std::uint16_t packet_id = 0;
  reason code = reason::success;
  properties props;
};

struct subscription_request {
  std::string_view filter;
  std::uint8_t max_qos = 0;
  bool no_local = false;             // MQTT 5
  bool retain_as_published = false;  // MQTT 5
  std::uint8_t retain_handling = 0;  // MQTT 5: 0 send, 1 send if new, 2 do not send
};

struct subscribe_packet {
  std::uint16_t packet_id = 0;
  properties props;
  std::vector<subscription_request> requests;
};

// SUBACK and UNSUBACK: one code per filter.
struct subscribe_ack_packet {
  packet_type type = packet_type::suback;
  std::uint16_t packet_id = 0;
  properties props;
  std::vector<std::uint8_t> codes;
};

struct unsubscribe_packet {
  std::uint16_t packet_id = 0;
  properties props;
  std::vector<std::string_view> filters;
};

struct disconnect_packet {
  reason code = reason::success;
  properties props;
};

struct auth_packet {
  reason code = reason::success;
  properties props;
};

}  // namespace ipc::mqtt
