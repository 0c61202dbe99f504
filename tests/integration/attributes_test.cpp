// Message attributes through real sockets (docs/protocol.md §4.1.1, §4.2.1, §4.12.4):
// retained messages (new subscriptions, wildcards, the $ rule, clearing, permissions,
// limits, expiry, the admin commands), per-message expiry in queues, dead-letter headers,
// and bad attributes refused without harm.
#include <doctest/doctest.h>

#include <mutex>

#include <nlohmann/json.hpp>

#include "arrivals.hpp"
#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "options.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::collector;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

// Messages with their attributes, as a subscriber saw them.
struct seen {
  std::string topic, payload;
  bool retained = false;
  std::optional<std::chrono::system_clock::time_point> expires_at;
  ipc::headers headers;
};

class inbox {
 public:
  message_handler handler() {
    return [this](const message& m) {
      std::lock_guard lock(mutex_);
      items_.push_back({std::string(m.topic()), std::string(m.payload()), m.retained(),
                        m.expires_at(), m.headers()});
    };
  }
  std::vector<seen> items() const {
    std::lock_guard lock(mutex_);
    return items_;
  }
  bool wait_for(std::size_t n) const {
    return wait_until([&] { return items().size() >= n; });
  }

 private:
  mutable std::mutex mutex_;
  std::vector<seen> items_;
};

std::string header(const ipc::headers& headers, std::string_view key) {
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return "(none)";
}

}  // namespace

TEST_SUITE("attributes") {
  TEST_CASE("retained: a new subscription gets the last retained message of each topic") {
    broker_fixture broker;
    Client publisher(at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    REQUIRE(!publisher.publish_confirmed("home/kitchen/temp", "20", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("home/kitchen/temp", "21", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("home/hall/temp", "18", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("home/hall/light", "on"));  // not retained

    Client subscriber(at(broker.tcp_url()));
    REQUIRE(!subscriber.connect());
    inbox got;
    std::error_code ec;
    auto sub = subscriber.subscribe("home/+/temp", got.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(got.wait_for(2));
    auto items = got.items();
    CHECK(items[0].topic == "home/hall/temp");  // in topic order
    CHECK(items[0].payload == "18");
    CHECK(items[1].payload == "21");  // the last one
    CHECK(items[0].retained);
    CHECK(header(items[0].headers, "ipc-retained") == "1");
    // Live messages to an existing subscription are not marked as from the store.
    REQUIRE(!publisher.publish_confirmed("home/hall/temp", "19", {ipc::retain()}));
    REQUIRE(got.wait_for(3));
    CHECK(got.items()[2].payload == "19");
    CHECK_FALSE(got.items()[2].retained);
    CHECK(header(got.items()[2].headers, "ipc-retain") == "1");  // as published

    // An empty retained payload clears the topic; it is still delivered live.
    REQUIRE(!publisher.publish_confirmed("home/hall/temp", "", {ipc::retain()}));
    REQUIRE(got.wait_for(4));
    inbox late;
    auto late_sub = subscriber.subscribe("home/#", late.handler(), ec);
    REQUIRE(late.wait_for(1));
    REQUIRE(!subscriber.flush());
    CHECK(late.items().size() == 1);
    CHECK(late.items()[0].topic == "home/kitchen/temp");

    // The admin side: list and clear, in status too.
    auto list = json::parse(publisher.admin("retained.list", R"({"pattern":"home/#"})", ec));
    REQUIRE(!ec);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["topic"] == "home/kitchen/temp");
    CHECK(list[0]["payload_bytes"] == 2);
    auto status = json::parse(publisher.admin("status", "{}", ec));
    CHECK(status["retained"] == 1);
    auto cleared = json::parse(publisher.admin("retained.clear", R"({"all":true})", ec));
    CHECK(cleared["cleared"] == 1);
    CHECK(json::parse(publisher.admin("retained.list", "{}", ec)).empty());
  }

  TEST_CASE("retained: the $ rule, permissions and limits") {
    std::string token = "reader-token-0123456789";
    broker_fixture broker([&](config::broker_config& c) {
      c.limits.max_retained = 2;
      c.limits.max_retained_bytes = 4096;
      auto loaded = config::parse(R"({"auth": {"anonymous": true, "users": [
          {"name": "reader", "permissions": {"subscribe": ["public/#", "+/news"],
                                             "publish": ["public/#"]}}],
        "tokens": [{"hash": ")" + credentials::hash_token(token) +
                                      R"(", "user": "reader"}]}})",
                                  config::environment{});
      REQUIRE(loaded.ok());
      c.auth = loaded.config.auth;
    });
    Client owner(at(broker.unix_url()));
    REQUIRE(!owner.connect());
    REQUIRE(!owner.publish_confirmed("secret/plan", "x", {ipc::retain()}));
    REQUIRE(!owner.publish_confirmed("public/news", "y", {ipc::retain()}));
    // A third topic is over max_retained; replacing one is not.
    CHECK(owner.publish_confirmed("public/more", "z", {ipc::retain()}) == errc::limit_exceeded);
    CHECK(owner.last_error_message().find("limits.max_retained") != std::string::npos);
    CHECK(!owner.publish_confirmed("public/news", "y2", {ipc::retain()}));
    CHECK(owner.publish_confirmed("public/news", std::string(5000, 'b'), {ipc::retain()}) ==
          errc::limit_exceeded);  // over max_retained_bytes
    std::error_code ec;
    auto list = json::parse(owner.admin("retained.list", "{}", ec));
    CHECK(list.size() == 2);  // the refused publishes changed nothing

    // A reader that may not subscribe to secret/#: no retained secret for it, whatever
    // pattern it tries (security.md §3: a pattern must be covered by its permissions).
    auto options = at(broker.unix_url());
    options.token = token;
    Client reader(options);
    REQUIRE(!reader.connect());
    inbox got;
    auto refused = reader.subscribe("#", got.handler(), ec);
    CHECK(ec == errc::permission_denied);
    auto sub = reader.subscribe("+/news", got.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(got.wait_for(1));
    REQUIRE(!reader.flush());
    REQUIRE(got.items().size() == 1);
    CHECK(got.items()[0].topic == "public/news");
    CHECK(got.items()[0].payload == "y2");
    // It may not set or clear a retained message where it may not publish.
    CHECK(reader.publish_confirmed("secret/plan", "", {ipc::retain()}) == errc::permission_denied);
    CHECK(json::parse(owner.admin("retained.list", R"({"pattern":"secret/#"})", ec)).size() == 1);
  }

  TEST_CASE("retained: expiry ends a retained message, the remaining lifetime is visible") {
    broker_fixture broker;
    Client publisher(at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    REQUIRE(!publisher.publish_confirmed(
        "status/a", "short", {ipc::retain(), ipc::time_to_live(std::chrono::milliseconds(300))}));
    REQUIRE(!publisher.publish_confirmed(
        "status/b", "long", {ipc::retain(), ipc::time_to_live(std::chrono::hours(1))}));
    inbox first;
    std::error_code ec;
    auto sub = publisher.subscribe("status/#", first.handler(), ec);
    REQUIRE(first.wait_for(2));
    auto now = std::chrono::system_clock::now();
    REQUIRE(first.items()[1].expires_at);
    CHECK(*first.items()[1].expires_at > now + std::chrono::minutes(59));
    CHECK(*first.items()[1].expires_at <= now + std::chrono::hours(1));
    REQUIRE(wait_until([&] {  // status/a's 300 ms are up
      return json::parse(publisher.admin("retained.list", "{}", ec)).size() == 1;
    }));
    inbox second;
    auto sub2 = publisher.subscribe("status/#", second.handler(), ec);
    REQUIRE(second.wait_for(1));
    REQUIRE(!publisher.flush());
    REQUIRE(second.items().size() == 1);
    CHECK(second.items()[0].topic == "status/b");
    CHECK(json::parse(publisher.admin("retained.list", "{}", ec)).size() == 1);
  }

  TEST_CASE("expiry in a queue: an expired message is dead-lettered with why, from where, when") {
    broker_fixture broker([](config::broker_config& c) {
      config::queue_options work;
      work.dead_letter = "work.dead";
      c.queues.declared.emplace_back("work", work);
    });
    Client client(at(broker.unix_url()));
    REQUIRE(!client.connect());
    REQUIRE(!client.send("work", "stale",
                         {{"trace", "t1"}, ipc::time_to_live(std::chrono::milliseconds(100))}));
    REQUIRE(!client.send("work", "fresh", {ipc::time_to_live(std::chrono::hours(1))}));
    std::error_code ec;
    REQUIRE(wait_until([&] {  // the sweep (every 100 ms) finds it expired
      auto info = json::parse(client.admin("queue.info", R"({"name":"work"})", ec));
      return info["stats"]["expired"] == 1;
    }));
    inbox dead, live;
    auto dead_sub = client.consume("work.dead", {}, dead.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(dead.wait_for(1));
    auto d = dead.items()[0];
    CHECK(d.payload == "stale");
    CHECK(header(d.headers, "trace") == "t1");
    CHECK(header(d.headers, "ipc-death-reason") == "expired");
    CHECK(header(d.headers, "ipc-death-queue") == "work");
    CHECK(header(d.headers, "ipc-death-count") == "1");
    CHECK(header(d.headers, "ipc-death-deliveries") == "0");
    CHECK(header(d.headers, "ipc-ttl") == "(none)");  // it would expire again at once
    auto when = std::stoull(header(d.headers, "ipc-death-time"));
    auto now_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    CHECK(when <= now_ms);
    CHECK(when + 10'000 > now_ms);
    auto live_sub = client.consume("work", {}, live.handler(), ec);
    REQUIRE(live.wait_for(1));
    CHECK(live.items()[0].payload == "fresh");
    auto info = json::parse(client.admin("queue.info", R"({"name":"work"})", ec));
    CHECK(info["stats"]["expired"] == 1);
  }

  TEST_CASE("dead letters: a rejected message says so, with its deliveries and a count") {
    broker_fixture broker([](config::broker_config& c) {
      config::queue_options a, b;
      a.dead_letter = "b";
      b.dead_letter = "c";
      c.queues.declared.emplace_back("a", a);
      c.queues.declared.emplace_back("b", b);
    });
    Client client(at(broker.unix_url()));
    REQUIRE(!client.connect());
    REQUIRE(!client.send("a", "job"));
    std::error_code ec;
    auto reject = [&](const std::string& queue) {
      auto sub = client.consume(
          queue, {},
          [&](const message& m) { client.nack(m.delivery_tag(), nack_disposition::dead_letter); },
          ec);
      REQUIRE(!ec);
      REQUIRE(wait_until([&] {
        auto info = json::parse(client.admin("queue.info", json{{"name", queue}}.dump(), ec));
        return info["stats"]["dead_lettered"] == 1;
      }));
    };
    reject("a");
    reject("b");
    inbox dead;
    auto sub = client.consume("c", {}, dead.handler(), ec);
    REQUIRE(dead.wait_for(1));
    auto d = dead.items()[0];
    CHECK(header(d.headers, "ipc-death-reason") == "rejected");
    CHECK(header(d.headers, "ipc-death-queue") == "b");  // the latest dead-lettering
    CHECK(header(d.headers, "ipc-death-count") == "2");
    CHECK(header(d.headers, "ipc-death-deliveries") == "1");
  }

  TEST_CASE("delayed sends: held back until their time, never before, in time order") {
    broker_fixture broker;
    Client client(at(broker.unix_url()));
    REQUIRE(!client.connect());
    ipc::test::arrivals arrived;
    std::error_code ec;
    auto sub = client.consume("later", {}, arrived.handler(), ec);
    REQUIRE(!ec);
    auto sent = std::chrono::system_clock::now();
    REQUIRE(!client.send("later", "in 600 ms", {ipc::delay(std::chrono::milliseconds(600))}));
    REQUIRE(!client.send("later", "in 300 ms", {ipc::delay(std::chrono::milliseconds(300))}));
    REQUIRE(
        !client.send("later", "past",
                     {ipc::deliver_at(std::chrono::system_clock::now() - std::chrono::hours(1))}));
    auto at = std::chrono::system_clock::now() + std::chrono::milliseconds(450);
    REQUIRE(!client.send("later", "at +450 ms", {ipc::deliver_at(at)}));
    auto info = json::parse(client.admin("queue.info", R"({"name":"later"})", ec));
    CHECK(info["scheduled"] == 3);
    REQUIRE(arrived.wait_for(4));
    auto got = arrived.items();
    CHECK(got[0].first == "past");
    CHECK(got[1].first == "in 300 ms");
    CHECK(got[2].first == "at +450 ms");
    CHECK(got[3].first == "in 600 ms");
    // Never before its time (the broker took each after `sent`).
    CHECK(got[1].second - sent >= std::chrono::milliseconds(300));
    // ipc-deliver-at counts whole milliseconds: `at` without its fraction of one.
    CHECK(got[2].second >= std::chrono::floor<std::chrono::milliseconds>(at));
    CHECK(got[3].second - sent >= std::chrono::milliseconds(600));
  }

  TEST_CASE("bad attributes are refused with a clear error and touch nothing else") {
    broker_fixture broker;
    collector got;
    Client client(at(broker.unix_url()));
    REQUIRE(!client.connect());
    std::error_code ec;
    auto sub = client.subscribe("t/#", got.handler(), ec);
    REQUIRE(!ec);
    const std::vector<ipc::headers> bad = {
        {{"ipc-ttl", "0"}},          {{"ipc-ttl", "-5"}},
        {{"ipc-ttl", "abc"}},        {{"ipc-ttl", "99999999999999"}},
        {{"ipc-retain", "maybe"}},   {{"ipc-colour", "1"}},
        {{"ipc-priority", "-1"}},    {{"ipc-retained", "1"}},
        {{"ipc-death-reason", "x"}}, {{"IPC-TTL", "1"}, {"ipc-ttl", "2"}}};
    for (const auto& headers : bad) {
      CHECK(client.publish_confirmed("t/x", "p", headers) == errc::invalid_argument);
      CHECK(client.send("q", "p", headers) == errc::invalid_argument);
    }
    CHECK(client.last_error_message().find("ipc-ttl") != std::string::npos);
    CHECK(client.send("q", "p", {ipc::retain()}) == errc::invalid_argument);
    CHECK(client.last_error_message() == "only a publish can be retained");
    CHECK(client.publish_confirmed("t/x", "p", {ipc::delay(std::chrono::seconds(1))}) ==
          errc::invalid_argument);
    CHECK(client.last_error_message() == "only a send can be delayed");
    CHECK(client.send("q", "p",
                      {ipc::delay(std::chrono::seconds(1)),
                       ipc::deliver_at(std::chrono::system_clock::now())}) ==
          errc::invalid_argument);
    CHECK(client.last_error_message().find("exclude each other") != std::string::npos);
    CHECK(client.send("q", "p",
                      {ipc::deliver_at(std::chrono::system_clock::now() +
                                       std::chrono::hours(24 * 400))}) == errc::invalid_argument);
    CHECK(client.send("q", "p", {{"ipc-delay", "0"}}) == errc::invalid_argument);
    // Nothing was routed, queued or retained; the connection works on.
    REQUIRE(!client.publish_confirmed("t/ok", "fine"));
    REQUIRE(got.wait_for(1));
    CHECK(got.items() == std::vector<std::string>{"t/ok fine"});
    auto status = json::parse(client.admin("status", "{}", ec));
    CHECK(status["retained"] == 0);
    CHECK(status["queues"] == 0);
  }
}
