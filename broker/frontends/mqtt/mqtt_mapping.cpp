// mqtt_mapping: PUBLISH properties to record headers and back, refusals to reason codes.
#include "frontends/mqtt/mqtt_mapping.hpp"

#include <string>

#include "ipc/message/attributes.hpp"
#include "ipc/message/bytes.hpp"
#include "ipc/mqtt/codec.hpp"

namespace ipc::broker {

namespace attribute = message_record::attribute;

namespace {
std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
}  // namespace

bool mqtt_headers::build(const mqtt::publish_packet& p) {
  bytes_.clear();
  count_ = 0;
  std::size_t count = 0;
  message_record::put_u16(bytes_, 0);
  auto add = [&](std::string_view key, std::string_view value) {
    message_record::put_str16(bytes_, key);
    message_record::put_str16(bytes_, value);
    ++count;
  };
  for (const auto& [key, value] : p.props.user_properties) add(key, value);
  if (p.retain) add(attribute::retain, "1");
  if (p.qos != 0) add(attribute::qos, p.qos == 1 ? "1" : "2");
  if (p.props.message_expiry_interval && *p.props.message_expiry_interval != 0) {
    // Seconds to milliseconds, capped at the longest ipc-ttl (a year).
    std::uint64_t ms = std::uint64_t{*p.props.message_expiry_interval} * 1000;
    if (ms > message_record::max_ttl_ms) ms = message_record::max_ttl_ms;
    auto text = std::to_string(ms);
    scratch_.assign(text.begin(), text.end());
    add(attribute::ttl, {scratch_.data(), scratch_.size()});
  }
  if (p.props.content_type) add(attribute::content_type, *p.props.content_type);
  if (p.props.payload_format_indicator)
    add(attribute::payload_format, *p.props.payload_format_indicator != 0 ? "1" : "0");
  if (p.props.correlation_data) add(attribute::correlation, as_text(*p.props.correlation_data));
  if (count > 0xffff) return false;
  count_ = static_cast<std::uint16_t>(count);
  bytes_[0] = static_cast<std::uint8_t>(count_ >> 8);
  bytes_[1] = static_cast<std::uint8_t>(count_ & 0xff);
  return true;
}

bool read_outbound(std::span<const std::uint8_t> body, mqtt_outbound& out) {
  out.qos = 0;
  out.retain = false;
  out.content_type.reset();
  out.payload_format.reset();
  out.correlation.reset();
  out.user_properties.clear();
  if (!message_record::decode_record(body, out.record)) return false;
  for (auto entry : out.record.headers) {
    if (!message_record::is_reserved(entry.key)) {
      out.user_properties.emplace_back(entry.key, entry.value);
      continue;
    }
    using message_record::is_key;
    if (is_key(entry.key, attribute::qos)) {
      if (entry.value == "1" || entry.value == "2")
        out.qos = static_cast<std::uint8_t>(entry.value[0] - '0');
    } else if (is_key(entry.key, attribute::retain)) {
      out.retain = entry.value == "1" || entry.value == "true";
    } else if (is_key(entry.key, attribute::content_type)) {
      out.content_type = entry.value;
    } else if (is_key(entry.key, attribute::payload_format)) {
      out.payload_format = entry.value == "1" ? 1 : 0;
    } else if (is_key(entry.key, attribute::correlation)) {
      out.correlation = as_bytes(entry.value);
    }
    // The others (ipc-ttl, ipc-priority, ipc-retained, ipc-death-…) have no MQTT property:
    // expiry goes as the time left, retained as the retain flag.
  }
  return true;
}

void encode_delivery(std::vector<std::uint8_t>& out, mqtt::version v, const mqtt_outbound& m,
                     const mqtt_delivery& d) {
  mqtt::publish_packet p;
  p.dup = d.dup;
  p.qos = d.qos;
  p.retain = d.retain;
  p.topic = d.alias_only ? std::string_view{} : m.record.topic;
  p.packet_id = d.packet_id;
  p.payload = m.record.payload;
  if (v == mqtt::version::v5) {
    if (d.expiry_s != 0) p.props.message_expiry_interval = d.expiry_s;
    if (d.subscription_id != 0) p.props.subscription_identifiers.push_back(d.subscription_id);
    if (d.topic_alias != 0) p.props.topic_alias = d.topic_alias;
    if (!m.record.reply_to.empty()) p.props.response_topic = m.record.reply_to;
    p.props.content_type = m.content_type;
    p.props.payload_format_indicator = m.payload_format;
    p.props.correlation_data = m.correlation;
    p.props.user_properties = m.user_properties;
  }
  mqtt::encode(out, v, p);
}

mqtt::reason reason_of(errc code) {
  using mqtt::reason;
  switch (code) {
    case errc::ok: return reason::success;
    case errc::permission_denied:
    case errc::auth_failed: return reason::not_authorized;
    case errc::invalid_topic: return reason::topic_name_invalid;
    case errc::invalid_pattern: return reason::topic_filter_invalid;
    case errc::payload_too_large: return reason::packet_too_large;
    case errc::headers_too_large:
    case errc::queue_full:
    case errc::limit_exceeded:
    case errc::memory_alarm: return reason::quota_exceeded;
    case errc::shutting_down: return reason::server_shutting_down;
    case errc::connection_killed: return reason::administrative_action;
    case errc::invalid_argument: return reason::implementation_specific_error;
    default: return reason::unspecified_error;
  }
}

std::uint8_t connack_v311_code(mqtt::reason code) {
  // MQTT 3.1.1 §3.2.2.3: 1 unacceptable protocol version, 2 identifier rejected, 3 server
  // unavailable, 4 bad user name or password, 5 not authorized.
  using mqtt::reason;
  switch (code) {
    case reason::success: return 0;
    case reason::unsupported_protocol_version: return 1;
    case reason::client_identifier_not_valid: return 2;
    case reason::bad_user_name_or_password: return 4;
    case reason::not_authorized:
    case reason::banned: return 5;
    default: return 3;
  }
}

}  // namespace ipc::broker
