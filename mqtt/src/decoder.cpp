// decode: the variable header and payload of each control packet, checked against the
// layouts of MQTT 3.1.1 §3 and MQTT 5 §3 (flags, lengths, reserved bits, properties).
#include <string_view>

#include "ipc/mqtt/codec.hpp"
#include "wire.hpp"

namespace ipc::mqtt {

using wire::allow;
using wire::byte_cursor;

namespace {

// The fixed flags each packet type must carry (MQTT 5 §2.1.3); PUBLISH has its own.
bool flags_ok(const raw_packet& p) {
  switch (p.type()) {
    case packet_type::pubrel:
    case packet_type::subscribe:
    case packet_type::unsubscribe: return p.flags() == 0x2;
    case packet_type::publish: return true;
    default: return p.flags() == 0;
  }
}

reason finish(const byte_cursor& in) {
  return in.ok() && in.at_end() ? reason::success : reason::malformed_packet;
}

// Reads the property block when `v` is MQTT 5 (before it there is none).
reason props_if_v5(byte_cursor& in, version v, wire::property_set allowed, properties& out) {
  if (v != version::v5) return reason::success;
  return wire::read_properties(in, allowed, out);
}

constexpr auto connect_props =
    allow({property_id::session_expiry_interval, property_id::receive_maximum,
           property_id::maximum_packet_size, property_id::topic_alias_maximum,
           property_id::request_response_information, property_id::request_problem_information,
           property_id::user_property, property_id::authentication_method,
           property_id::authentication_data});
constexpr auto will_props =
    allow({property_id::will_delay_interval, property_id::payload_format_indicator,
           property_id::message_expiry_interval, property_id::content_type,
           property_id::response_topic, property_id::correlation_data, property_id::user_property});
constexpr auto connack_props = allow(
    {property_id::session_expiry_interval, property_id::receive_maximum, property_id::maximum_qos,
     property_id::retain_available, property_id::maximum_packet_size,
     property_id::assigned_client_identifier, property_id::topic_alias_maximum,
     property_id::reason_string, property_id::user_property,
     property_id::wildcard_subscription_available, property_id::subscription_identifier_available,
     property_id::shared_subscription_available, property_id::server_keep_alive,
     property_id::response_information, property_id::server_reference,
     property_id::authentication_method, property_id::authentication_data});
constexpr auto publish_props = allow(
    {property_id::payload_format_indicator, property_id::message_expiry_interval,
     property_id::topic_alias, property_id::response_topic, property_id::correlation_data,
     property_id::user_property, property_id::subscription_identifier, property_id::content_type});
constexpr auto ack_props = allow({property_id::reason_string, property_id::user_property});
constexpr auto subscribe_props =
    allow({property_id::subscription_identifier, property_id::user_property});
constexpr auto unsubscribe_props = allow({property_id::user_property});
constexpr auto disconnect_props =
    allow({property_id::session_expiry_interval, property_id::reason_string,
           property_id::user_property, property_id::server_reference});
constexpr auto auth_props =
    allow({property_id::authentication_method, property_id::authentication_data,
           property_id::reason_string, property_id::user_property});

}  // namespace

reason decode_connect(const raw_packet& packet, connect_packet& out) {
  out = {};
  if (packet.type() != packet_type::connect || !flags_ok(packet)) return reason::malformed_packet;
  byte_cursor in(packet.body);
  std::string_view name;
  if (!wire::read_string(in, name)) return reason::malformed_packet;
  auto level = in.u8();
  if (!in.ok()) return reason::malformed_packet;
  if (!((name == "MQTT" && (level == 4 || level == 5)) || (name == "MQIsdp" && level == 3)))
    return reason::unsupported_protocol_version;
  out.level = static_cast<version>(level);
  auto flags = in.u8();
  out.keep_alive = in.u16();
  if (!in.ok() || (flags & 0x01) != 0) return reason::malformed_packet;  // reserved bit
  out.clean_start = (flags & 0x02) != 0;
  bool will = (flags & 0x04) != 0;
  auto will_qos = static_cast<std::uint8_t>((flags >> 3) & 0x03);
  bool will_retain = (flags & 0x20) != 0;
  bool has_password = (flags & 0x40) != 0, has_user = (flags & 0x80) != 0;
  if (will_qos == 3 || (!will && (will_qos != 0 || will_retain))) return reason::malformed_packet;
  if (out.level != version::v5 && has_password && !has_user) return reason::malformed_packet;
  if (auto r = props_if_v5(in, out.level, connect_props, out.props); r != reason::success) return r;
  if (!wire::read_string(in, out.client_id)) return reason::malformed_packet;
  if (will) {
    will_spec w;
    w.qos = will_qos;
    w.retain = will_retain;
    if (auto r = props_if_v5(in, out.level, will_props, w.props); r != reason::success) return r;
    if (!wire::read_string(in, w.topic) || !wire::read_binary(in, w.payload))
      return reason::malformed_packet;
    out.will = w;
  }
  if (has_user) {
    std::string_view user;
    if (!wire::read_string(in, user)) return reason::malformed_packet;
    out.user_name = user;
  }
  if (has_password) {
    std::span<const std::uint8_t> password;
    if (!wire::read_binary(in, password)) return reason::malformed_packet;
    out.password = password;
  }
  return finish(in);
}

reason decode(const raw_packet& packet, version v, connack_packet& out) {
  out = {};
  if (packet.type() != packet_type::connack || !flags_ok(packet)) return reason::malformed_packet;
  byte_cursor in(packet.body);
  auto ack_flags = in.u8();
  out.code = in.u8();
  if (!in.ok() || (ack_flags & 0xFE) != 0) return reason::malformed_packet;
  out.session_present = (ack_flags & 0x01) != 0;
  if (auto r = props_if_v5(in, v, connack_props, out.props); r != reason::success) return r;
  return finish(in);
}

reason decode(const raw_packet& packet, version v, publish_packet& out) {
  out = {};
  if (packet.type() != packet_type::publish) return reason::malformed_packet;
  out.dup = (packet.flags() & 0x08) != 0;
  out.qos = static_cast<std::uint8_t>((packet.flags() >> 1) & 0x03);
  out.retain = (packet.flags() & 0x01) != 0;
  if (out.qos == 3 || (out.qos == 0 && out.dup)) return reason::malformed_packet;
  byte_cursor in(packet.body);
  if (!wire::read_string(in, out.topic)) return reason::malformed_packet;
  if (out.qos > 0) {
    out.packet_id = in.u16();
    if (!in.ok()) return reason::malformed_packet;
    if (out.packet_id == 0) return reason::protocol_error;
  }
  if (auto r = props_if_v5(in, v, publish_props, out.props); r != reason::success) return r;
  if (!in.ok()) return reason::malformed_packet;
  if (v != version::v5 && out.topic.empty()) return reason::malformed_packet;
  out.payload = packet.body.subspan(in.offset());
  return reason::success;
}

reason decode(const raw_packet& packet, version v, ack_packet& out) {
  out = {};
  auto type = packet.type();
  if (type != packet_type::puback && type != packet_type::pubrec && type != packet_type::pubrel &&
      type != packet_type::pubcomp)
    return reason::malformed_packet;
  if (!flags_ok(packet)) return reason::malformed_packet;
  out.type = type;
  byte_cursor in(packet.body);
  out.packet_id = in.u16();
  if (!in.ok()) return reason::malformed_packet;
  if (out.packet_id == 0) return reason::protocol_error;
  if (v == version::v5 && !in.at_end()) {  // a reason code, then maybe properties
    out.code = static_cast<reason>(in.u8());
    if (in.ok() && !in.at_end())
      if (auto r = wire::read_properties(in, ack_props, out.props); r != reason::success) return r;
  }
  return finish(in);
}

reason decode(const raw_packet& packet, version v, subscribe_packet& out) {
  out = {};
  if (packet.type() != packet_type::subscribe || !flags_ok(packet)) return reason::malformed_packet;
  byte_cursor in(packet.body);
  out.packet_id = in.u16();
  if (!in.ok()) return reason::malformed_packet;
  if (out.packet_id == 0) return reason::protocol_error;
  if (auto r = props_if_v5(in, v, subscribe_props, out.props); r != reason::success) return r;
  if (out.props.subscription_identifiers.size() > 1) return reason::protocol_error;
  while (in.ok() && !in.at_end()) {
    subscription_request request;
    if (!wire::read_string(in, request.filter)) return reason::malformed_packet;
    auto options = in.u8();
    if (!in.ok()) return reason::malformed_packet;
    request.max_qos = options & 0x03;
    if (v == version::v5) {
      request.no_local = (options & 0x04) != 0;
      request.retain_as_published = (options & 0x08) != 0;
      request.retain_handling = static_cast<std::uint8_t>((options >> 4) & 0x03);
      if ((options & 0xC0) != 0 || request.retain_handling == 3) return reason::malformed_packet;
    } else if ((options & 0xFC) != 0) {
      return reason::malformed_packet;
    }
    if (request.max_qos == 3) return reason::malformed_packet;
    out.requests.push_back(request);
  }
  if (!in.ok()) return reason::malformed_packet;
  return out.requests.empty() ? reason::protocol_error : reason::success;  // at least one
}

reason decode(const raw_packet& packet, version v, subscribe_ack_packet& out) {
  out = {};
  auto type = packet.type();
  if ((type != packet_type::suback && type != packet_type::unsuback) || !flags_ok(packet))
    return reason::malformed_packet;
  out.type = type;
  byte_cursor in(packet.body);
  out.packet_id = in.u16();
  if (!in.ok()) return reason::malformed_packet;
  if (auto r = props_if_v5(in, v, ack_props, out.props); r != reason::success) return r;
  auto codes = packet.body.subspan(in.offset());
  out.codes.assign(codes.begin(), codes.end());  // 3.1.1 UNSUBACK has none
  return reason::success;
}

reason decode(const raw_packet& packet, version v, unsubscribe_packet& out) {
  out = {};
  if (packet.type() != packet_type::unsubscribe || !flags_ok(packet))
    return reason::malformed_packet;
  byte_cursor in(packet.body);
  out.packet_id = in.u16();
  if (!in.ok()) return reason::malformed_packet;
  if (out.packet_id == 0) return reason::protocol_error;
  if (auto r = props_if_v5(in, v, unsubscribe_props, out.props); r != reason::success) return r;
  while (in.ok() && !in.at_end()) {
    std::string_view filter;
    if (!wire::read_string(in, filter)) return reason::malformed_packet;
    out.filters.push_back(filter);
  }
  if (!in.ok()) return reason::malformed_packet;
  return out.filters.empty() ? reason::protocol_error : reason::success;
}

reason decode(const raw_packet& packet, version v, disconnect_packet& out) {
  out = {};
  if (packet.type() != packet_type::disconnect || !flags_ok(packet))
    return reason::malformed_packet;
  byte_cursor in(packet.body);
  if (v == version::v5 && !in.at_end()) {
    out.code = static_cast<reason>(in.u8());
    if (in.ok() && !in.at_end())
      if (auto r = wire::read_properties(in, disconnect_props, out.props); r != reason::success)
        return r;
  }
  return finish(in);
}

reason decode(const raw_packet& packet, version v, auth_packet& out) {
  out = {};
  if (v != version::v5 || packet.type() != packet_type::auth || !flags_ok(packet))
    return reason::malformed_packet;
  byte_cursor in(packet.body);
  if (!in.at_end()) {
    out.code = static_cast<reason>(in.u8());
    if (in.ok() && !in.at_end())
      if (auto r = wire::read_properties(in, auth_props, out.props); r != reason::success) return r;
  }
  return finish(in);
}

reason decode_empty(const raw_packet& packet) {
  if (!flags_ok(packet) || !packet.body.empty()) return reason::malformed_packet;
  return reason::success;
}

}  // namespace ipc::mqtt
