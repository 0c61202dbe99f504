// mqtt_test_client: packets over raw_client's socket, read with the codec's reader.
#include "mqtt_test_client.hpp"

#include <cstring>

namespace ipc::test {

using mqtt::packet_type;
using mqtt::reason;

namespace {
std::string text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

mqtt_test_client::mqtt_test_client(const std::string& url, mqtt::version v)
    : socket_(url), version_(v) {}

std::optional<mqtt::connack_packet> mqtt_test_client::connect(mqtt::connect_packet c) {
  c.level = version_;
  send(c);
  auto packet = next_of(packet_type::connack);
  if (!packet) return std::nullopt;
  mqtt::connack_packet ack;
  if (mqtt::decode(packet->view(), version_, ack) != reason::success) return std::nullopt;
  ack.props = {};  // views into `packet`, gone with it
  return ack;
}

bool mqtt_test_client::connect(std::string_view client_id) {
  mqtt::connect_packet c;
  c.client_id = client_id;
  c.clean_start = true;
  c.keep_alive = 60;
  auto ack = connect(c);
  return ack && ack->code == 0;
}

std::optional<std::uint8_t> mqtt_test_client::subscribe(std::string_view filter, std::uint8_t qos,
                                                        std::uint16_t packet_id) {
  mqtt::subscribe_packet s;
  s.packet_id = packet_id;
  s.requests.push_back({filter, qos});
  send(s);
  auto packet = next_of(packet_type::suback);
  if (!packet) return std::nullopt;
  mqtt::subscribe_ack_packet ack;
  if (mqtt::decode(packet->view(), version_, ack) != reason::success || ack.codes.size() != 1)
    return std::nullopt;
  return ack.codes[0];
}

std::optional<reason> mqtt_test_client::publish(std::string_view topic, std::string_view payload,
                                                std::uint8_t qos, bool retain,
                                                std::uint16_t packet_id) {
  mqtt::publish_packet p;
  p.topic = topic;
  p.payload = bytes_of(payload);
  p.qos = qos;
  p.retain = retain;
  p.packet_id = qos == 0 ? 0 : packet_id;
  send(p);
  if (qos == 0) return reason::success;
  auto packet = next_of(qos == 1 ? packet_type::puback : packet_type::pubrec);
  if (!packet) return std::nullopt;
  mqtt::ack_packet ack;
  if (mqtt::decode(packet->view(), version_, ack) != reason::success) return std::nullopt;
  if (qos == 1 || static_cast<std::uint8_t>(ack.code) >= 0x80) return ack.code;
  mqtt::ack_packet release;
  release.type = packet_type::pubrel;
  release.packet_id = packet_id;
  send(release);
  auto complete = next_of(packet_type::pubcomp);
  if (!complete) return std::nullopt;
  return ack.code;
}

std::optional<mqtt_received> mqtt_test_client::next(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    mqtt::raw_packet packet;
    reason error{};
    auto status = reader_.next(packet, error);
    if (status == mqtt::read_status::packet)
      return mqtt_received{packet.type_byte, {packet.body.begin(), packet.body.end()}};
    if (status == mqtt::read_status::error || socket_.peer_closed()) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto data = socket_.receive(left);
    if (data.empty()) continue;
    auto space = reader_.prepare();
    while (space.size() < data.size()) {  // the reader offers its read size at most
      std::memcpy(space.data(), data.data(), space.size());
      reader_.commit(space.size());
      data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(space.size()));
      space = reader_.prepare();
    }
    std::memcpy(space.data(), data.data(), data.size());
    reader_.commit(data.size());
  }
}

std::optional<mqtt_received> mqtt_test_client::next_of(packet_type type,
                                                       std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto packet = next(left);
    if (!packet || packet->type() == type) return packet;
  }
}

std::optional<mqtt_message> mqtt_test_client::next_message(std::chrono::milliseconds limit,
                                                           bool ack) {
  auto packet = next_of(packet_type::publish, limit);
  if (!packet) return std::nullopt;
  mqtt::publish_packet p;
  if (mqtt::decode(packet->view(), version_, p) != reason::success) return std::nullopt;
  mqtt_message m;
  m.topic = std::string(p.topic);
  m.payload = text(p.payload);
  m.qos = p.qos;
  m.retain = p.retain;
  m.dup = p.dup;
  m.packet_id = p.packet_id;
  for (const auto& [key, value] : p.props.user_properties)
    m.user_properties.emplace_back(std::string(key), std::string(value));
  if (p.props.response_topic) m.response_topic = std::string(*p.props.response_topic);
  if (p.props.correlation_data) m.correlation = text(*p.props.correlation_data);
  if (p.props.content_type) m.content_type = std::string(*p.props.content_type);
  m.expiry = p.props.message_expiry_interval;
  m.subscription_ids = p.props.subscription_identifiers;
  m.topic_alias = p.props.topic_alias;
  if (ack && p.qos == 1) {
    mqtt::ack_packet a;
    a.type = packet_type::puback;
    a.packet_id = p.packet_id;
    send(a);
  } else if (ack && p.qos == 2) {
    mqtt::ack_packet a;
    a.type = packet_type::pubrec;
    a.packet_id = p.packet_id;
    send(a);
    if (next_of(packet_type::pubrel, limit)) {
      a.type = packet_type::pubcomp;
      send(a);
    }
  }
  return m;
}

bool mqtt_test_client::closed_by_peer(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!next(std::chrono::milliseconds(100)) && socket_.peer_closed()) return true;
  }
  return socket_.peer_closed();
}

std::optional<reason> mqtt_test_client::disconnect_reason(std::chrono::milliseconds limit) {
  auto packet = next_of(packet_type::disconnect, limit);
  if (!packet) return std::nullopt;
  mqtt::disconnect_packet d;
  if (mqtt::decode(packet->view(), version_, d) != reason::success) return std::nullopt;
  return d.code;
}

}  // namespace ipc::test
