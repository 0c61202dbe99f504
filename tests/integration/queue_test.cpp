// Queues through real sockets against an in-process broker: competing consumers,
// prefetch, redelivery, dead letters, ttl, overflow, bindings, confirmed sends.
#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "options.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::wait_until;

namespace {

// Deliveries kept for assertions: payload, tag, delivery count.
struct inbox {
  struct item {
    std::string payload;
    std::uint64_t tag;
    std::uint32_t count;
    std::string topic;
  };
  message_handler handler() {
    return [this](const message& m) {
      std::lock_guard lock(mutex);
      items.push_back(
          {std::string(m.payload()), m.delivery_tag(), m.delivery_count(), std::string(m.topic())});
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return items.size();
  }
  item at(std::size_t i) {
    std::lock_guard lock(mutex);
    return items.at(i);
  }
  bool wait_for(std::size_t n) {
    return wait_until([&] { return size() >= n; });
  }
  std::mutex mutex;
  std::vector<item> items;
};

nlohmann::json queue_info(Client& admin, const std::string& name) {
  std::error_code ec;
  auto body = admin.admin("queue.info", nlohmann::json{{"name", name}}.dump(), ec);
  REQUIRE_MESSAGE(!ec, body);
  return nlohmann::json::parse(body);
}

// Ready messages of a queue, or -1 while it does not exist.
int ready(Client& admin, const std::string& name) {
  std::error_code ec;
  auto body = admin.admin("queue.info", nlohmann::json{{"name", name}}.dump(), ec);
  return ec ? -1 : nlohmann::json::parse(body)["ready"].get<int>();
}

void create(Client& admin, nlohmann::json args) {
  std::error_code ec;
  auto body = admin.admin("queue.create", args.dump(), ec);
  REQUIRE_MESSAGE(!ec, body);
}

}  // namespace

TEST_CASE("competing consumers split a queue with no loss and no duplicate") {
  broker_fixture broker;
  Client producer(at(broker.tcp_url()));
  REQUIRE(!producer.connect());
  constexpr int consumers = 3, messages = 300;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::unique_ptr<inbox>> boxes;
  std::vector<subscription> subs;
  for (int i = 0; i < consumers; ++i) {
    clients.push_back(std::make_unique<Client>(at(broker.unix_url())));
    REQUIRE(!clients.back()->connect());
    boxes.push_back(std::make_unique<inbox>());
    auto* client = clients.back().get();
    auto* box = boxes.back().get();
    std::error_code ec;
    subs.push_back(client->consume(
        "work", {10, false},
        [client, box](const message& m) {
          box->handler()(m);
          client->ack(m.delivery_tag());
        },
        ec));
    REQUIRE(!ec);
  }
  for (int i = 0; i < messages; ++i) REQUIRE(!producer.send("work", std::to_string(i)));
  std::set<std::string> seen;
  REQUIRE(wait_until([&] {
    std::size_t total = 0;
    for (auto& b : boxes) total += b->size();
    return total >= messages;
  }));
  for (auto& box : boxes) {
    CHECK(box->size() >= 50);  // round-robin: every consumer got a fair share
    for (auto& item : box->items) CHECK(seen.insert(item.payload).second);  // no duplicate
  }
  CHECK(seen.size() == messages);
  auto info = queue_info(producer, "work");
  CHECK(wait_until([&] { return queue_info(producer, "work")["unacked"] == 0; }));
  CHECK(info["ready"] == 0);
}

TEST_CASE("prefetch is respected exactly and an ack returns credit") {
  broker_fixture broker;
  Client producer(at(broker.unix_url())), consumer(at(broker.unix_url()));
  REQUIRE(!producer.connect());
  REQUIRE(!consumer.connect());
  for (int i = 0; i < 10; ++i) REQUIRE(!producer.send("slow", std::to_string(i)));
  inbox got;
  std::error_code ec;
  auto sub = consumer.consume("slow", {3, false}, got.handler(), ec);
  REQUIRE(!ec);
  REQUIRE(got.wait_for(3));
  REQUIRE(!consumer.flush());
  REQUIRE(!producer.flush());
  CHECK(got.size() == 3);
  auto info = queue_info(producer, "slow");
  CHECK(info["unacked"] == 3);
  CHECK(info["ready"] == 7);
  REQUIRE(!consumer.ack(got.at(0).tag));
  REQUIRE(got.wait_for(4));
  REQUIRE(!consumer.flush());
  CHECK(got.size() == 4);
  CHECK(got.at(3).payload == "3");  // in order
}

TEST_CASE("a consumer that goes away gets its unacked messages redelivered with a raised count") {
  broker_fixture broker;
  Client producer(at(broker.unix_url()));
  REQUIRE(!producer.connect());
  for (int i = 0; i < 5; ++i) REQUIRE(!producer.send("jobs", "job" + std::to_string(i)));
  {
    Client doomed(at(broker.tcp_url()));
    REQUIRE(!doomed.connect());
    inbox taken;
    std::error_code ec;
    auto sub = doomed.consume("jobs", {5, false}, taken.handler(), ec);
    REQUIRE(taken.wait_for(5));
    REQUIRE(!doomed.ack(taken.at(0).tag));  // one finished, four in progress
    REQUIRE(!doomed.flush());
  }  // the connection drops with four unacked
  Client next(at(broker.unix_url()));
  REQUIRE(!next.connect());
  inbox got;
  std::error_code ec;
  auto sub = next.consume("jobs", {10, false}, got.handler(), ec);
  REQUIRE(got.wait_for(4));
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(got.at(i).payload == "job" + std::to_string(i + 1));  // back at the head, in order
    CHECK(got.at(i).count == 2);
  }
}

TEST_CASE("nack: requeue, dead-letter and drop, max_deliveries dead-letters") {
  broker_fixture broker;
  Client client(at(broker.unix_url()));
  REQUIRE(!client.connect());
  create(client, {{"name", "flaky"}, {"dead_letter", "flaky.dead"}, {"max_deliveries", 2}});
  REQUIRE(!client.send("flaky", "poison"));
  inbox got;
  std::error_code ec;
  auto sub = client.consume(
      "flaky", {1, false},
      [&](const message& m) {
        got.handler()(m);
        client.nack(m.delivery_tag(), nack_disposition::requeue);
      },
      ec);
  REQUIRE(got.wait_for(2));
  CHECK(got.at(0).count == 1);
  CHECK(got.at(1).count == 2);
  CHECK(wait_until([&] { return ready(client, "flaky.dead") == 1; }));
  CHECK(queue_info(client, "flaky")["stats"]["dead_lettered"] == 1);
  sub.unsubscribe();

  REQUIRE(!client.send("flaky", "reject-me"));
  REQUIRE(!client.send("flaky", "drop-me"));
  inbox second;
  auto sub2 = client.consume(
      "flaky", {1, false},
      [&](const message& m) {
        second.handler()(m);
        client.nack(m.delivery_tag(), m.payload() == "reject-me" ? nack_disposition::dead_letter
                                                                 : nack_disposition::drop);
      },
      ec);
  REQUIRE(second.wait_for(2));
  CHECK(wait_until([&] { return ready(client, "flaky.dead") == 2; }));
  CHECK(queue_info(client, "flaky")["ready"] == 0);
}

TEST_CASE("expired messages are never delivered and go to the dead-letter queue") {
  broker_fixture broker;
  Client client(at(broker.unix_url()));
  REQUIRE(!client.connect());
  create(client, {{"name", "short"}, {"ttl", 50}, {"dead_letter", "short.dead"}});
  REQUIRE(!client.send("short", "stale"));
  CHECK(wait_until([&] { return ready(client, "short.dead") == 1; }));
  inbox got;
  std::error_code ec;
  auto sub = client.consume("short", {}, got.handler(), ec);
  REQUIRE(!client.send("short", "fresh"));
  REQUIRE(got.wait_for(1));
  REQUIRE(!client.flush());
  CHECK(got.size() == 1);
  CHECK(got.at(0).payload == "fresh");
  CHECK(queue_info(client, "short")["stats"]["expired"] == 1);
}

TEST_CASE("overflow: reject refuses the send, drop-oldest makes room") {
  broker_fixture broker;
  Client client(at(broker.unix_url()));
  REQUIRE(!client.connect());
  create(client, {{"name", "strict"}, {"max_length", 2}});
  create(client, {{"name", "lossy"}, {"max_length", 2}, {"overflow", "drop-oldest"}});
  CHECK(!client.send("strict", "1"));
  CHECK(!client.send("strict", "2"));
  CHECK(client.send("strict", "3") == errc::queue_full);
  create(client, {{"name", "tiny"}, {"max_bytes", 10}});
  CHECK(client.send("tiny", std::string(11, 'x')) == errc::queue_full);
  for (const char* m : {"1", "2", "3"}) CHECK(!client.send("lossy", m));
  inbox got;
  std::error_code ec;
  auto sub = client.consume("lossy", {}, got.handler(), ec);
  REQUIRE(got.wait_for(2));
  CHECK(got.at(0).payload == "2");
  CHECK(got.at(1).payload == "3");
}

TEST_CASE("a queue bound to topic patterns gets a copy of matching publishes") {
  broker_fixture broker;
  Client client(at(broker.unix_url()));
  REQUIRE(!client.connect());
  create(client, {{"name", "orders"}, {"bind", {"orders/+/created"}}});
  std::error_code ec;
  client.admin("queue.bind", R"({"name": "orders", "pattern": "audit/#"})", ec);
  REQUIRE(!ec);
  for (const char* topic : {"orders/1/created", "orders/2/paid", "audit/x", "other"})
    REQUIRE(!client.publish_confirmed(topic, topic));
  inbox got;
  auto sub = client.consume("orders", {}, got.handler(), ec);
  REQUIRE(got.wait_for(2));
  REQUIRE(!client.flush());
  CHECK(got.size() == 2);
  CHECK(got.at(0).topic == "orders/1/created");
  CHECK(got.at(1).topic == "audit/x");
  client.admin("queue.unbind", R"({"name": "orders", "pattern": "audit/#"})", ec);
  REQUIRE(!ec);
  REQUIRE(!client.publish_confirmed("audit/y", "y"));
  REQUIRE(!client.flush());
  CHECK(got.size() == 2);
}

TEST_CASE("queue admin: create, list, info, purge, delete, auto_create off") {
  broker_fixture broker([](config::broker_config& c) {
    c.queues.auto_create = false;
    c.queues.declared.push_back({"declared", {}});
  });
  Client client(at(broker.unix_url()));
  REQUIRE(!client.connect());
  CHECK(client.send("nowhere", "x") == errc::unknown_queue);
  CHECK(!client.send("declared", "x"));
  std::error_code ec;
  auto list = nlohmann::json::parse(client.admin("queue.list", "", ec));
  REQUIRE(list.size() == 1);
  CHECK(list[0]["name"] == "declared");
  CHECK(list[0]["ready"] == 1);
  auto purged = nlohmann::json::parse(client.admin("queue.purge", R"({"name":"declared"})", ec));
  CHECK(purged["purged"] == 1);
  client.admin("queue.create", R"({"name":"bad name"})", ec);
  CHECK(ec == errc::invalid_queue_name);
  client.admin("queue.create", R"({"name":"q","overflow":"block"})", ec);
  CHECK(ec == errc::invalid_argument);
  client.admin("queue.create", R"({"name":"q","bind":["a/#/b"]})", ec);
  CHECK(ec == errc::invalid_pattern);
  client.admin("queue.info", R"({"name":"q"})", ec);
  CHECK(ec == errc::unknown_queue);  // the refused create made nothing
  client.admin("queue.delete", R"({"name":"declared"})", ec);
  CHECK(!ec);
  CHECK(client.send("declared", "x") == errc::unknown_queue);
}

TEST_CASE("a consumer of a deleted queue is told, its connection keeps working") {
  broker_fixture broker;
  std::atomic<bool> told{false};
  auto options = at(broker.unix_url());
  options.on_error = [&](std::error_code ec, std::string_view) {
    if (ec == errc::unknown_queue) told = true;
  };
  Client consumer(options), admin(at(broker.unix_url()));
  REQUIRE(!consumer.connect());
  REQUIRE(!admin.connect());
  inbox got;
  std::error_code ec;
  auto sub = consumer.consume("temp", {}, got.handler(), ec);
  REQUIRE(!ec);
  admin.admin("queue.delete", R"({"name":"temp"})", ec);
  REQUIRE(!ec);
  CHECK(wait_until([&] { return told.load(); }));
  CHECK(!consumer.publish_confirmed("still/ok", "x"));
}

TEST_CASE("deliveries that arrive after a cancel go straight back to the queue") {
  broker_fixture broker;
  Client producer(at(broker.unix_url())), first(at(broker.unix_url()));
  Client second(at(broker.unix_url()));
  for (auto* c : {&producer, &first, &second}) REQUIRE(!c->connect());
  std::mutex mutex;  // guards `sub`, set by this thread and dropped by the handler
  subscription sub;
  std::atomic<int> seen_by_first{0};
  std::error_code ec;
  {
    std::lock_guard lock(mutex);
    sub = first.consume(
        "handoff", {10, false},
        [&](const message& m) {
          if (seen_by_first++ > 0) return;  // only the first is handled here
          first.ack(m.delivery_tag());
          std::lock_guard inner(mutex);
          sub.unsubscribe();  // on the client's thread: the CANCEL goes out at once
        },
        ec);
  }
  REQUIRE(!ec);
  for (int i = 0; i < 10; ++i) REQUIRE(!producer.send("handoff", std::to_string(i)));
  REQUIRE(ipc::test::wait_until([&] { return seen_by_first.load() >= 1; }));
  inbox rest;
  auto other = second.consume("handoff", {}, rest.handler(), ec);
  REQUIRE(!ec);
  // What the first consumer was sent after message 0 comes back while its connection stays
  // open, in the original order.
  bool all = rest.wait_for(10 - static_cast<std::size_t>(1));
  std::string state = queue_info(producer, "handoff").dump();
  INFO(state << "; second got " << rest.size() << ", first saw " << seen_by_first.load());
  REQUIRE(all);
  for (std::size_t i = 0; i < 9; ++i) CHECK(rest.at(i).payload == std::to_string(i + 1));
}

TEST_CASE("declare_queue creates a queue with typed options, once") {
  broker_fixture broker;
  Client admin(at(broker.unix_url()));
  REQUIRE(!admin.connect());
  queue_options options;
  options.max_length = 2;
  options.overflow = "drop-oldest";
  options.ttl = std::chrono::minutes(1);
  options.dead_letter = "orders.dead";
  options.max_deliveries = 3;
  options.single_active_consumer = true;
  options.bind = {"orders/\"quoted\"/+", "orders/#"};  // a pattern that needs escaping
  std::error_code ec;
  CHECK(admin.declare_queue("orders", options, ec));
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK_FALSE(admin.declare_queue("orders", options, ec));  // there already
  CHECK(!ec);
  auto info = nlohmann::json::parse(admin.admin("queue.info", R"({"name":"orders"})", ec));
  REQUIRE(!ec);
  CHECK(info["options"]["max_length"] == 2);
  CHECK(info["options"]["overflow"] == "drop-oldest");
  CHECK(info["options"]["ttl"] == 60000);
  CHECK(info["options"]["dead_letter"] == "orders.dead");
  CHECK(info["options"]["max_deliveries"] == 3);
  CHECK(info["options"]["single_active_consumer"] == true);
  CHECK(info["bind"] == nlohmann::json::array({"orders/\"quoted\"/+", "orders/#"}));
  // Publishes reach it through its bindings, and max_length drops the oldest.
  for (const char* payload : {"1", "2", "3"})
    REQUIRE(!admin.publish_confirmed("orders/x", payload));
  info = nlohmann::json::parse(admin.admin("queue.info", R"({"name":"orders"})", ec));
  CHECK(info["ready"] == 2);
  // Bad options are refused with the broker's reason.
  queue_options bad;
  bad.overflow = "sometimes";
  CHECK_FALSE(admin.declare_queue("other", bad, ec));
  CHECK(ec == errc::invalid_argument);
  CHECK(admin.last_error_message().find("overflow") != std::string::npos);
}

TEST_CASE("single_active_consumer: one consumer at a time, the next takes over in order") {
  broker_fixture broker;
  Client producer(at(broker.unix_url()));
  REQUIRE(!producer.connect());
  queue_options options;
  options.single_active_consumer = true;
  std::error_code ec;
  REQUIRE(producer.declare_queue("ordered", options, ec));
  std::mutex mutex;
  std::vector<std::string> log;  // "consumer:payload" in delivery order
  auto taker = [&](const std::string& who, Client& c, bool ack) {
    return [&, who, ack](const message& m) {
      {
        std::lock_guard lock(mutex);
        log.push_back(who + ":" + std::string(m.payload()));
      }
      if (ack) c.ack(m.delivery_tag());
    };
  };
  auto first = std::make_unique<Client>(at(broker.unix_url()));
  Client second(at(broker.tcp_url()));
  REQUIRE(!first->connect());
  REQUIRE(!second.connect());
  auto a = first->consume("ordered", {2, false}, taker("a", *first, false), ec);  // never acks
  REQUIRE(!ec);
  auto b = second.consume("ordered", {10, false}, taker("b", second, true), ec);
  REQUIRE(!ec);
  for (int i = 1; i <= 5; ++i) REQUIRE(!producer.send("ordered", std::to_string(i)));
  REQUIRE(wait_until([&] {
    std::lock_guard lock(mutex);
    return log.size() >= 2;
  }));
  REQUIRE(!second.flush());
  {
    std::lock_guard lock(mutex);
    CHECK(log == std::vector<std::string>{"a:1", "a:2"});  // b waits though it has credit
  }
  first.reset();  // the active consumer's connection ends: b takes over from message 1
  REQUIRE(wait_until([&] {
    std::lock_guard lock(mutex);
    return log.size() >= 7;
  }));
  std::lock_guard lock(mutex);
  CHECK(log == std::vector<std::string>{"a:1", "a:2", "b:1", "b:2", "b:3", "b:4", "b:5"});
}
