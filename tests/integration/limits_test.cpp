// Protective limits through real sockets: the authentication timeout (slowloris),
// keepalive PINGs and the close of a silent client, and slow_consumer = drop.
#include <doctest/doctest.h>

#include <atomic>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "options.hpp"
#include "raw_client.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::raw_client;
using ipc::test::wait_until;

TEST_SUITE("limits") {
  TEST_CASE("auth_timeout closes a silent connection and a slowloris HELLO") {
    broker_fixture broker([](config::broker_config& c) { c.limits.auth_timeout_ms = 300; });
    raw_client silent(broker.unix_url());
    auto error = silent.next_error(std::chrono::seconds(5));
    REQUIRE(error);
    CHECK(error->first == static_cast<std::uint16_t>(protocol::errc::handshake_required));
    CHECK(silent.closed_by_peer());

    // One byte of a valid HELLO every 50 ms: never complete within 300 ms.
    std::vector<std::uint8_t> hello;
    protocol::encode_hello(hello, "anonymous", {});
    raw_client slow(broker.unix_url());
    bool closed = false;
    for (std::size_t i = 0; i < hello.size() && !closed; ++i) {
      slow.send({hello[i]});
      closed = slow.closed_by_peer(std::chrono::milliseconds(50));
    }
    CHECK((closed || slow.closed_by_peer()));
    CHECK(broker.log_contains("handshake not done within 300 ms"));
    Client fine(at(broker.unix_url()));  // others are served
    CHECK(!fine.connect());
  }

  TEST_CASE("keepalive: an idle client is PINGed, one that never answers is closed") {
    broker_fixture broker([](config::broker_config& c) {
      c.limits.keepalive_ms = 150;
      c.limits.keepalive_max_missed = 2;
    });
    raw_client mute(broker.unix_url());
    REQUIRE(mute.handshake());
    auto first = mute.next(std::chrono::seconds(5));
    REQUIRE(first);
    CHECK(first->type == protocol::frame_type::ping);
    auto error = mute.next_error(std::chrono::seconds(5));
    REQUIRE(error);
    CHECK(error->first == static_cast<std::uint16_t>(protocol::errc::keepalive_timeout));
    CHECK(mute.closed_by_peer());

    // The client library answers PINGs: idle for many intervals, it stays connected.
    Client idle(at(broker.unix_url()));
    REQUIRE(!idle.connect());
    wait_until([] { return false; }, std::chrono::milliseconds(1000));
    CHECK(idle.state() == connection_state::connected);
    CHECK(!idle.publish_confirmed("still/here", "yes"));
  }

  TEST_CASE("slow_consumer = drop: a slow subscriber misses messages but stays connected") {
    broker_fixture broker([](config::broker_config& c) {
      c.limits.max_payload = 64 * 1024;
      c.limits.max_pending_bytes = 256 * 1024;
      c.limits.slow_consumer = "drop";
    });
    Client publisher(at(broker.tcp_url())), fast(at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    REQUIRE(!fast.connect());
    // A raw subscriber that never reads its socket.
    raw_client stuck(broker.unix_url());
    REQUIRE(stuck.handshake());
    std::vector<std::uint8_t> subscribe;
    protocol::encode_subscribe(subscribe, 1, 1, "load/#");
    stuck.send(subscribe);
    auto ok = stuck.next();
    REQUIRE(ok);
    CHECK(ok->type == protocol::frame_type::ok);
    ipc::test::collector got;
    std::error_code ec;
    auto sub = fast.subscribe("load/#", got.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!fast.flush());
    const std::string payload(1024, 'p');
    constexpr int messages = 4000;
    // In steps of 100 messages that the reading subscriber takes before the next step:
    // it never falls 256 KiB behind, while the stuck one does at once.
    for (int step = 0; step < messages / 100; ++step) {
      for (int i = 0; i < 100; ++i) REQUIRE(!publisher.publish("load/x", payload));
      REQUIRE(!publisher.flush());
      REQUIRE(got.wait_for(static_cast<std::size_t>((step + 1) * 100), std::chrono::seconds(30)));
    }
    auto status = nlohmann::json::parse(publisher.admin("status", "{}", ec));
    CHECK(status["slow_consumers"] == 0);
    CHECK(status["slow_consumer_drops"].get<int>() > 0);
    CHECK(status["connections"] == 3);  // the stuck subscriber is still there
    CHECK_FALSE(stuck.closed_by_peer(std::chrono::milliseconds(100)));
    CHECK(broker.log_contains("slow consumer, dropping messages"));
  }

  TEST_CASE("max_queues: creation past the limit is refused however it is asked for") {
    broker_fixture broker([](config::broker_config& c) { c.limits.max_queues = 2; });
    Client client(at(broker.unix_url()));
    REQUIRE(!client.connect());
    std::error_code ec;
    CHECK(client.declare_queue("first", {}, ec));
    REQUIRE(!ec);
    REQUIRE(!client.send("second", "auto-created"));
    // The third queue: by declaration, by a send's auto-creation, by a consumer's.
    CHECK_FALSE(client.declare_queue("third", {}, ec));
    CHECK(ec == errc::limit_exceeded);
    CHECK(client.last_error_message().find("limits.max_queues") != std::string::npos);
    CHECK(client.send("third", "x") == errc::limit_exceeded);
    auto sub = client.consume(
        "third", {}, [](const message&) {}, ec);
    CHECK(ec == errc::limit_exceeded);
    auto list = nlohmann::json::parse(client.admin("queue.list", "{}", ec));
    REQUIRE(!ec);
    CHECK(list.size() == 2);
    // Deleting one makes room again; existing queues stay usable throughout.
    client.admin("queue.delete", R"({"name":"first"})", ec);
    REQUIRE(!ec);
    CHECK(client.declare_queue("third", {}, ec));
    CHECK(!client.send("second", "still works"));
  }
}
