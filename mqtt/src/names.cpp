// Names of packet types and reason codes, for logs and test messages.
#include "ipc/mqtt/packets.hpp"

namespace ipc::mqtt {

std::string_view packet_type_name(packet_type type) noexcept {
  switch (type) {
    case packet_type::connect: return "CONNECT";
    case packet_type::connack: return "CONNACK";
    case packet_type::publish: return "PUBLISH";
    case packet_type::puback: return "PUBACK";
    case packet_type::pubrec: return "PUBREC";
    case packet_type::pubrel: return "PUBREL";
    case packet_type::pubcomp: return "PUBCOMP";
    case packet_type::subscribe: return "SUBSCRIBE";
    case packet_type::suback: return "SUBACK";
    case packet_type::unsubscribe: return "UNSUBSCRIBE";
    case packet_type::unsuback: return "UNSUBACK";
    case packet_type::pingreq: return "PINGREQ";
    case packet_type::pingresp: return "PINGRESP";
    case packet_type::disconnect: return "DISCONNECT";
    case packet_type::auth: return "AUTH";
  }
  return "?";
}

std::string_view reason_name(reason code) noexcept {
  switch (code) {
    case reason::success: return "success";
    case reason::granted_qos_1: return "granted QoS 1";
    case reason::granted_qos_2: return "granted QoS 2";
    case reason::disconnect_with_will: return "disconnect with will message";
    case reason::no_matching_subscribers: return "no matching subscribers";
    case reason::no_subscription_existed: return "no subscription existed";
    case reason::unspecified_error: return "unspecified error";
    case reason::malformed_packet: return "malformed packet";
    case reason::protocol_error: return "protocol error";
    case reason::implementation_specific_error: return "implementation specific error";
    case reason::unsupported_protocol_version: return "unsupported protocol version";
    case reason::client_identifier_not_valid: return "client identifier not valid";
    case reason::bad_user_name_or_password: return "bad user name or password";
    case reason::not_authorized: return "not authorized";
    case reason::server_unavailable: return "server unavailable";
    case reason::server_busy: return "server busy";
    case reason::banned: return "banned";
    case reason::server_shutting_down: return "server shutting down";
    case reason::bad_authentication_method: return "bad authentication method";
    case reason::keep_alive_timeout: return "keep alive timeout";
    case reason::session_taken_over: return "session taken over";
    case reason::topic_filter_invalid: return "topic filter invalid";
    case reason::topic_name_invalid: return "topic name invalid";
    case reason::packet_identifier_in_use: return "packet identifier in use";
    case reason::packet_identifier_not_found: return "packet identifier not found";
    case reason::receive_maximum_exceeded: return "receive maximum exceeded";
    case reason::topic_alias_invalid: return "topic alias invalid";
    case reason::packet_too_large: return "packet too large";
    case reason::message_rate_too_high: return "message rate too high";
    case reason::quota_exceeded: return "quota exceeded";
    case reason::administrative_action: return "administrative action";
    case reason::payload_format_invalid: return "payload format invalid";
    case reason::retain_not_supported: return "retain not supported";
    case reason::qos_not_supported: return "QoS not supported";
    case reason::use_another_server: return "use another server";
    case reason::server_moved: return "server moved";
    case reason::shared_subscriptions_not_supported: return "shared subscriptions not supported";
    case reason::connection_rate_exceeded: return "connection rate exceeded";
    case reason::maximum_connect_time: return "maximum connect time";
    case reason::subscription_identifiers_not_supported:
      return "subscription identifiers not supported";
    case reason::wildcard_subscriptions_not_supported:
      return "wildcard subscriptions not supported";
  }
  return "unknown reason code";
}

}  // namespace ipc::mqtt
