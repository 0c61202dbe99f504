// Real ipcd processes: --check, graceful stop, stale and contested socket files, and a
// client that reconnects and re-subscribes after the broker restarts.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "arrivals.hpp"
#include "collector.hpp"
#include "ipc/async_client.hpp"
#include "ipc/client.hpp"
#include "process.hpp"
#include "wait.hpp"

using namespace ipc;
using namespace ipc::test;

namespace {

// A socket path and a storage directory that outlive the ipcd processes using them: for
// tests across a restart.
struct restart_home {
  temp_dir dir;
  std::string listeners = R"([{"url":"unix://)" + dir.file("ipcd.sock") + R"("}])";
  std::string storage = R"("storage": {"dir": ")" + dir.file("data") + R"("})";
  std::unique_ptr<ipcd_process> start() const {
    auto broker = std::make_unique<ipcd_process>(listeners, storage);
    REQUIRE(broker->start());
    return broker;
  }
};

// Options of a client of `broker` that does not reconnect.
client_options once(const ipcd_process& broker) {
  client_options options;
  options.url = broker.unix_url();
  options.auto_reconnect = false;
  return options;
}

}  // namespace

TEST_CASE("ipcd --check reports every config error with its JSON path") {
  temp_dir dir;
  std::ofstream(dir.file("bad.json"))
      << R"({"listeners": [{"url": "ftp://x"}], "limits": {"max_payload": "big"}, "extra": 1})";
  auto bad = run_command({ipcd_binary(), "--check", "-c", dir.file("bad.json")});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("/listeners/0/url") != std::string::npos);
  CHECK(bad.err.find("/limits/max_payload") != std::string::npos);
  CHECK(bad.err.find("/extra") != std::string::npos);

  std::ofstream(dir.file("good.json")) << R"({"listeners": [{"url": "tcp://127.0.0.1:0"}]})";
  auto good = run_command({ipcd_binary(), "--check", "-c", dir.file("good.json")});
  CHECK(good.exit_code == 0);
  auto embedded = run_command({ipcd_binary(), "--check"});
  CHECK(embedded.exit_code == 0);
  auto missing = run_command({ipcd_binary(), "--check", "-c", dir.file("nope.json")});
  CHECK(missing.exit_code != 0);
  CHECK(run_command({ipcd_binary(), "--version"}).out.find("ipcd ") == 0);
}

TEST_CASE("SIGTERM stops the broker gracefully and removes its socket") {
  ipcd_process broker;
  REQUIRE(broker.start());
  std::string socket_path = broker.unix_url().substr(7);
  CHECK(std::filesystem::exists(socket_path));
  auto perms = std::filesystem::status(socket_path).permissions();
  CHECK(perms == (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                  std::filesystem::perms::group_read | std::filesystem::perms::group_write));
  client_options options;
  options.url = broker.unix_url();
  options.auto_reconnect = false;
  Client client(options);
  REQUIRE(!client.connect());
  auto code = broker.stop();
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(!std::filesystem::exists(socket_path));
  CHECK(broker.log().find("stopped") != std::string::npos);
}

TEST_CASE("log.format json writes one JSON object a line") {
  ipcd_process broker(R"([{"url":"tcp://127.0.0.1:0"}])", R"("log": {"format": "json"})");
  REQUIRE(broker.start());
  REQUIRE(broker.stop() == 0);
  auto text = broker.log();
  std::size_t lines = 0;
  for (std::size_t at = 0, end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
    auto line = nlohmann::json::parse(text.substr(at, end - at), nullptr, false);
    REQUIRE_MESSAGE(line.is_object(), text.substr(at, end - at));
    CHECK(line.contains("level"));
    CHECK(line.contains("msg"));
    ++lines;
  }
  CHECK(lines >= 3);  // listening, ready, stopping, stopped
  CHECK(text.find(R"("msg":"ipcd )") != std::string::npos);
}

TEST_CASE("a stale socket file is replaced, a live broker's socket is not taken over") {
  temp_dir shared;
  std::string listeners = R"([{"url":"unix://)" + shared.file("ipcd.sock") + R"("}])";
  {
    ipcd_process first(listeners);
    REQUIRE(first.start());
    ipcd_process second(listeners);
    CHECK(!second.start());  // exits: another broker listens there
    CHECK(second.log().find("another broker is already listening") != std::string::npos);
    first.kill9();  // leaves the socket file behind
  }
  CHECK(std::filesystem::exists(shared.file("ipcd.sock")));
  ipcd_process third(listeners);
  CHECK(third.start());
  client_options options;
  options.url = third.unix_url();
  options.auto_reconnect = false;
  Client client(options);
  CHECK(!client.connect());
}

TEST_CASE("a client reconnects and re-subscribes after the broker restarts") {
  temp_dir shared;
  std::string listeners = R"([{"url":"unix://)" + shared.file("ipcd.sock") + R"("}])";
  auto first = std::make_unique<ipcd_process>(listeners);
  REQUIRE(first->start());
  std::atomic<int> connects{0}, drops{0};
  client_options options;
  options.url = first->unix_url();
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  options.on_state = [&](connection_state state, std::error_code) {
    if (state == connection_state::connected) ++connects;
    if (state == connection_state::disconnected) ++drops;
  };
  collector got;
  Client subscriber(options);
  REQUIRE(!subscriber.connect());
  std::error_code ec;
  auto sub = subscriber.subscribe("restart/+", got.handler(), ec);
  REQUIRE(!ec);
  CHECK(first->stop() == 0);
  CHECK(wait_until([&] { return drops.load() >= 1; }));
  // Publishing while disconnected fails fast rather than buffering.
  CHECK(subscriber.publish("restart/x", "lost") == errc::not_connected);
  first.reset();
  ipcd_process second(listeners);
  REQUIRE(second.start());
  CHECK(wait_until([&] { return connects.load() >= 2; }));
  client_options publisher_options;
  publisher_options.url = second.unix_url();
  Client publisher(publisher_options);
  REQUIRE(!publisher.connect());
  // The re-subscription is in flight right after the reconnect: publish until it lands.
  CHECK(wait_until([&] {
    publisher.publish_confirmed("restart/1", "again");
    return got.size() >= 1;
  }));
  CHECK(got.items()[0] == "restart/1 again");
}

TEST_CASE("a consumer re-consumes after the broker restarts and gets what was stored") {
  restart_home home;
  auto first = home.start();
  client_options options;
  options.url = first->unix_url();
  options.reconnect_min = std::chrono::milliseconds(20);
  options.reconnect_max = std::chrono::milliseconds(200);
  collector got;
  Client consumer(options), producer(options);
  REQUIRE(!consumer.connect());
  REQUIRE(!producer.connect());
  std::error_code ec;
  queue_options durable;
  durable.durable = true;
  REQUIRE(consumer.declare_queue("restart.jobs", durable, ec));
  auto record = got.handler();
  auto sub = consumer.consume(
      "restart.jobs", {},
      [&](const message& m) {
        record(m);
        consumer.ack(m.delivery_tag());
      },
      ec);
  REQUIRE(!ec);
  REQUIRE(!producer.send("restart.jobs", "before"));
  CHECK(got.wait_for(1));
  CHECK(first->stop() == 0);
  first.reset();
  // Stored while the consumer is away: the new broker recovers it from the log.
  auto second = home.start();
  client_options late_options;
  late_options.url = second->unix_url();
  Client late_producer(late_options);
  REQUIRE(!late_producer.connect());
  REQUIRE(!late_producer.send("restart.jobs", "after"));
  // The consumer reconnects by itself, consumes again, and receives it.
  CHECK(got.wait_for(2));
  CHECK(got.items().back().ends_with("after"));
}

TEST_CASE(
    "retained messages survive kill -9 and a restart: replaced, cleared and expired ones not") {
  restart_home home;
  std::chrono::system_clock::time_point brief_ends;
  {
    auto first = home.start();
    auto options = once(*first);
    Client publisher(options);
    REQUIRE(!publisher.connect());
    // Confirmed: on disk before the OK (storage.fsync batch).
    REQUIRE(!publisher.publish_confirmed("dev/1/state", "old", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("dev/1/state", "new", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("dev/2/state", "gone", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed("dev/2/state", "", {ipc::retain()}));
    REQUIRE(!publisher.publish_confirmed(
        "dev/3/state", "brief",
        {ipc::retain(), ipc::time_to_live(std::chrono::milliseconds(200))}));
    brief_ends = std::chrono::system_clock::now() + std::chrono::milliseconds(200);
    REQUIRE(!publisher.publish_confirmed(
        "dev/4/state", "kept", {ipc::retain(), ipc::time_to_live(std::chrono::hours(1))}));
    first->kill9();
  }
  // The condition is the clock itself: dev/3 expires while the broker is down.
  std::this_thread::sleep_until(brief_ends + std::chrono::milliseconds(20));
  auto second = home.start();
  auto options = once(*second);
  Client subscriber(options);
  REQUIRE(!subscriber.connect());
  std::mutex mutex;
  std::vector<std::string> got;
  std::error_code ec;
  auto sub = subscriber.subscribe(
      "dev/+/state",
      [&](const message& m) {
        std::lock_guard lock(mutex);
        got.push_back(std::string(m.topic()) + " " + std::string(m.payload()) +
                      (m.retained() ? " retained" : "") + (m.expires_at() ? " ttl" : ""));
      },
      ec);
  REQUIRE(!ec);
  REQUIRE(!subscriber.flush());
  std::lock_guard lock(mutex);
  CHECK(got ==
        std::vector<std::string>{"dev/1/state new retained", "dev/4/state kept retained ttl"});
  CHECK(second->log().find("2 retained message(s) restored") != std::string::npos);
}

TEST_CASE("a durable priority queue keeps its order across kill -9 and a restart") {
  restart_home home;
  {
    auto first = home.start();
    auto options = once(*first);
    Client producer(options);
    REQUIRE(!producer.connect());
    queue_options durable;
    durable.durable = true;
    durable.max_priority = 5;
    std::error_code ec;
    REQUIRE(producer.declare_queue("triage", durable, ec));
    int n = 0;
    for (std::uint8_t priority : {1, 5, 0, 3, 5, 1}) {
      auto payload = "p" + std::to_string(priority) + "-" + std::to_string(++n);
      REQUIRE(!producer.send("triage", payload, {ipc::priority(priority)}));
    }
    first->kill9();
  }
  auto second = home.start();
  auto options = once(*second);
  Client consumer(options);
  REQUIRE(!consumer.connect());
  arrivals got;
  std::error_code ec;
  auto sub = consumer.consume("triage", {1, false}, got.acking(consumer), ec);
  REQUIRE(!ec);
  REQUIRE(got.wait_for(6));
  CHECK(got.payloads() == std::vector<std::string>{"p5-2", "p5-5", "p3-4", "p1-1", "p1-6", "p0-3"});
}

TEST_CASE("durable delayed messages fire on time after kill -9, or at once if their time passed") {
  restart_home home;
  auto due = std::chrono::system_clock::now() + std::chrono::milliseconds(2500);
  std::chrono::system_clock::time_point missed_due;
  {
    auto first = home.start();
    auto options = once(*first);
    Client producer(options);
    REQUIRE(!producer.connect());
    queue_options durable;
    durable.durable = true;
    std::error_code ec;
    REQUIRE(producer.declare_queue("timers", durable, ec));
    missed_due = std::chrono::system_clock::now() + std::chrono::milliseconds(300);
    REQUIRE(!producer.send("timers", "missed", {ipc::deliver_at(missed_due)}));
    REQUIRE(!producer.send("timers", "on time", {ipc::deliver_at(due)}));
    first->kill9();
  }
  // The condition is the clock itself: "missed" falls due while the broker is down.
  std::this_thread::sleep_until(missed_due + std::chrono::milliseconds(50));
  auto second = home.start();
  auto options = once(*second);
  Client consumer(options);
  REQUIRE(!consumer.connect());
  arrivals arrived;
  std::error_code ec;
  auto sub = consumer.consume("timers", {}, arrived.acking(consumer), ec);
  REQUIRE(!ec);
  REQUIRE(arrived.wait_for(2));
  auto got = arrived.items();
  CHECK(got[0].first == "missed");  // its time passed while the broker was down: at once
  CHECK(got[0].second < due);
  CHECK(got[1].first == "on time");
  CHECK(got[1].second >= due - std::chrono::milliseconds(5));  // not before (ms resolution)
}

TEST_CASE("connecting to a broker that is not running fails clearly") {
  temp_dir dir;
  client_options options;
  options.url = "unix://" + dir.file("none.sock");
  options.auto_reconnect = false;
  Client client(options);
  auto ec = client.connect();
  CHECK(ec);
  CHECK(ec.category() != ipc::error_category());  // an OS error: no such file
}

TEST_CASE("messages a killed consumer process held are redelivered with a raised count") {
  ipcd_process broker;
  REQUIRE(broker.start());
  auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {ipcctl_binary(), "--url", broker.unix_url()});
    return args;
  };
  for (int i = 0; i < 3; ++i)
    REQUIRE(run_command(ctl({"send", "jobs", "job" + std::to_string(i)})).exit_code == 0);
  // A worker that takes jobs and is still busy with the first when it is killed.
  child_process worker(ctl({"reply", "jobs", "--queue", "--exec", "sleep 5"}));
  client_options options;
  options.url = broker.unix_url();
  options.auto_reconnect = false;
  Client observer(options);
  REQUIRE(!observer.connect());
  auto unacked = [&] {
    std::error_code ec;
    auto body = observer.admin("queue.info", R"({"name":"jobs"})", ec);
    return ec ? -1 : nlohmann::json::parse(body)["unacked"].get<int>();
  };
  REQUIRE(wait_until([&] { return unacked() == 3; }));
  worker.signal(SIGKILL);
  REQUIRE(worker.wait());
  REQUIRE(wait_until([&] { return unacked() == 0; }));
  std::mutex mutex;
  std::vector<std::pair<std::string, std::uint32_t>> got;
  std::error_code ec;
  auto sub = observer.consume(
      "jobs", {},
      [&](const message& m) {
        std::lock_guard lock(mutex);
        got.emplace_back(std::string(m.payload()), m.delivery_count());
        observer.ack(m.delivery_tag());
      },
      ec);
  REQUIRE(!ec);
  REQUIRE(wait_until([&] {
    std::lock_guard lock(mutex);
    return got.size() == 3;
  }));
  std::lock_guard lock(mutex);
  for (int i = 0; i < 3; ++i) {
    CHECK(got[i].first == "job" + std::to_string(i));  // in order, back at the head
    CHECK(got[i].second == 2);
  }
}

TEST_CASE("ipcd refuses a socket directory others may write without the sticky bit") {
  temp_dir shared;
  std::filesystem::create_directory(shared.file("open"));
  std::filesystem::permissions(shared.file("open"), std::filesystem::perms::all);  // 0777
  ipcd_process broker(R"([{"url":"unix://)" + shared.file("open") + R"(/ipcd.sock"}])");
  CHECK_FALSE(broker.start());
  CHECK(broker.log().find("writable by others without the sticky bit") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(shared.file("open") + "/ipcd.sock"));
  // With the sticky bit (as /tmp has) it is fine.
  std::filesystem::permissions(shared.file("open"), std::filesystem::perms::sticky_bit,
                               std::filesystem::perm_options::add);
  ipcd_process sticky(R"([{"url":"unix://)" + shared.file("open") + R"(/ipcd.sock"}])");
  CHECK(sticky.start());
}
