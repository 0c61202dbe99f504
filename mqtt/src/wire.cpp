// wire: variable byte integers, strings, binary data and property blocks, read and written.
#include "wire.hpp"

#include "ipc/mqtt/packet_reader.hpp"
#include "ipc/routing/topic.hpp"

namespace ipc::mqtt {

bool valid_mqtt_string(std::string_view text) {
  return text.find('\0') == std::string_view::npos && routing::valid_utf8(text);
}

namespace wire {

bool read_varint(byte_cursor& in, std::uint32_t& out) {
  out = 0;
  for (unsigned i = 0; i < 4; ++i) {
    std::uint8_t byte = in.u8();
    if (!in.ok()) return false;
    out |= static_cast<std::uint32_t>(byte & 0x7F) << (7 * i);
    if ((byte & 0x80) == 0) return i == 0 || byte != 0;  // the shortest form only
  }
  return false;  // a fifth byte would be needed
}

bool read_string(byte_cursor& in, std::string_view& out) {
  out = in.str16();
  return in.ok() && valid_mqtt_string(out);
}

bool read_binary(byte_cursor& in, std::span<const std::uint8_t>& out) {
  out = in.bytes(in.u16());
  return in.ok();
}

namespace {

template <typename T>
bool set_once(std::optional<T>& field, T value) {
  if (field) return false;
  field = value;
  return true;
}

}  // namespace

reason read_properties(byte_cursor& in, property_set allowed, properties& out) {
  std::uint32_t length = 0;
  if (!read_varint(in, length)) return reason::malformed_packet;
  auto block = in.bytes(length);
  if (!in.ok()) return reason::malformed_packet;
  byte_cursor p(block);
  bool once = true;  // false once a property came twice
  while (p.ok() && !p.at_end()) {
    std::uint32_t raw_id = 0;
    if (!read_varint(p, raw_id) || raw_id >= 64 || ((allowed >> raw_id) & 1) == 0)
      return reason::malformed_packet;  // unknown, or not allowed in this packet
    auto id = static_cast<property_id>(raw_id);
    std::string_view text;
    std::span<const std::uint8_t> binary;
    std::uint32_t number = 0;
    switch (id) {
      case property_id::payload_format_indicator:
        once &= set_once(out.payload_format_indicator, p.u8());
        if (*out.payload_format_indicator > 1) return reason::protocol_error;
        break;
      case property_id::message_expiry_interval:
        once &= set_once(out.message_expiry_interval, p.u32());
        break;
      case property_id::content_type:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.content_type, text);
        break;
      case property_id::response_topic:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.response_topic, text);
        break;
      case property_id::correlation_data:
        if (!read_binary(p, binary)) return reason::malformed_packet;
        once &= set_once(out.correlation_data, binary);
        break;
      case property_id::subscription_identifier:
        if (!read_varint(p, number)) return reason::malformed_packet;
        if (number == 0) return reason::protocol_error;
        out.subscription_identifiers.push_back(number);
        break;
      case property_id::session_expiry_interval:
        once &= set_once(out.session_expiry_interval, p.u32());
        break;
      case property_id::assigned_client_identifier:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.assigned_client_identifier, text);
        break;
      case property_id::server_keep_alive: once &= set_once(out.server_keep_alive, p.u16()); break;
      case property_id::authentication_method:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.authentication_method, text);
        break;
      case property_id::authentication_data:
        if (!read_binary(p, binary)) return reason::malformed_packet;
        once &= set_once(out.authentication_data, binary);
        break;
      case property_id::request_problem_information:
        once &= set_once(out.request_problem_information, p.u8());
        if (*out.request_problem_information > 1) return reason::protocol_error;
        break;
      case property_id::will_delay_interval:
        once &= set_once(out.will_delay_interval, p.u32());
        break;
      case property_id::request_response_information:
        once &= set_once(out.request_response_information, p.u8());
        if (*out.request_response_information > 1) return reason::protocol_error;
        break;
      case property_id::response_information:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.response_information, text);
        break;
      case property_id::server_reference:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.server_reference, text);
        break;
      case property_id::reason_string:
        if (!read_string(p, text)) return reason::malformed_packet;
        once &= set_once(out.reason_string, text);
        break;
      case property_id::receive_maximum:
        once &= set_once(out.receive_maximum, p.u16());
        if (*out.receive_maximum == 0) return reason::protocol_error;
        break;
      case property_id::topic_alias_maximum:
        once &= set_once(out.topic_alias_maximum, p.u16());
        break;
      case property_id::topic_alias:
        once &= set_once(out.topic_alias, p.u16());
        if (*out.topic_alias == 0) return reason::topic_alias_invalid;  // MQTT 5 §3.3.2.3.4
        break;
      case property_id::maximum_qos:
        once &= set_once(out.maximum_qos, p.u8());
        if (*out.maximum_qos > 1) return reason::protocol_error;
        break;
      case property_id::retain_available:
        once &= set_once(out.retain_available, p.u8());
        if (*out.retain_available > 1) return reason::protocol_error;
        break;
      case property_id::user_property: {
        std::string_view key, value;
        if (!read_string(p, key) || !read_string(p, value)) return reason::malformed_packet;
        out.user_properties.emplace_back(key, value);
        break;
      }
      case property_id::maximum_packet_size:
        once &= set_once(out.maximum_packet_size, p.u32());
        if (*out.maximum_packet_size == 0) return reason::protocol_error;
        break;
      case property_id::wildcard_subscription_available:
        once &= set_once(out.wildcard_subscription_available, p.u8());
        break;
      case property_id::subscription_identifier_available:
        once &= set_once(out.subscription_identifier_available, p.u8());
        break;
      case property_id::shared_subscription_available:
        once &= set_once(out.shared_subscription_available, p.u8());
        break;
      default: return reason::malformed_packet;
    }
    if (!p.ok()) return reason::malformed_packet;
  }
  if (!p.ok()) return reason::malformed_packet;
  return once ? reason::success : reason::protocol_error;
}

void put_u16(byte_buffer& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_u32(byte_buffer& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

void put_string(byte_buffer& out, std::string_view s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void put_binary(byte_buffer& out, std::span<const std::uint8_t> b) {
  put_u16(out, static_cast<std::uint16_t>(b.size()));
  out.insert(out.end(), b.begin(), b.end());
}

void put_properties(byte_buffer& out, const properties& p) {
  byte_buffer block;
  auto id = [&](property_id i) { block.push_back(static_cast<std::uint8_t>(i)); };
  auto byte = [&](property_id i, const std::optional<std::uint8_t>& v) {
    if (v) id(i), block.push_back(*v);
  };
  auto two = [&](property_id i, const std::optional<std::uint16_t>& v) {
    if (v) id(i), put_u16(block, *v);
  };
  auto four = [&](property_id i, const std::optional<std::uint32_t>& v) {
    if (v) id(i), put_u32(block, *v);
  };
  auto text = [&](property_id i, const std::optional<std::string_view>& v) {
    if (v) id(i), put_string(block, *v);
  };
  auto binary = [&](property_id i, const std::optional<std::span<const std::uint8_t>>& v) {
    if (v) id(i), put_binary(block, *v);
  };
  byte(property_id::payload_format_indicator, p.payload_format_indicator);
  four(property_id::message_expiry_interval, p.message_expiry_interval);
  text(property_id::content_type, p.content_type);
  text(property_id::response_topic, p.response_topic);
  binary(property_id::correlation_data, p.correlation_data);
  for (auto sid : p.subscription_identifiers) {
    id(property_id::subscription_identifier);
    put_varint(block, sid);
  }
  four(property_id::session_expiry_interval, p.session_expiry_interval);
  text(property_id::assigned_client_identifier, p.assigned_client_identifier);
  two(property_id::server_keep_alive, p.server_keep_alive);
  text(property_id::authentication_method, p.authentication_method);
  binary(property_id::authentication_data, p.authentication_data);
  byte(property_id::request_problem_information, p.request_problem_information);
  four(property_id::will_delay_interval, p.will_delay_interval);
  byte(property_id::request_response_information, p.request_response_information);
  text(property_id::response_information, p.response_information);
  text(property_id::server_reference, p.server_reference);
  text(property_id::reason_string, p.reason_string);
  two(property_id::receive_maximum, p.receive_maximum);
  two(property_id::topic_alias_maximum, p.topic_alias_maximum);
  two(property_id::topic_alias, p.topic_alias);
  byte(property_id::maximum_qos, p.maximum_qos);
  byte(property_id::retain_available, p.retain_available);
  for (const auto& [key, value] : p.user_properties) {
    id(property_id::user_property);
    put_string(block, key);
    put_string(block, value);
  }
  four(property_id::maximum_packet_size, p.maximum_packet_size);
  byte(property_id::wildcard_subscription_available, p.wildcard_subscription_available);
  byte(property_id::subscription_identifier_available, p.subscription_identifier_available);
  byte(property_id::shared_subscription_available, p.shared_subscription_available);
  put_varint(out, static_cast<std::uint32_t>(block.size()));
  out.insert(out.end(), block.begin(), block.end());
}

void put_packet(byte_buffer& out, std::uint8_t type_byte, const byte_buffer& body) {
  out.push_back(type_byte);
  put_varint(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace wire
}  // namespace ipc::mqtt
