// encode: each control packet's fixed header, variable header and payload; properties
// for MQTT 5 only. The packet's fields are trusted (the broker builds them).
#include "ipc/mqtt/codec.hpp"
#include "wire.hpp"

namespace ipc::mqtt {

using wire::put_binary;
using wire::put_string;
using wire::put_u16;

namespace {

std::uint8_t type_byte(packet_type type, std::uint8_t flags = 0) {
  return static_cast<std::uint8_t>(static_cast<std::uint8_t>(type) << 4 | flags);
}

void props_if_v5(byte_buffer& body, version v, const properties& p) {
  if (v == version::v5) wire::put_properties(body, p);
}

}  // namespace

void encode(byte_buffer& out, version v, const connect_packet& p) {
  byte_buffer body;
  put_string(body, v == version::v31 ? "MQIsdp" : "MQTT");
  body.push_back(static_cast<std::uint8_t>(v));
  std::uint8_t flags = p.clean_start ? 0x02 : 0;
  if (p.will) {
    flags |= 0x04 | static_cast<std::uint8_t>(p.will->qos << 3);
    if (p.will->retain) flags |= 0x20;
  }
  if (p.password) flags |= 0x40;
  if (p.user_name) flags |= 0x80;
  body.push_back(flags);
  put_u16(body, p.keep_alive);
  props_if_v5(body, v, p.props);
  put_string(body, p.client_id);
  if (p.will) {
    props_if_v5(body, v, p.will->props);
    put_string(body, p.will->topic);
    put_binary(body, p.will->payload);
  }
  if (p.user_name) put_string(body, *p.user_name);
  if (p.password) put_binary(body, *p.password);
  wire::put_packet(out, type_byte(packet_type::connect), body);
}

void encode(byte_buffer& out, version v, const connack_packet& p) {
  byte_buffer body;
  body.push_back(p.session_present ? 1 : 0);
  body.push_back(p.code);
  props_if_v5(body, v, p.props);
  wire::put_packet(out, type_byte(packet_type::connack), body);
}

void encode(byte_buffer& out, version v, const publish_packet& p) {
  // The hot path of every delivery: written straight into `out`, with only the
  // properties (MQTT 5) built aside, since their length goes before them.
  byte_buffer props;
  if (v == version::v5) wire::put_properties(props, p.props);
  std::size_t remaining =
      2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + props.size() + p.payload.size();
  auto flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | p.qos << 1 | (p.retain ? 1 : 0));
  out.reserve(out.size() + 5 + remaining);
  out.push_back(type_byte(packet_type::publish, flags));
  put_varint(out, static_cast<std::uint32_t>(remaining));
  put_string(out, p.topic);
  if (p.qos > 0) put_u16(out, p.packet_id);
  out.insert(out.end(), props.begin(), props.end());
  out.insert(out.end(), p.payload.begin(), p.payload.end());
}

void encode(byte_buffer& out, version v, const ack_packet& p) {
  byte_buffer body;
  put_u16(body, p.packet_id);
  bool has_props = !p.props.user_properties.empty() || p.props.reason_string.has_value();
  if (v == version::v5 && (p.code != reason::success || has_props)) {
    body.push_back(static_cast<std::uint8_t>(p.code));
    if (has_props) wire::put_properties(body, p.props);
  }
  wire::put_packet(out, type_byte(p.type, p.type == packet_type::pubrel ? 0x2 : 0), body);
}

void encode(byte_buffer& out, version v, const subscribe_packet& p) {
  byte_buffer body;
  put_u16(body, p.packet_id);
  props_if_v5(body, v, p.props);
  for (const auto& r : p.requests) {
    put_string(body, r.filter);
    std::uint8_t options = r.max_qos;
    if (v == version::v5)
      options |= static_cast<std::uint8_t>(
          (r.no_local ? 0x04 : 0) | (r.retain_as_published ? 0x08 : 0) | r.retain_handling << 4);
    body.push_back(options);
  }
  wire::put_packet(out, type_byte(packet_type::subscribe, 0x2), body);
}

void encode(byte_buffer& out, version v, const subscribe_ack_packet& p) {
  byte_buffer body;
  put_u16(body, p.packet_id);
  props_if_v5(body, v, p.props);
  // A 3.1.1 UNSUBACK is the packet id alone.
  if (p.type == packet_type::suback || v == version::v5)
    body.insert(body.end(), p.codes.begin(), p.codes.end());
  wire::put_packet(out, type_byte(p.type), body);
}

void encode(byte_buffer& out, version v, const unsubscribe_packet& p) {
  byte_buffer body;
  put_u16(body, p.packet_id);
  props_if_v5(body, v, p.props);
  for (auto filter : p.filters) put_string(body, filter);
  wire::put_packet(out, type_byte(packet_type::unsubscribe, 0x2), body);
}

void encode(byte_buffer& out, version v, const disconnect_packet& p) {
  byte_buffer body;
  if (v == version::v5) {
    body.push_back(static_cast<std::uint8_t>(p.code));
    wire::put_properties(body, p.props);
  }
  wire::put_packet(out, type_byte(packet_type::disconnect), body);
}

void encode(byte_buffer& out, version v, const auth_packet& p) {
  byte_buffer body;
  body.push_back(static_cast<std::uint8_t>(p.code));
  props_if_v5(body, v, p.props);
  wire::put_packet(out, type_byte(packet_type::auth), body);
}

void encode_empty(byte_buffer& out, packet_type type) {
  out.push_back(type_byte(type));
  out.push_back(0);
}

}  // namespace ipc::mqtt
