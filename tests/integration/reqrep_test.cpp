// Request/reply through real sockets: to topics and queues, first reply wins, replies
// reach only the requester, no responders at once, timeouts, many requests in flight.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/async_client.hpp"
#include "ipc/client.hpp"
#include "options.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::wait_until;

namespace {
reply_function echo(std::string prefix) {
  return [prefix](const message& m) {
    return std::optional<std::string>(prefix + std::string(m.payload()));
  };
}
}  // namespace

TEST_CASE("request/reply over a topic and over a queue") {
  broker_fixture broker;
  Client server(at(broker.unix_url())), requester(at(broker.tcp_url()));
  REQUIRE(!server.connect());
  REQUIRE(!requester.connect());
  std::error_code ec;
  auto topic_server = server.serve("svc/+", echo("topic:"), false, ec);
  REQUIRE(!ec);
  auto queue_server = server.serve("svcq", echo("queue:"), true, ec);
  REQUIRE(!ec);
  auto reply = requester.request("svc/echo", "hi", {}, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(reply.payload == "topic:hi");
  CHECK(reply.topic.starts_with("$reply/"));
  request_options to_queue;
  to_queue.to_queue = true;
  reply = requester.request("svcq", "there", to_queue, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(reply.payload == "queue:there");
}

TEST_CASE("no responders fails at once, for topics and for queues") {
  broker_fixture broker;
  Client requester(at(broker.unix_url()));
  REQUIRE(!requester.connect());
  request_options slow;
  slow.timeout = std::chrono::seconds(60);  // a wait for the timeout would hang the test
  std::error_code ec;
  requester.request("nobody/home", "x", slow, ec);
  CHECK(ec == errc::no_responders);
  slow.to_queue = true;
  requester.request("empty-queue", "x", slow, ec);
  CHECK(ec == errc::no_responders);
  // A queue that is bound but has no consumer does not count as a responder either.
  requester.admin("queue.create", R"({"name":"bound","bind":["svc/bound"]})", ec);
  REQUIRE(!ec);
  slow.to_queue = false;
  requester.request("svc/bound", "x", slow, ec);
  CHECK(ec == errc::no_responders);
}

TEST_CASE("a request nobody answers times out") {
  broker_fixture broker;
  test::collector heard;
  Client silent(at(broker.unix_url())), requester(at(broker.unix_url()));
  REQUIRE(!silent.connect());
  REQUIRE(!requester.connect());
  std::error_code ec;
  auto sub = silent.subscribe("quiet", heard.handler(), ec);
  request_options quick;
  quick.timeout = std::chrono::milliseconds(200);
  requester.request("quiet", "hello?", quick, ec);
  CHECK(ec == errc::timeout);
  CHECK(heard.size() == 1);
}

TEST_CASE("the first reply wins and replies reach only the requester") {
  broker_fixture broker;
  test::collector everything;
  Client a(at(broker.unix_url())), b(at(broker.unix_url())), spy(at(broker.unix_url()));
  Client requester(at(broker.tcp_url()));
  for (auto* c : {&a, &b, &spy, &requester}) REQUIRE(!c->connect());
  std::error_code ec;
  auto sa = a.serve("race", echo("a:"), false, ec);
  auto sb = b.serve("race", echo("b:"), false, ec);
  auto snoop = spy.subscribe("#", everything.handler(), ec);
  spy.subscribe("$reply/#", everything.handler(), ec);
  CHECK(ec == errc::permission_denied);
  auto reply = requester.request("race", "go", {}, ec);
  REQUIRE(!ec);
  CHECK((reply.payload == "a:go" || reply.payload == "b:go"));
  REQUIRE(!a.flush());
  REQUIRE(!b.flush());
  auto status = nlohmann::json::parse(requester.admin("status", "", ec));
  CHECK(status["requests"] == 1);
  CHECK(status["replies"] == 1);  // the second reply was dropped
  for (const auto& item : everything.items()) CHECK(item.starts_with("race "));  // no reply seen
}

TEST_CASE("many concurrent requests are matched to the right requesters") {
  broker_fixture broker;
  Client server(at(broker.unix_url()));
  REQUIRE(!server.connect());
  std::error_code ec;
  auto s = server.serve("calc", echo("="), false, ec);
  REQUIRE(!ec);
  asio::io_context io;
  constexpr int requesters = 3, each = 100;
  std::vector<std::unique_ptr<async_client>> clients;
  int matched = 0, failed = 0;
  for (int r = 0; r < requesters; ++r) {
    clients.push_back(std::make_unique<async_client>(io.get_executor(), at(broker.tcp_url())));
    auto* client = clients.back().get();
    client->async_connect([client, r, &matched, &failed](std::error_code connect_error) {
      if (connect_error) return void(++failed);
      for (int i = 0; i < each; ++i) {
        std::string payload = std::to_string(r) + "/" + std::to_string(i);
        client->async_request("calc", payload, {},
                              [payload, &matched, &failed](std::error_code e, owned_message m) {
                                if (!e && m.payload == "=" + payload)
                                  ++matched;
                                else
                                  ++failed;
                              });
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (matched + failed < requesters * each && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  for (auto& c : clients) c->close();
  CHECK(failed == 0);
  CHECK(matched == requesters * each);
}

TEST_CASE("a request still open when its async_client is destroyed completes without it") {
  // With a last will, close() sends GOODBYE and the connection ends once it is out: the
  // broker's answer to the request (no responders), or the end of the connection, comes
  // after the async_client is gone; completing it must not touch the client (ASan).
  broker_fixture broker;
  asio::io_context io;
  auto options = at(broker.unix_url());
  options.will = ipc::will{"wills/gone", "gone", {}, false, {}};
  auto client = std::make_unique<async_client>(io.get_executor(), options);
  bool connected = false;
  client->async_connect([&](std::error_code e) { connected = !e; });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!connected && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  REQUIRE(connected);
  int completed = 0;
  std::error_code result;
  client->async_request("nobody/answers", "x", {}, [&](std::error_code e, owned_message) {
    ++completed;
    result = e;
  });
  client.reset();
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (completed == 0 && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(100));
  CHECK(completed == 1);
  CHECK(result);
  io.run_for(std::chrono::milliseconds(200));  // nothing more completes
  CHECK(completed == 1);
}

TEST_CASE("a responder may answer later, from another thread, with reply headers") {
  broker_fixture broker;
  Client server(at(broker.unix_url())), requester(at(broker.tcp_url()));
  REQUIRE(!server.connect());
  REQUIRE(!requester.connect());
  std::mutex mutex;
  std::vector<std::thread> workers;
  std::atomic<int> asked{0};
  // Each request is answered by a thread of its own (the reply is posted to the client's
  // thread, so it goes out after the handler has returned); a second call of the same
  // sender does nothing.
  async_reply_function later = [&](const message& m, reply_sender respond) {
    ++asked;
    std::string payload(m.payload());
    std::lock_guard lock(mutex);
    workers.emplace_back([payload, respond = std::move(respond)] {
      respond(reply{"done:" + payload, {{"status", "ok"}, {"worker", "w1"}}});
      respond(reply{"twice", {}});
    });
  };
  std::error_code ec;
  auto on_topic = server.serve("jobs/+", later, false, ec);
  REQUIRE(!ec);
  auto on_queue = server.serve("jobq", later, true, ec);
  REQUIRE(!ec);
  auto answer = requester.request("jobs/a", "1", {}, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(answer.payload == "done:1");
  CHECK(answer.headers == headers{{"status", "ok"}, {"worker", "w1"}});
  request_options to_queue;
  to_queue.to_queue = true;
  answer = requester.request("jobq", "2", to_queue, ec);
  REQUIRE_MESSAGE(!ec, ec.message());
  CHECK(answer.payload == "done:2");
  CHECK(asked == 2);
  // The queue request was acked after its reply: nothing is left unacknowledged.
  CHECK(wait_until([&] {
    auto info = nlohmann::json::parse(requester.admin("queue.info", R"({"name":"jobq"})", ec));
    return !ec && info["unacked"] == 0 && info["ready"] == 0;
  }));
  std::lock_guard lock(mutex);
  for (auto& worker : workers) worker.join();
}
