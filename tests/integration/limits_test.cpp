// Protective limits through real sockets: the authentication timeout (slowloris),
// keepalive PINGs and the close of a silent client, slow_consumer = drop, max_queues and
// the broker-wide memory bound (max_memory).
#include <doctest/doctest.h>

#include <atomic>

#include <nlohmann/json.hpp>

#include "arrivals.hpp"
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

  TEST_CASE("max_memory: over it publishers wait and sends are refused, then it recovers") {
    broker_fixture broker([](config::broker_config& c) {
      c.limits.max_memory = 1024 * 1024;
      c.limits.max_memory_percent = 0;
      config::queue_options durable;
      durable.durable = true;
      c.queues.declared.emplace_back("work", durable);
    });
    ipc::test::collector alarms;  // outlives the clients: an alarm can come at teardown
    Client producer(at(broker.unix_url())), watcher(at(broker.unix_url()));
    REQUIRE(!producer.connect());
    REQUIRE(!watcher.connect());
    std::error_code ec;
    auto watch = watcher.subscribe("$SYS/broker/alarms/memory", alarms.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!watcher.flush());

    // Confirmed sends of 16 KiB fill the durable queue until the bound refuses one.
    const std::string filler(16 * 1024, 'w');
    std::vector<std::string> confirmed;
    std::error_code refused;
    for (int i = 0; i < 1000 && !refused; ++i) {
      std::string body = std::to_string(i) + ":" + filler;
      refused = producer.send("work", body);
      if (!refused) confirmed.push_back(body);
    }
    CHECK(refused == errc::memory_alarm);
    CHECK(producer.last_error_message().find("limits.max_memory") != std::string::npos);
    CHECK(confirmed.size() >= 50);  // 1 MiB of 16 KiB messages
    CHECK(confirmed.size() <= 70);
    REQUIRE(alarms.wait_for(1));
    CHECK(alarms.items()[0].find(R"("alarm":true)") != std::string::npos);
    auto status = nlohmann::json::parse(producer.admin("status", "{}", ec));
    REQUIRE(!ec);  // admin still answers
    CHECK(status["memory_alarm"] == true);
    CHECK(status["max_memory"] == 1024 * 1024);
    CHECK(status["memory_held_bytes"].get<std::uint64_t>() > 1024 * 1024);
    CHECK(broker.log_contains("memory alarm:"));
    producer.request("svc/none", "x", {}, ec);
    CHECK(ec == errc::memory_alarm);

    // A publisher is read up to its first PUBLISH, then not at all: no PONG for its PING.
    raw_client publisher(broker.unix_url());
    REQUIRE(publisher.handshake());
    std::vector<std::uint8_t> frames;
    protocol::encode_publish(frames, 0, "t/paused", {}, {}, std::span<const std::uint8_t>());
    protocol::encode_ping(frames, 7);
    publisher.send(frames);
    CHECK_FALSE(publisher.next(std::chrono::milliseconds(300)));

    // A consumer drains the queue: every confirmed message arrives, in order, once. (With
    // credit 1 the delivery in flight, counted in the queue and in the consumer's output,
    // cannot push the count back over the bound.)
    Client consumer(at(broker.unix_url()));
    REQUIRE(!consumer.connect());
    ipc::test::arrivals received;
    auto sub = consumer.consume("work", {1, false}, received.acking(consumer), ec);
    REQUIRE(!ec);
    REQUIRE(received.wait_for(confirmed.size()));
    CHECK(received.payloads() == confirmed);

    // The alarm clears: the paused publisher is read again, sends are taken again.
    REQUIRE(alarms.wait_for(2));
    CHECK(alarms.items()[1].find(R"("alarm":false)") != std::string::npos);
    auto pong = publisher.next(std::chrono::seconds(5));
    REQUIRE(pong);
    CHECK(pong->type == protocol::frame_type::pong);
    CHECK(!producer.send("work", "after"));
    CHECK(wait_until([&] {
      status = nlohmann::json::parse(producer.admin("status", "{}", ec));
      return status["memory_held_bytes"].get<std::uint64_t>() < 64 * 1024;
    }));
    CHECK(status["memory_alarm"] == false);
    CHECK(status["memory_alarms"] == 1);
    CHECK(broker.log_contains("memory alarm cleared"));
  }
}
