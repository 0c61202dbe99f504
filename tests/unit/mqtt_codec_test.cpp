// The MQTT codec (mqtt/): the packet reader at every split point and whole, each packet
// encoded and decoded again in both versions, and the bad input the specifications name.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ipc/mqtt/codec.hpp"

using namespace ipc::mqtt;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

// Feeds `stream` to a reader in pieces of `step` bytes; the packets' type bytes and bodies.
std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> split_read(
    const std::vector<std::uint8_t>& stream, std::size_t first, std::size_t step,
    reason* error = nullptr) {
  packet_reader reader(1 << 20, 64, 8);
  std::vector<std::pair<std::uint8_t, std::vector<std::uint8_t>>> out;
  std::size_t at = 0;
  bool head = true;
  while (at < stream.size()) {
    auto room = reader.prepare();
    std::size_t n = std::min({room.size(), stream.size() - at, head ? first : step});
    if (n == 0) n = std::min(room.size(), stream.size() - at);
    head = false;
    std::copy_n(stream.begin() + static_cast<long>(at), n, room.begin());
    reader.commit(n);
    at += n;
    raw_packet packet;
    reason why = reason::success;
    for (;;) {
      auto status = reader.next(packet, why);
      if (status == read_status::need_more) break;
      if (status == read_status::error) {
        if (error) *error = why;
        return out;
      }
      out.emplace_back(packet.type_byte,
                       std::vector<std::uint8_t>(packet.body.begin(), packet.body.end()));
    }
  }
  return out;
}

raw_packet one(const std::vector<std::uint8_t>& stream, std::vector<std::uint8_t>& body) {
  auto packets = split_read(stream, stream.size(), stream.size());
  REQUIRE(packets.size() == 1);
  body = packets[0].second;
  return {packets[0].first, body};
}

connect_packet sample_connect(version v) {
  static const std::vector<std::uint8_t> will_payload = bytes_of("gone");
  static const std::vector<std::uint8_t> password = bytes_of("pw");
  connect_packet c;
  c.level = v;
  c.clean_start = true;
  c.keep_alive = 30;
  c.client_id = "sensor-1";
  will_spec w;
  w.topic = "status/sensor-1";
  w.payload = will_payload;
  w.qos = 1;
  w.retain = true;
  if (v == version::v5) w.props.will_delay_interval = 10;
  c.will = w;
  c.user_name = "alice";
  c.password = std::span<const std::uint8_t>(password);
  if (v == version::v5) {
    c.props.session_expiry_interval = 3600;
    c.props.receive_maximum = 20;
    c.props.user_properties = {{"k", "v"}};
  }
  return c;
}

}  // namespace

TEST_CASE("mqtt packet_reader: every split point gives the same packets") {
  byte_buffer stream;
  encode(stream, version::v311, sample_connect(version::v311));
  publish_packet big;
  big.topic = "a/b";
  std::vector<std::uint8_t> payload(300, 'x');  // a two-byte Remaining Length
  big.payload = payload;
  encode(stream, version::v311, big);
  encode_empty(stream, packet_type::pingreq);
  auto whole = split_read(stream, stream.size(), stream.size());
  REQUIRE(whole.size() == 3);
  CHECK(whole[2].first == 0xC0);
  CHECK(whole[1].second.size() == 2 + 3 + 300);
  for (std::size_t first = 1; first < stream.size(); ++first)
    CHECK(split_read(stream, first, stream.size()) == whole);
  CHECK(split_read(stream, 1, 1) == whole);  // byte by byte
}

TEST_CASE("mqtt packet_reader: Remaining Length rules and the packet size limit") {
  reason error = reason::success;
  // Five length bytes.
  CHECK(split_read({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, 6, 6, &error).empty());
  CHECK(error == reason::malformed_packet);
  // Not the shortest form: 0x80 0x00 for zero.
  error = reason::success;
  CHECK(split_read({0xC0, 0x80, 0x00}, 3, 3, &error).empty());
  CHECK(error == reason::malformed_packet);
  // Type 0 is reserved.
  error = reason::success;
  CHECK(split_read({0x00, 0x00}, 2, 2, &error).empty());
  CHECK(error == reason::malformed_packet);
  // Over the limit as soon as the length is known, before the body arrives.
  packet_reader small(100);
  auto room = small.prepare();
  std::vector<std::uint8_t> head{0x30, 0x63};  // 99 bytes of body: 101 in all
  std::copy(head.begin(), head.end(), room.begin());
  small.commit(head.size());
  raw_packet packet;
  CHECK(small.next(packet, error) == read_status::error);
  CHECK(error == reason::packet_too_large);
  CHECK(small.next(packet, error) == read_status::error);  // and stays failed
  // The largest length the encoding holds, in four bytes.
  byte_buffer out;
  put_varint(out, max_remaining_length);
  CHECK(out == byte_buffer{0xFF, 0xFF, 0xFF, 0x7F});
}

TEST_CASE("mqtt CONNECT round trip in 3.1.1 and 5, and 3.1") {
  for (auto v : {version::v31, version::v311, version::v5}) {
    byte_buffer stream;
    auto sent = sample_connect(v);
    encode(stream, v, sent);
    std::vector<std::uint8_t> body;
    auto packet = one(stream, body);
    connect_packet got;
    REQUIRE(decode_connect(packet, got) == reason::success);
    CHECK(got.level == v);
    CHECK(got.clean_start);
    CHECK(got.keep_alive == 30);
    CHECK(got.client_id == "sensor-1");
    REQUIRE(got.will);
    CHECK(got.will->topic == "status/sensor-1");
    CHECK(got.will->qos == 1);
    CHECK(got.will->retain);
    CHECK(std::string(got.will->payload.begin(), got.will->payload.end()) == "gone");
    CHECK(got.user_name == "alice");
    REQUIRE(got.password);
    CHECK(got.password->size() == 2);
    if (v == version::v5) {
      CHECK(got.props.session_expiry_interval == 3600);
      CHECK(got.props.receive_maximum == 20);
      CHECK(got.will->props.will_delay_interval == 10);
      REQUIRE(got.props.user_properties.size() == 1);
      CHECK(got.props.user_properties[0].second == "v");
    }
  }
}

TEST_CASE("mqtt CONNECT: protocol name and level, reserved and inconsistent flags") {
  auto connect_bytes = [](std::string_view name, std::uint8_t level, std::uint8_t flags) {
    byte_buffer body;
    body.push_back(0);
    body.push_back(static_cast<std::uint8_t>(name.size()));
    body.insert(body.end(), name.begin(), name.end());
    body.push_back(level);
    body.push_back(flags);
    body.insert(body.end(), {0, 60, 0, 1, 'c'});
    if (level == 5) body.insert(body.begin() + 2 + static_cast<long>(name.size()) + 4, 0);
    byte_buffer out{0x10};
    put_varint(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  auto result = [](const byte_buffer& stream) {
    std::vector<std::uint8_t> body;
    auto packet = one(stream, body);
    connect_packet c;
    return decode_connect(packet, c);
  };
  CHECK(result(connect_bytes("MQTT", 4, 0x02)) == reason::success);
  CHECK(result(connect_bytes("MQTT", 5, 0x02)) == reason::success);
  CHECK(result(connect_bytes("MQTT", 6, 0x02)) == reason::unsupported_protocol_version);
  CHECK(result(connect_bytes("MQTT", 3, 0x02)) == reason::unsupported_protocol_version);
  CHECK(result(connect_bytes("MQTX", 4, 0x02)) == reason::unsupported_protocol_version);
  CHECK(result(connect_bytes("MQTT", 4, 0x03)) == reason::malformed_packet);  // reserved bit
  CHECK(result(connect_bytes("MQTT", 4, 0x10)) == reason::malformed_packet);  // will QoS, no will
  CHECK(result(connect_bytes("MQTT", 4, 0x20)) ==
        reason::malformed_packet);  // will retain, no will
  CHECK(result(connect_bytes("MQTT", 4, 0x40)) == reason::malformed_packet);  // password, no user
  CHECK(result(connect_bytes("MQTT", 4, 0x1C)) == reason::malformed_packet);  // will QoS 3
  // A second CONNECT is the front-end's to refuse; a CONNECT with a flag nibble is not one.
  auto bad_flags = connect_bytes("MQTT", 4, 0x02);
  bad_flags[0] = 0x11;
  CHECK(result(bad_flags) == reason::malformed_packet);
}

TEST_CASE("mqtt PUBLISH round trip with QoS, flags and MQTT 5 properties") {
  std::vector<std::uint8_t> payload = bytes_of("21.5");
  std::vector<std::uint8_t> correlation = bytes_of("c-1");
  publish_packet sent;
  sent.dup = true;
  sent.qos = 2;
  sent.retain = true;
  sent.topic = "home/temp";
  sent.packet_id = 7;
  sent.payload = payload;
  sent.props.message_expiry_interval = 60;
  sent.props.content_type = "text/plain";
  sent.props.response_topic = "replies/1";
  sent.props.correlation_data = std::span<const std::uint8_t>(correlation);
  sent.props.subscription_identifiers = {3, 400};
  sent.props.user_properties = {{"a", "1"}, {"a", "2"}};
  for (auto v : {version::v311, version::v5}) {
    byte_buffer stream;
    encode(stream, v, sent);
    std::vector<std::uint8_t> body;
    auto packet = one(stream, body);
    publish_packet got;
    REQUIRE(decode(packet, v, got) == reason::success);
    CHECK(got.dup);
    CHECK(got.qos == 2);
    CHECK(got.retain);
    CHECK(got.topic == "home/temp");
    CHECK(got.packet_id == 7);
    CHECK(std::string(got.payload.begin(), got.payload.end()) == "21.5");
    if (v == version::v5) {
      CHECK(got.props.message_expiry_interval == 60);
      CHECK(got.props.content_type == "text/plain");
      CHECK(got.props.response_topic == "replies/1");
      CHECK(got.props.subscription_identifiers == std::vector<std::uint32_t>{3, 400});
      CHECK(got.props.user_properties.size() == 2);
    } else {
      CHECK_FALSE(got.props.message_expiry_interval);
    }
  }
}

TEST_CASE("mqtt PUBLISH: QoS 3, DUP on QoS 0, packet id 0, bad strings, bad properties") {
  auto publish_bytes = [](std::uint8_t flags, byte_buffer body) {
    byte_buffer out{static_cast<std::uint8_t>(0x30 | flags)};
    put_varint(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  auto result = [](const byte_buffer& stream, version v) {
    std::vector<std::uint8_t> body;
    auto packet = one(stream, body);
    publish_packet p;
    return decode(packet, v, p);
  };
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 'x'}), version::v311) == reason::success);
  CHECK(result(publish_bytes(0x06, {0, 1, 't', 0, 1}), version::v311) == reason::malformed_packet);
  CHECK(result(publish_bytes(0x08, {0, 1, 't'}), version::v311) == reason::malformed_packet);
  CHECK(result(publish_bytes(0x02, {0, 1, 't', 0, 0}), version::v311) == reason::protocol_error);
  CHECK(result(publish_bytes(0x00, {0, 1, 0}), version::v311) ==
        reason::malformed_packet);  // U+0000
  CHECK(result(publish_bytes(0x00, {0, 1, 0xFF}), version::v311) == reason::malformed_packet);
  CHECK(result(publish_bytes(0x00, {0, 0}), version::v311) ==
        reason::malformed_packet);  // no topic
  CHECK(result(publish_bytes(0x00, {0, 0, 3, 0x23, 0, 1}), version::v5) ==
        reason::success);  // alias
  // Properties: topic alias 0, an unknown id, one twice, one not allowed in PUBLISH.
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 3, 0x23, 0, 0}), version::v5) ==
        reason::topic_alias_invalid);
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 2, 0x7F, 0}), version::v5) ==
        reason::malformed_packet);
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 10, 0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2}),
               version::v5) == reason::protocol_error);
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 3, 0x21, 0, 5}), version::v5) ==
        reason::malformed_packet);  // receive maximum belongs to CONNECT
  CHECK(result(publish_bytes(0x00, {0, 1, 't', 9, 0x02, 0, 0}), version::v5) ==
        reason::malformed_packet);  // the property block runs past the packet
}

TEST_CASE("mqtt acks, SUBSCRIBE, SUBACK, UNSUBSCRIBE, DISCONNECT and AUTH round trips") {
  for (auto v : {version::v311, version::v5}) {
    std::vector<std::uint8_t> body;
    for (auto type :
         {packet_type::puback, packet_type::pubrec, packet_type::pubrel, packet_type::pubcomp}) {
      ack_packet sent{
          type, 9, v == version::v5 ? reason::no_matching_subscribers : reason::success, {}};
      if (v == version::v5) sent.props.reason_string = "nobody";
      byte_buffer stream;
      encode(stream, v, sent);
      ack_packet got;
      REQUIRE(decode(one(stream, body), v, got) == reason::success);
      CHECK(got.type == type);
      CHECK(got.packet_id == 9);
      CHECK(got.code == sent.code);
    }
    subscribe_packet sub;
    sub.packet_id = 4;
    sub.requests = {{"a/+", 1, true, true, 2}, {"$share/g/b/#", 2, false, false, 0}};
    if (v == version::v5) sub.props.subscription_identifiers = {12};
    byte_buffer stream;
    encode(stream, v, sub);
    subscribe_packet got_sub;
    REQUIRE(decode(one(stream, body), v, got_sub) == reason::success);
    REQUIRE(got_sub.requests.size() == 2);
    CHECK(got_sub.requests[0].filter == "a/+");
    CHECK(got_sub.requests[1].max_qos == 2);
    CHECK(got_sub.requests[0].no_local == (v == version::v5));
    CHECK(got_sub.requests[0].retain_handling == (v == version::v5 ? 2 : 0));

    subscribe_ack_packet ack{packet_type::suback, 4, {}, {0x01, 0x80}};
    stream.clear();
    encode(stream, v, ack);
    subscribe_ack_packet got_ack;
    REQUIRE(decode(one(stream, body), v, got_ack) == reason::success);
    CHECK(got_ack.codes == std::vector<std::uint8_t>{0x01, 0x80});

    unsubscribe_packet unsub;
    unsub.packet_id = 5;
    unsub.filters = {"a/+", "c"};
    stream.clear();
    encode(stream, v, unsub);
    unsubscribe_packet got_unsub;
    REQUIRE(decode(one(stream, body), v, got_unsub) == reason::success);
    CHECK(got_unsub.filters == std::vector<std::string_view>{"a/+", "c"});

    disconnect_packet bye{v == version::v5 ? reason::disconnect_with_will : reason::success, {}};
    stream.clear();
    encode(stream, v, bye);
    disconnect_packet got_bye;
    REQUIRE(decode(one(stream, body), v, got_bye) == reason::success);
    CHECK(got_bye.code == bye.code);

    stream.clear();
    encode_empty(stream, packet_type::pingresp);
    CHECK(decode_empty(one(stream, body)) == reason::success);
  }
  std::vector<std::uint8_t> body;
  auth_packet auth;
  auth.code = static_cast<reason>(0x18);  // continue authentication
  auth.props.authentication_method = "SCRAM-SHA-1";
  byte_buffer stream;
  encode(stream, version::v5, auth);
  auth_packet got;
  REQUIRE(decode(one(stream, body), version::v5, got) == reason::success);
  CHECK(got.props.authentication_method == "SCRAM-SHA-1");
  CHECK(decode(one(stream, body), version::v311, got) == reason::malformed_packet);  // 5 only
}

TEST_CASE("mqtt SUBSCRIBE and UNSUBSCRIBE: flags, no filters, reserved option bits") {
  auto with = [](std::uint8_t type_byte, byte_buffer body) {
    byte_buffer out{type_byte};
    put_varint(out, static_cast<std::uint32_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  std::vector<std::uint8_t> body;
  subscribe_packet s;
  CHECK(decode(one(with(0x82, {0, 1, 0, 1, 'a', 0}), body), version::v311, s) == reason::success);
  CHECK(decode(one(with(0x80, {0, 1, 0, 1, 'a', 0}), body), version::v311, s) ==
        reason::malformed_packet);  // flags must be 0010
  CHECK(decode(one(with(0x82, {0, 1}), body), version::v311, s) == reason::protocol_error);
  CHECK(decode(one(with(0x82, {0, 0, 0, 1, 'a', 0}), body), version::v311, s) ==
        reason::protocol_error);  // packet id 0
  CHECK(decode(one(with(0x82, {0, 1, 0, 1, 'a', 0x04}), body), version::v311, s) ==
        reason::malformed_packet);  // a 3.1.1 reserved bit
  CHECK(decode(one(with(0x82, {0, 1, 0, 0, 1, 'a', 0x30}), body), version::v5, s) ==
        reason::malformed_packet);  // retain handling 3
  CHECK(decode(one(with(0x82, {0, 1, 0, 0, 1, 'a', 0x03}), body), version::v5, s) ==
        reason::malformed_packet);  // QoS 3
  CHECK(decode(one(with(0x82, {0, 1, 2, 0x0B, 0, 0, 1, 'a', 0}), body), version::v5, s) ==
        reason::protocol_error);  // subscription identifier 0
  unsubscribe_packet u;
  CHECK(decode(one(with(0xA2, {0, 1}), body), version::v311, u) == reason::protocol_error);
  CHECK(decode(one(with(0xA2, {0, 1, 0, 1, 'a'}), body), version::v311, u) == reason::success);
}
