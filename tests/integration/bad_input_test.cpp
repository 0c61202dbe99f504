// Bad input through raw sockets (SPEC §8): each case gets a clear error and closes or
// answers only the offending connection; a client connected before keeps working.
#include <doctest/doctest.h>

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "raw_client.hpp"
#include "server/server.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::broker_fixture;
using ipc::test::raw_client;

namespace {

std::uint16_t code(errc e) { return static_cast<std::uint16_t>(e); }

// A healthy subscriber/publisher pair that must keep working whatever others send.
struct bystander {
  explicit bystander(const broker_fixture& broker) {
    client_options options;
    options.url = broker.tcp_url();
    options.auto_reconnect = false;
    client = std::make_unique<Client>(options);
    REQUIRE(!client->connect());
    std::error_code ec;
    sub = client->subscribe("alive", got.handler(), ec);
    REQUIRE(!ec);
  }
  void check_still_working() {
    auto before = got.size();
    REQUIRE(!client->publish_confirmed("alive", "yes"));
    CHECK(got.wait_for(before + 1));
  }
  test::collector got;
  std::unique_ptr<Client> client;
  subscription sub;
};

// Whether the connection still answers a PING with a PONG.
bool answers_ping(raw_client& raw) {
  protocol::byte_buffer ping;
  protocol::encode_ping(ping, 77);
  raw.send(ping);
  auto pong = raw.next();
  return pong && pong->type == protocol::frame_type::pong;
}

protocol::byte_buffer publish_frame(std::string_view topic, std::string_view payload,
                                    std::uint32_t id = 0) {
  protocol::byte_buffer out;
  protocol::encode_publish(out, id, topic, "", {},
                           {reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()});
  return out;
}

}  // namespace

TEST_CASE("garbage bytes before the handshake close only that connection") {
  broker_fixture broker;
  bystander other(broker);
  for (const auto& url : broker.urls()) {
    raw_client raw(url);
    raw.send({'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'});
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::frame_too_large));  // "GET " read as a length
    CHECK(raw.closed_by_peer());
  }
  other.check_still_working();
}

TEST_CASE("a length prefix near 2^32 is refused without allocating") {
  broker_fixture broker;
  bystander other(broker);
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  raw.send({0xFF, 0xFF, 0xFF, 0xFE, 0x10});
  auto error = raw.next_error();
  REQUIRE(error);
  CHECK(error->first == code(errc::frame_too_large));
  CHECK(raw.closed_by_peer());
  other.check_still_working();
}

TEST_CASE("a first frame that is not HELLO, and a second HELLO, are handshake errors") {
  broker_fixture broker;
  bystander other(broker);
  {
    raw_client raw(broker.unix_url());
    raw.send(publish_frame("a", "b"));
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::handshake_required));
    CHECK(raw.closed_by_peer());
  }
  {
    raw_client raw(broker.unix_url());
    REQUIRE(raw.handshake());
    protocol::byte_buffer hello;
    protocol::encode_hello(hello, "anonymous", {});
    raw.send(hello);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::handshake_required));
    CHECK(raw.closed_by_peer());
  }
  other.check_still_working();
}

TEST_CASE("unsupported versions and mechanisms are refused at the handshake") {
  broker_fixture broker;
  {
    raw_client raw(broker.unix_url());
    protocol::byte_buffer hello;
    protocol::encode_hello(hello, "anonymous", {}, 2, 3);
    raw.send(hello);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::unsupported_version));
  }
  {
    raw_client raw(broker.unix_url());
    protocol::byte_buffer hello;
    std::pair<std::string_view, std::string_view> creds[] = {{"user", "a"}, {"password", "b"}};
    protocol::encode_hello(hello, "password", creds);
    raw.send(hello);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::auth_failed));
    CHECK(raw.closed_by_peer());
  }
}

TEST_CASE("unknown frame types and client-sent broker frames close the connection") {
  broker_fixture broker;
  bystander other(broker);
  {
    raw_client raw(broker.tcp_url());
    REQUIRE(raw.handshake());
    raw.send({0, 0, 0, 3, 0x99, 1, 2});
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::unknown_frame_type));
    CHECK(raw.closed_by_peer());
  }
  {
    raw_client raw(broker.tcp_url());
    REQUIRE(raw.handshake());
    protocol::byte_buffer welcome;
    protocol::encode_welcome(welcome, 1, 1, {});
    raw.send(welcome);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::unknown_frame_type));
  }
  other.check_still_working();
}

TEST_CASE("a malformed body is a fatal malformed_frame") {
  broker_fixture broker;
  bystander other(broker);
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  auto frame = publish_frame("topic", "payload");
  frame[10] = 0xFF;  // topic length now runs past the body
  raw.send(frame);
  auto error = raw.next_error();
  REQUIRE(error);
  CHECK(error->first == code(errc::malformed_frame));
  CHECK(raw.closed_by_peer());
  other.check_still_working();
}

TEST_CASE("a truncated frame followed by a close leaves the broker serving") {
  broker_fixture broker;
  bystander other(broker);
  for (int i = 0; i < 20; ++i) {
    raw_client raw(broker.unix_url());
    REQUIRE(raw.handshake());
    auto frame = publish_frame("alive", std::string(1000, 'x'));
    frame.resize(frame.size() / 2);
    raw.send(frame);
  }  // each closes with half a frame sent
  other.check_still_working();
  CHECK(other.got.size() == 1);  // none of the halves was delivered
}

TEST_CASE("an oversized payload within the frame limit is a non-fatal error") {
  broker_fixture broker([](config::broker_config& c) { c.limits.max_payload = 1000; });
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  raw.send(publish_frame("t", std::string(1001, 'x'), 5));
  auto error = raw.next_error();
  REQUIRE(error);
  CHECK(error->first == code(errc::payload_too_large));
  CHECK(answers_ping(raw));
}

TEST_CASE("too many headers are refused") {
  broker_fixture broker([](config::broker_config& c) { c.limits.max_headers = 4; });
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  std::vector<std::string> keys;
  for (int i = 0; i < 5; ++i) keys.push_back("k" + std::to_string(i));
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  for (const auto& k : keys) headers.emplace_back(k, "v");
  protocol::byte_buffer out;
  protocol::encode_publish(out, 3, "t", "", {headers, nullptr}, {});
  raw.send(out);
  auto error = raw.next_error();
  REQUIRE(error);
  CHECK(error->first == code(errc::headers_too_large));
}

TEST_CASE("acks and nacks of unknown deliveries are non-fatal errors") {
  broker_fixture broker;
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  protocol::byte_buffer out;
  protocol::encode_ack(out, 12345);
  protocol::encode_nack(out, 0, protocol::nack_disposition::requeue);
  protocol::encode_ping(out, 1);
  raw.send(out);
  for (int i = 0; i < 2; ++i) {
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::unknown_delivery));
  }
  auto pong = raw.next();
  REQUIRE(pong);
  CHECK(pong->type == protocol::frame_type::pong);
}

TEST_CASE("bad queue names are refused with invalid_queue_name") {
  broker_fixture broker;
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  const std::vector<std::string> names{"..", "a/b", std::string("a\0b", 3), std::string(256, 'q'),
                                       ""};
  for (const auto& name : names) {
    protocol::byte_buffer out;
    protocol::encode_send(out, 9, name, "", {}, {});
    raw.send(out);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::invalid_queue_name));
  }
}

TEST_CASE("duplicate subscription ids and unknown unsubscribes are refused") {
  broker_fixture broker;
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  protocol::byte_buffer out;
  protocol::encode_subscribe(out, 1, 5, "a");
  protocol::encode_subscribe(out, 2, 5, "b");
  protocol::encode_unsubscribe(out, 3, 6);
  raw.send(out);
  auto ok = raw.next();
  REQUIRE(ok);
  CHECK(ok->type == protocol::frame_type::ok);
  auto duplicate = raw.next_error();
  REQUIRE(duplicate);
  CHECK(duplicate->first == code(errc::duplicate_id));
  auto unknown = raw.next_error();
  REQUIRE(unknown);
  CHECK(unknown->first == code(errc::unknown_subscription));
}

TEST_CASE("a client that sends PINGs and never reads the PONGs is closed, not buffered") {
  broker_fixture broker([](config::broker_config& c) {
    c.limits.max_payload = 16 * 1024;
    c.limits.max_pending_bytes = 128 * 1024;
  });
  bystander other(broker);
  raw_client raw(broker.unix_url());
  REQUIRE(raw.handshake());
  protocol::byte_buffer pings;
  for (int i = 0; i < 200000; ++i) protocol::encode_ping(pings, static_cast<std::uint64_t>(i));
  raw.send(pings);  // 2.6 MB of PONGs owed: far past the limit and the socket buffers
  CHECK(ipc::test::wait_until([&] { return broker.log_contains("slow consumer"); }));
  // The fatal ERROR cannot reach a client that does not read; the close does.
  CHECK(raw.closed_by_peer(std::chrono::seconds(10)));
  other.check_still_working();
}

namespace {
// The connection list as an administrator sees it: {"id": client name} for each.
nlohmann::json connection_list(Client& admin) {
  std::error_code ec;
  auto text = admin.admin("conn.list", "{}", ec);
  REQUIRE(!ec);
  auto list = nlohmann::json::parse(text, nullptr, false);
  REQUIRE(list.is_array());
  return list;
}

bool lists_connection(const nlohmann::json& list, std::uint64_t id) {
  for (const auto& entry : list)
    if (entry["id"] == id) return true;
  return false;
}

std::uint64_t welcome_id(const test::received_frame& frame) {
  protocol::welcome_frame welcome;
  REQUIRE(protocol::decode(frame.view(), welcome) == errc::ok);
  return welcome.connection_id;
}
}  // namespace

TEST_CASE("client strings that are not UTF-8 never wedge an admin answer") {
  broker_fixture broker;
  bystander other(broker);
  // A client named "bob\xff": conn.list used to throw on its name and leave the asking
  // connection without an answer, and unable to handle anything more.
  raw_client named(broker.unix_url());
  protocol::byte_buffer hello;
  std::pair<std::string_view, std::string_view> props[] = {{"client_name", "bob\xff\xfe"}};
  protocol::encode_hello(hello, "anonymous", props);
  named.send(hello);
  auto welcome = named.next();
  REQUIRE(welcome);
  REQUIRE(welcome->type == protocol::frame_type::welcome);
  auto named_id = welcome_id(*welcome);

  raw_client admin(broker.unix_url());
  REQUIRE(admin.handshake());
  for (std::string_view command :
       {std::string_view("conn.list"), std::string_view("no\xff.such")}) {
    protocol::byte_buffer ask;
    protocol::encode_admin(ask, 7, command, "{}");
    admin.send(ask);
    auto answer = admin.next();
    REQUIRE(answer);
    REQUIRE(answer->type == protocol::frame_type::admin_result);
    protocol::admin_result_frame result;
    REQUIRE(protocol::decode(answer->view(), result) == errc::ok);
    auto body = nlohmann::json::parse(result.body, nullptr, false);
    REQUIRE(!body.is_discarded());  // valid JSON: the bad bytes became U+FFFD
    if (command == "conn.list") {
      CHECK(result.status == 0);
      bool found = false;
      for (const auto& entry : body)
        if (entry["id"] == named_id) {
          found = true;
          CHECK(entry["client"] == "bob\xef\xbf\xbd\xef\xbf\xbd");
        }
      CHECK(found);
    } else {
      CHECK(result.status == code(errc::unknown_command));
    }
  }
  CHECK(answers_ping(admin));  // the asking connection still answers
  other.check_still_working();
}

TEST_CASE("an exception while handling a frame ends that connection only") {
  broker_fixture broker;
  bystander other(broker);
  broker.on_broker([](broker::server& server) {
    server.core().add_admin_command("test.throw",
                                    [](std::string_view, broker::errc&) -> std::string {
                                      throw std::logic_error("broken invariant (test)");
                                    });
  });
  raw_client victim(broker.unix_url());
  protocol::byte_buffer hello;
  protocol::encode_hello(hello, "anonymous", {});
  victim.send(hello);
  auto welcome = victim.next();
  REQUIRE(welcome);
  REQUIRE(welcome->type == protocol::frame_type::welcome);
  auto victim_id = welcome_id(*welcome);
  REQUIRE(lists_connection(connection_list(*other.client), victim_id));

  protocol::byte_buffer ask;
  protocol::encode_admin(ask, 1, "test.throw", "{}");
  victim.send(ask);
  auto error = victim.next_error();
  REQUIRE(error);
  CHECK(error->first == code(errc::internal_error));
  CHECK(victim.closed_by_peer());
  CHECK(test::wait_until(
      [&] { return !lists_connection(connection_list(*other.client), victim_id); }));
  CHECK(broker.log_contains("internal error handling ADMIN: broken invariant (test)"));
  std::error_code ec;
  auto status = nlohmann::json::parse(other.client->admin("status", "{}", ec));
  REQUIRE(!ec);
  CHECK(status["internal_errors"] == 1);
  other.check_still_working();
  // A new connection is served as before.
  raw_client after(broker.tcp_url());
  CHECK(after.handshake());
}

TEST_CASE("every protocol error is counted, and its log lines are rate-limited") {
  broker_fixture broker;
  bystander other(broker);
  auto protocol_errors = [&] {
    std::error_code ec;
    auto status = nlohmann::json::parse(other.client->admin("status", "{}", ec));
    REQUIRE(!ec);
    return status["protocol_errors"].get<std::uint64_t>();
  };
  auto before = protocol_errors();
  // A malformed body after the handshake is a protocol error like a framing error.
  {
    raw_client raw(broker.unix_url());
    REQUIRE(raw.handshake());
    auto bad = publish_frame("t", "x");
    bad.pop_back();  // one byte short of its payload: the length prefix says more
    bad[3] = static_cast<std::uint8_t>(bad[3] - 1);
    raw.send(bad);
    auto error = raw.next_error();
    REQUIRE(error);
    CHECK(error->first == code(errc::malformed_frame));
  }
  CHECK(test::wait_until([&] { return protocol_errors() == before + 1; }));
  CHECK(broker.log_contains("malformed PUBLISH, closing"));
  // A flood of bad connections: every one counted, the log lines bounded.
  constexpr int flood = 200;
  for (int i = 0; i < flood; ++i) {
    raw_client raw(broker.unix_url());
    raw.send({'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'});
    CHECK(raw.closed_by_peer());
  }
  CHECK(test::wait_until([&] { return protocol_errors() == before + 1 + flood; }));
  auto lines_about = [&](const std::string& text) {
    std::size_t n = 0;
    for (const auto& line : broker.log_lines()) n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
  };
  auto logged = lines_about("frame larger than the broker accepts, closing");
  CHECK(logged >= 1);
  CHECK(logged < flood / 4);  // 10 lines a second at most, whatever the flood
  // Once the window has passed, the next line says how many were held back.
  CHECK(test::wait_until([&] {
    raw_client raw(broker.unix_url());
    raw.send({'G', 'E', 'T', ' ', '/', '\r', '\n'});
    (void)raw.closed_by_peer();
    return lines_about("more like it not logged") > 0;
  }));
  other.check_still_working();
}
