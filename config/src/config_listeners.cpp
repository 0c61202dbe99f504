// Listener URLs of other protocols than the native one (docs/config.md §1): mqtt:// and
// mqtts:// name a TCP or TLS address with MQTT's registered ports as defaults, http:// and
// https:// one of the monitoring endpoint.
#include <string>

#include "ipc/config/config.hpp"

namespace ipc::config {

namespace {
// The IANA-registered ports of MQTT (MQTT 5 §4.8: 1883, and 8883 over TLS).
constexpr std::string_view mqtt_port = "1883";
constexpr std::string_view mqtts_port = "8883";
// The monitoring endpoint's: beside the native protocol's 7878 (docs/monitoring.md §1).
constexpr std::string_view http_port = "7880";
constexpr std::string_view https_port = "7881";

// Whether the authority part "host", "host:port", "[v6]" or "[v6]:port" has a port.
bool has_port(std::string_view authority) {
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    return close != std::string_view::npos && close + 1 < authority.size();
  }
  return authority.find(':') != std::string_view::npos;
}

std::string with_scheme(std::string_view scheme, std::string_view authority,
                        std::string_view default_port) {
  std::string out(scheme);
  out += "://";
  out += authority;
  if (!authority.empty() && !has_port(authority)) {
    out += ':';
    out += default_port;
  }
  return out;
}
}  // namespace

std::string transport_url_of(std::string_view url) {
  if (url.starts_with("mqtt://")) return with_scheme("tcp", url.substr(7), mqtt_port);
  if (url.starts_with("mqtts://")) return with_scheme("tls", url.substr(8), mqtts_port);
  if (url.starts_with("http://")) return with_scheme("tcp", url.substr(7), http_port);
  if (url.starts_with("https://")) return with_scheme("tls", url.substr(8), https_port);
  return std::string(url);
}

std::optional<listener_protocol> protocol_of_scheme(std::string_view url) {
  if (url.starts_with("mqtt://") || url.starts_with("mqtts://")) return listener_protocol::mqtt;
  if (url.starts_with("http://") || url.starts_with("https://")) return listener_protocol::http;
  return std::nullopt;
}

std::string_view protocol_name(listener_protocol protocol) {
  switch (protocol) {
    case listener_protocol::mqtt: return "mqtt";
    case listener_protocol::http: return "http";
    default: return "native";
  }
}

}  // namespace ipc::config
