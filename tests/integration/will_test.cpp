// Last wills through real sockets (docs/protocol.md §3.1.4): published when a connection
// ends without a goodbye (an abrupt close, conn.kill), never after close(); checked at
// HELLO; delayed and cancelled by the same client coming back; retained wills.
#include <doctest/doctest.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "options.hpp"
#include "raw_client.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::collector;
using ipc::test::raw_client;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

client_options with_will(const std::string& url, std::string name, std::string topic,
                         std::chrono::milliseconds delay = {}) {
  auto options = at(url);
  options.client_name = std::move(name);
  options.auto_reconnect = false;
  ipc::will will;
  will.topic = std::move(topic);
  will.payload = "gone";
  will.headers = {{"why", "lost"}};
  will.delay = delay;
  options.will = std::move(will);
  return options;
}

// A watcher of wills and of connection ends: a connection's will, when there is one,
// comes before its $SYS/connections/close.
struct watcher {
  explicit watcher(const std::string& url) : client(at(url)) {
    // The collectors are declared before the client: they outlive its thread, which can
    // still be delivering (a connection's close event) while the watcher is torn down.
    REQUIRE(!client.connect());
    std::error_code ec;
    wills = client.subscribe("wills/#", got.handler(), ec);
    REQUIRE(!ec);
    closes = client.subscribe("$SYS/connections/close", closed.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!client.flush());
  }
  bool saw_close_of(std::uint64_t id) {
    return closed.wait_for(1) && wait_until([&] {
             for (const auto& item : closed.items())
               if (item.find("\"id\":" + std::to_string(id) + "}") != std::string::npos)
                 return true;
             return false;
           });
  }
  collector got, closed;
  Client client;
  subscription wills, closes;
};

}  // namespace

TEST_SUITE("wills") {
  TEST_CASE("a will is published when the connection is lost, never after close()") {
    broker_fixture broker;
    watcher watch(broker.unix_url());

    // close(): GOODBYE first, so no will.
    auto clean = std::make_unique<Client>(with_will(broker.unix_url(), "clean", "wills/clean"));
    REQUIRE(!clean->connect());
    auto clean_id = clean->connection_id();
    clean->close();
    REQUIRE(watch.saw_close_of(clean_id));

    // Killed by an administrator: the will goes out, with its headers.
    Client victim(with_will(broker.tcp_url(), "victim", "wills/victim"));
    REQUIRE(!victim.connect());
    std::error_code ec;
    watch.client.admin("conn.kill", json{{"id", victim.connection_id()}}.dump(), ec);
    REQUIRE(!ec);
    REQUIRE(watch.got.wait_for(1));
    CHECK(watch.got.items()[0] == "wills/victim gone");

    // The socket just closes (a crashed process): the will goes out.
    auto raw = std::make_unique<raw_client>(broker.unix_url());
    std::vector<std::uint8_t> hello;
    std::pair<std::string_view, std::string_view> props[] = {{"will_topic", "wills/raw"},
                                                             {"will_payload", "bye"}};
    protocol::encode_hello(hello, "anonymous", props);
    raw->send(hello);
    REQUIRE(raw->next());  // WELCOME
    raw.reset();
    REQUIRE(watch.got.wait_for(2));
    CHECK(watch.got.items()[1] == "wills/raw bye");
    CHECK(watch.got.items().size() == 2);  // never the clean one
    auto status = json::parse(watch.client.admin("status", "{}", ec));
    CHECK(status["wills_published"] == 2);
  }

  TEST_CASE("a will the user may not publish refuses the HELLO, and so does a bad will property") {
    std::string token = "limited-token-0123456789";
    broker_fixture broker([&](config::broker_config& c) {
      auto loaded = config::parse(R"({"auth": {"anonymous": true, "users": [
          {"name": "limited", "permissions": {"publish": ["own/#"], "subscribe": ["own/#"]}}],
        "tokens": [{"hash": ")" + credentials::hash_token(token) +
                                      R"(", "user": "limited"}]}})",
                                  config::environment{});
      REQUIRE(loaded.ok());
      c.auth = loaded.config.auth;
    });
    collector seen;
    Client events(at(broker.unix_url()));
    REQUIRE(!events.connect());
    std::error_code ec;
    auto sub = events.subscribe("$SYS/connections/+", seen.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!events.flush());
    auto options = with_will(broker.unix_url(), "x", "wills/elsewhere");
    options.token = token;
    Client refused(options);
    CHECK(refused.connect() == errc::permission_denied);
    CHECK(refused.last_error_message().find("will on 'wills/elsewhere'") != std::string::npos);
    CHECK(broker.log_contains("permission denied: will on 'wills/elsewhere'"));
    // Refused at the end of its handshake: neither an open nor a close event.
    REQUIRE(wait_until(
        [&] { return json::parse(events.admin("status", "{}", ec))["connections"] == 1; }));
    REQUIRE(!events.flush());
    CHECK(seen.items().empty());
    options.will->topic = "own/status";
    Client allowed(options);
    CHECK(!allowed.connect());

    for (auto [key, value] : {std::pair<std::string_view, std::string_view>{"will_delay_ms", "-1"},
                              {"will_delay_ms", "86400001"},
                              {"will_retain", "perhaps"}}) {
      raw_client raw(broker.unix_url());
      std::vector<std::uint8_t> hello;
      std::pair<std::string_view, std::string_view> props[] = {{"will_topic", "own/x"},
                                                               {key, value}};
      protocol::encode_hello(hello, "anonymous", props);
      raw.send(hello);
      auto error = raw.next_error();
      REQUIRE(error);
      CHECK(error->first == static_cast<std::uint16_t>(protocol::errc::invalid_argument));
      CHECK(error->second.find(std::string(key)) != std::string::npos);
    }
    auto bad_ttl = with_will(broker.unix_url(), "y", "own/y");
    bad_ttl.will->headers = {{"ipc-ttl", "0"}};
    Client bad(bad_ttl);
    CHECK(bad.connect() == errc::invalid_argument);
  }

  TEST_CASE("a delayed will waits, and is cancelled when the same client is back in time") {
    broker_fixture broker;
    watcher watch(broker.unix_url());
    std::error_code ec;
    auto pending = [&] {
      return json::parse(watch.client.admin("status", "{}", ec))["wills_pending"].get<int>();
    };
    {
      Client flaky(with_will(broker.unix_url(), "flaky", "wills/flaky", std::chrono::hours(1)));
      REQUIRE(!flaky.connect());
      watch.client.admin("conn.kill", json{{"id", flaky.connection_id()}}.dump(), ec);
      REQUIRE(watch.saw_close_of(flaky.connection_id()));
    }
    CHECK(pending() == 1);
    // Back within the delay, as the same user and client name: the will is cancelled.
    Client back(with_will(broker.unix_url(), "flaky", "wills/flaky"));
    REQUIRE(!back.connect());
    CHECK(pending() == 0);
    {
      Client other(
          with_will(broker.unix_url(), "other", "wills/other", std::chrono::milliseconds(1500)));
      REQUIRE(!other.connect());
      watch.client.admin("conn.kill", json{{"id", other.connection_id()}}.dump(), ec);
      REQUIRE(watch.saw_close_of(other.connection_id()));
    }
    CHECK(pending() == 1);  // waiting out its delay, not yet published
    REQUIRE(watch.got.wait_for(1));
    CHECK(pending() == 0);
    REQUIRE(!watch.client.flush());
    CHECK(watch.got.items() == std::vector<std::string>{"wills/other gone"});
  }

  TEST_CASE("a retained will is kept for later subscribers") {
    broker_fixture broker;
    std::error_code ec;
    {
      auto options = with_will(broker.unix_url(), "sensor", "wills/sensor/state");
      options.will->retain = true;
      options.will->payload = "offline";
      Client sensor(options);
      REQUIRE(!sensor.connect());
      Client admin(at(broker.unix_url()));
      REQUIRE(!admin.connect());
      admin.admin("conn.kill", json{{"id", sensor.connection_id()}}.dump(), ec);
      REQUIRE(wait_until(
          [&] { return json::parse(admin.admin("retained.list", "{}", ec)).size() == 1; }));
    }
    collector got;
    Client late(at(broker.unix_url()));
    REQUIRE(!late.connect());
    auto sub = late.subscribe("wills/+/state", got.handler(), ec);
    REQUIRE(got.wait_for(1));
    CHECK(got.items()[0] == "wills/sensor/state offline");
  }
}
