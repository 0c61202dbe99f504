// The MQTT front-end's sans-I/O parts (docs/mqtt.md §5, §3.4, config.md): PUBLISH
// properties to record headers and back, refusals to reason codes, session queue names,
// and the mqtt:// listener URLs of the config.
#include <doctest/doctest.h>

#include <string>

#include "frontends/mqtt/mqtt_mapping.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "ipc/config/config.hpp"
#include "ipc/message/attributes.hpp"
#include "ipc/message/record.hpp"
#include "ipc/mqtt/codec.hpp"

using namespace ipc;
using mqtt::reason;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::pair<std::string, std::string>> entries(const broker::header_map& map) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto e : map) out.emplace_back(std::string(e.key), std::string(e.value));
  return out;
}
}  // namespace

TEST_SUITE("mqtt mapping") {
  TEST_CASE("a PUBLISH's properties become headers, in order, with the attributes after") {
    mqtt::publish_packet p;
    p.topic = "t";
    p.qos = 2;
    p.retain = true;
    p.props.user_properties = {{"a", "1"}, {"a", "2"}, {"b", ""}};
    p.props.message_expiry_interval = 90;
    p.props.content_type = "application/json";
    p.props.payload_format_indicator = 1;
    std::string correlation("\x00\x01\xff", 3);
    p.props.correlation_data = bytes_of(correlation);
    broker::mqtt_headers headers;
    REQUIRE(headers.build(p));
    using pairs = std::vector<std::pair<std::string, std::string>>;
    CHECK(entries(headers.view()) == pairs{{"a", "1"},
                                           {"a", "2"},
                                           {"b", ""},
                                           {"ipc-retain", "1"},
                                           {"ipc-qos", "2"},
                                           {"ipc-ttl", "90000"},
                                           {"ipc-content-type", "application/json"},
                                           {"ipc-payload-format", "1"},
                                           {"ipc-correlation", correlation}});
    // QoS 0 without properties: no headers at all (the fast path).
    mqtt::publish_packet plain;
    plain.topic = "t";
    REQUIRE(headers.build(plain));
    CHECK(headers.view().size() == 0);
    // An expiry beyond a year is capped at ipc-ttl's maximum.
    plain.props.message_expiry_interval = 0xffffffff;
    REQUIRE(headers.build(plain));
    CHECK(entries(headers.view())[0].second == std::to_string(message_record::max_ttl_ms));
  }

  TEST_CASE("a record reads back as MQTT: user properties, QoS, flags and properties") {
    std::vector<std::pair<std::string_view, std::string_view>> pairs = {
        {"k", "v"},
        {"IPC-QOS", "1"},
        {"ipc-retain", "true"},
        {"ipc-content-type", "text/plain"},
        {"ipc-payload-format", "1"},
        {"ipc-correlation", "c-1"},
        {"ipc-priority", "4"},
        {"ipc-ttl", "5000"}};
    message_record::byte_buffer headers;
    message_record::put_map(headers, {pairs, nullptr});
    message_record::map_view view(headers, static_cast<std::uint16_t>(pairs.size()));
    message_record::byte_buffer record;
    std::string payload = "body";
    message_record::encode_record(record, 42, 7, "a/b", "replies/x", {{}, &view},
                                  bytes_of(payload));
    broker::mqtt_outbound m;
    REQUIRE(broker::read_outbound(record, m));
    CHECK(m.record.topic == "a/b");
    CHECK(m.qos == 1);
    CHECK(m.retain);
    CHECK(m.content_type == "text/plain");
    CHECK(m.payload_format == 1);
    REQUIRE(m.correlation);
    CHECK(std::string(reinterpret_cast<const char*>(m.correlation->data()),
                      m.correlation->size()) == "c-1");
    REQUIRE(m.user_properties.size() == 1);  // ipc- keys are not user properties
    CHECK(m.user_properties[0] == mqtt::string_pair{"k", "v"});

    // Encoded for an MQTT 5 subscriber and decoded again, every property is there.
    broker::mqtt_delivery d;
    d.qos = 1;
    d.packet_id = 9;
    d.expiry_s = 3;
    d.subscription_id = 12;
    std::vector<std::uint8_t> packet;
    broker::encode_delivery(packet, mqtt::version::v5, m, d);
    mqtt::packet_reader reader(1 << 20);
    auto space = reader.prepare();
    std::copy(packet.begin(), packet.end(), space.begin());
    reader.commit(packet.size());
    mqtt::raw_packet raw;
    reason error{};
    REQUIRE(reader.next(raw, error) == mqtt::read_status::packet);
    mqtt::publish_packet p;
    REQUIRE(mqtt::decode(raw, mqtt::version::v5, p) == reason::success);
    CHECK(p.topic == "a/b");
    CHECK(p.packet_id == 9);
    CHECK(p.props.response_topic == "replies/x");
    CHECK(p.props.message_expiry_interval == 3u);
    CHECK(p.props.subscription_identifiers == std::vector<std::uint32_t>{12});
    CHECK(p.props.content_type == "text/plain");
    // For 3.1.1 the same message has no properties at all.
    packet.clear();
    broker::encode_delivery(packet, mqtt::version::v311, m, d);
    CHECK(packet.size() == 2 + 2 + 3 + 2 + payload.size());
    // A damaged record is refused.
    record.resize(record.size() - 1);
    CHECK_FALSE(broker::read_outbound(record, m));
  }

  TEST_CASE("core refusals map to MQTT 5 reason codes and 3.1.1 return codes") {
    CHECK(broker::reason_of(broker::errc::permission_denied) == reason::not_authorized);
    CHECK(broker::reason_of(broker::errc::invalid_topic) == reason::topic_name_invalid);
    CHECK(broker::reason_of(broker::errc::invalid_pattern) == reason::topic_filter_invalid);
    CHECK(broker::reason_of(broker::errc::payload_too_large) == reason::packet_too_large);
    CHECK(broker::reason_of(broker::errc::memory_alarm) == reason::quota_exceeded);
    CHECK(broker::reason_of(broker::errc::limit_exceeded) == reason::quota_exceeded);
    CHECK(broker::connack_v311_code(reason::success) == 0);
    CHECK(broker::connack_v311_code(reason::unsupported_protocol_version) == 1);
    CHECK(broker::connack_v311_code(reason::client_identifier_not_valid) == 2);
    CHECK(broker::connack_v311_code(reason::quota_exceeded) == 3);
    CHECK(broker::connack_v311_code(reason::bad_user_name_or_password) == 4);
    CHECK(broker::connack_v311_code(reason::not_authorized) == 5);
  }

  TEST_CASE("session queue names hold any client identifier") {
    using broker::mqtt_registry;
    CHECK(mqtt_registry::queue_name_of("sensor-7") == "mqtt.sensor-7");
    CHECK(mqtt_registry::queue_name_of("a.b_c/d é") == "mqtt.a_2eb_5fc_2fd_20_c3_a9");
    CHECK(mqtt_registry::queue_name_of("A") != mqtt_registry::queue_name_of("a"));
    auto long_name = mqtt_registry::queue_name_of(std::string(200, '/'));
    CHECK(long_name.starts_with("mqtt.hash."));
    CHECK(long_name.size() <= 255);
    CHECK(long_name == mqtt_registry::queue_name_of(std::string(200, '/')));  // stable
  }

  TEST_CASE("mqtt:// and mqtts:// listener URLs") {
    CHECK(config::transport_url_of("mqtt://127.0.0.1") == "tcp://127.0.0.1:1883");
    CHECK(config::transport_url_of("mqtt://0.0.0.0:11883") == "tcp://0.0.0.0:11883");
    CHECK(config::transport_url_of("mqtts://[::1]") == "tls://[::1]:8883");
    CHECK(config::transport_url_of("mqtts://[::1]:9") == "tls://[::1]:9");
    CHECK(config::transport_url_of("unix:///run/x.sock") == "unix:///run/x.sock");
    CHECK(config::protocol_of_scheme("mqtts://h") == config::listener_protocol::mqtt);
    CHECK_FALSE(config::protocol_of_scheme("tcp://h"));

    config::environment env;
    auto loaded = config::parse(R"({"listeners": [{"url": "unix:///tmp/x.sock"},
        {"url": "mqtt://127.0.0.1"}, {"url": "unix:///tmp/m.sock", "protocol": "mqtt"}]})",
                                env);
    REQUIRE(loaded.ok());
    CHECK(loaded.config.listeners[0].protocol == config::listener_protocol::native);
    CHECK(loaded.config.listeners[1].protocol == config::listener_protocol::mqtt);
    CHECK(loaded.config.listeners[2].protocol == config::listener_protocol::mqtt);

    auto bad = config::parse(R"({"listeners": [{"url": "mqtt://127.0.0.1", "protocol": "native"},
        {"url": "tcp://127.0.0.1:1883"}, {"url": "unix:///tmp/y.sock", "protocol": "amqp"}],
        "mqtt": {"receive_maximum": 0, "max_queued_bytes": 10}})",
                             env);
    REQUIRE_FALSE(bad.ok());
    std::string all;
    for (const auto& e : bad.errors) all += e.path + ": " + e.message + "\n";
    CHECK(all.find("/listeners/0/protocol: the URL's scheme already says \"mqtt\"") !=
          std::string::npos);
    CHECK(all.find("/listeners/1/url: duplicate listener") != std::string::npos);
    CHECK(all.find("/listeners/2/protocol: expected \"native\", \"mqtt\" or \"http\"") !=
          std::string::npos);
    CHECK(all.find("/mqtt/receive_maximum") != std::string::npos);
    CHECK(all.find("/mqtt/max_queued_bytes") != std::string::npos);
  }
}
