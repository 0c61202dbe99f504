// ipcctl end to end as processes: output formats and exit codes of SPEC §6.
#include <doctest/doctest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "process.hpp"
#include "wait.hpp"

using namespace ipc::test;

namespace {

struct ctl {
  explicit ctl(std::string url) : url_(std::move(url)) {}
  command_result operator()(std::vector<std::string> args, const std::string& input = {}) const {
    args.insert(args.begin(), {ipcctl_binary(), "--url", url_});
    return run_command(args, input);
  }
  std::unique_ptr<child_process> spawn(std::vector<std::string> args) const {
    args.insert(args.begin(), {ipcctl_binary(), "--url", url_});
    return std::make_unique<child_process>(args);
  }
  // Waits until `pattern` shows in `ipcctl topic list` (a subscriber is ready).
  bool wait_subscribed(const std::string& pattern) const {
    return wait_until([&] {
      return (*this)({"topic", "list"}).out.find(pattern) != std::string::npos;
    });
  }
  std::string url_;
};

}  // namespace

TEST_CASE("ipcctl pub and sub: payload, -v, --json, stdin, headers, --count") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto plain = ipcctl.spawn({"sub", "news/#", "--count", "2"});
  auto verbose = ipcctl.spawn({"sub", "news/+", "--count", "2", "-v"});
  auto json = ipcctl.spawn({"sub", "news/#", "--count", "2", "--json"});
  REQUIRE(ipcctl.wait_subscribed("news/+"));
  REQUIRE(ipcctl.wait_subscribed("news/#"));
  // Wait until both news/# subscribers are registered.
  REQUIRE(wait_until([&] {
    auto topics = nlohmann::json::parse(ipcctl({"topic", "list", "--json"}).out);
    for (const auto& t : topics)
      if (t["pattern"] == "news/#" && t["subscribers"] == 2) return true;
    return false;
  }));
  CHECK(ipcctl({"pub", "news/a", "first", "-H", "k=v"}).exit_code == 0);
  ctl over_tcp(broker.tcp_url());
  CHECK(over_tcp({"pub", "news/b"}, "from stdin").exit_code == 0);
  REQUIRE(plain->wait() == 0);
  REQUIRE(verbose->wait() == 0);
  REQUIRE(json->wait() == 0);
  CHECK(plain->out() == "first\nfrom stdin\n");
  CHECK(verbose->out() == "news/a first\nnews/b from stdin\n");
  auto lines = json->out();
  auto first = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  CHECK(first["topic"] == "news/a");
  CHECK(first["payload"] == "first");
  CHECK(first["headers"]["k"] == "v");

  auto counted = ipcctl.spawn({"sub", "many", "--count", "5"});
  REQUIRE(ipcctl.wait_subscribed("many"));
  CHECK(ipcctl({"pub", "many", "x", "--count", "5"}).exit_code == 0);
  REQUIRE(counted->wait() == 0);
  CHECK(counted->out() == "x\nx\nx\nx\nx\n");
}

TEST_CASE("ipcctl pub --retain and --ttl, retained list and clear, send --ttl") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  CHECK(ipcctl({"pub", "home/kitchen/temp", "21.5", "--retain"}).exit_code == 0);
  CHECK(ipcctl({"pub", "alerts/door", "open", "--retain", "--ttl", "10m"}).exit_code == 0);
  auto first = ipcctl({"sub", "home/+/temp", "-v", "--count", "1", "--timeout", "5s"});
  CHECK(first.exit_code == 0);
  CHECK(first.out == "home/kitchen/temp 21.5\n");
  auto as_json = ipcctl({"sub", "alerts/#", "--json", "--count", "1", "--timeout", "5s"});
  auto line = nlohmann::json::parse(as_json.out);
  CHECK(line["retained"] == true);
  CHECK(line["headers"]["ipc-ttl"] == "600000");
  auto list = ipcctl({"retained", "list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("alerts/door") < list.out.find("home/kitchen/temp"));
  CHECK(list.out.find("never") != std::string::npos);
  CHECK(list.out.find(" ms") != std::string::npos);
  auto listed = nlohmann::json::parse(ipcctl({"retained", "list", "home/#", "--json"}).out);
  CHECK(listed.size() == 1);
  CHECK(ipcctl({"retained", "clear", "home/kitchen/temp"}).out ==
        "1 retained message(s) cleared\n");
  CHECK(ipcctl({"retained", "clear"}).exit_code == 1);  // a topic or --all
  CHECK(ipcctl({"retained", "clear", "--all"}).out == "1 retained message(s) cleared\n");
  CHECK(ipcctl({"pub", "a/b", "x", "--ttl", "soon"}).exit_code == 1);
  CHECK(ipcctl({"send", "jobs", "x", "--ttl", "0s"}).exit_code == 1);
  CHECK(ipcctl({"send", "jobs", "x", "--ttl", "30s"}).exit_code == 0);
  // Priorities and delays.
  CHECK(ipcctl({"queue", "create", "triage", "--max-priority", "5"}).exit_code == 0);
  CHECK(ipcctl({"send", "triage", "low", "--priority", "1"}).exit_code == 0);
  CHECK(ipcctl({"send", "triage", "high", "--priority", "9"}).exit_code == 0);  // capped at 5
  CHECK(ipcctl({"send", "triage", "x", "--deliver-at", "2020-01-01T00:00:00+01:00"}).exit_code ==
        0);  // past: at once
  CHECK(ipcctl({"send", "triage", "x", "--deliver-at", "tomorrow"}).exit_code == 1);
  CHECK(ipcctl({"send", "triage", "x", "--deliver-at", "2026-02-30T00:00:00Z"}).exit_code == 1);
  CHECK(ipcctl({"send", "triage", "x", "--delay", "1s", "--deliver-at", "2030-01-01T00:00:00Z"})
            .exit_code == 1);  // one or the other
  CHECK(ipcctl({"send", "triage", "x", "--priority", "300"}).exit_code == 1);
  // Long enough to be seen waiting, however slowly these processes start (sanitizers).
  CHECK(ipcctl({"send", "triage", "soon", "--delay", "3s"}).exit_code == 0);
  auto info = nlohmann::json::parse(ipcctl({"queue", "info", "triage", "--json"}).out);
  CHECK(info["options"]["max_priority"] == 5);
  CHECK(info["scheduled"] == 1);
  auto order = ipcctl({"recv", "triage", "--count", "4", "--timeout", "20s"});
  CHECK(order.out == "high\nlow\nx\nsoon\n");
  auto refused = ipcctl({"pub", "a/b", "x", "-H", "ipc-ttl=never"});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("ipc-ttl") != std::string::npos);
}

TEST_CASE("ipcctl sub --will-topic: a killed process's will is published, a normal exit's not") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto watcher = ipcctl.spawn({"sub", "workers/+", "-v", "--count", "1"});
  REQUIRE(ipcctl.wait_subscribed("workers/+"));
  // Exits normally after one message: it says goodbye, no will.
  auto polite = ipcctl.spawn({"sub", "jobs/a", "--count", "1", "--will-topic", "workers/polite",
                              "--will-payload", "dead"});
  REQUIRE(ipcctl.wait_subscribed("jobs/a"));
  CHECK(ipcctl({"pub", "jobs/a", "x"}).exit_code == 0);
  REQUIRE(polite->wait() == 0);
  // Killed with SIGKILL: the broker sees the socket close without a goodbye.
  auto doomed = ipcctl.spawn({"sub", "jobs/b", "--will-topic", "workers/doomed", "--will-payload",
                              "dead", "--will-retain"});
  REQUIRE(ipcctl.wait_subscribed("jobs/b"));
  doomed->signal(SIGKILL);
  REQUIRE(watcher->wait() == 0);
  CHECK(watcher->out() == "workers/doomed dead\n");
  auto retained = ipcctl({"sub", "workers/+", "-v", "--count", "1", "--timeout", "5s"});
  CHECK(retained.out == "workers/doomed dead\n");
  CHECK(ipcctl({"sub", "x", "--will-payload", "p"}).exit_code == 1);  // needs --will-topic
}

TEST_CASE("ipcctl exit codes") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto too_big = ipcctl({"pub", "t"}, std::string(1024 * 1024 + 1, 'x'));
  CHECK(too_big.exit_code == 4);
  CHECK(too_big.err.find("max_payload") != std::string::npos);
  CHECK(ipcctl({"pub", "t"}, std::string(1024 * 1024, 'x')).exit_code == 0);
  CHECK(ipcctl({"pub", "bad/+", "x"}).exit_code == 4);
  CHECK(ipcctl({"sub", "bad/#/x"}).exit_code == 4);
  CHECK(ipcctl({"conn", "kill", "999999"}).exit_code == 4);
  CHECK(ipcctl({"no-such-verb"}).exit_code == 1);
  CHECK(ipcctl({"pub"}).exit_code == 1);
  CHECK(ipcctl({"--timeout", "soon", "status"}).exit_code == 1);
  CHECK(ipcctl({"sub", "quiet", "--count", "1", "--timeout", "300ms"}).exit_code == 3);
  temp_dir dir;
  ctl nowhere("unix://" + dir.file("none.sock"));
  auto refused = nowhere({"status"});
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("cannot connect") != std::string::npos);
}

TEST_CASE("ipcctl status, topic list, conn list and conn kill, human and --json") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.tcp_url());
  auto status = ipcctl({"status"});
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("version") != std::string::npos);
  CHECK(status.out.find("uptime_s") != std::string::npos);
  auto status_json = nlohmann::json::parse(ipcctl({"status", "--json"}).out);
  CHECK(status_json["version"] == IPCD_VERSION);
  CHECK(status_json.contains("memory_bytes"));

  auto sub = ipcctl.spawn({"sub", "watched/+"});
  REQUIRE(ipcctl.wait_subscribed("watched/+"));
  auto topics = ipcctl({"topic", "list"});
  CHECK(topics.out.starts_with("PATTERN"));
  auto topics_json = nlohmann::json::parse(ipcctl({"topic", "list", "--json"}).out);
  REQUIRE(topics_json.size() == 1);
  CHECK(topics_json[0]["subscribers"] == 1);

  auto conns = ipcctl({"conn", "list"});
  CHECK(conns.out.starts_with("ID"));
  CHECK(conns.out.find("PROTOCOL") != std::string::npos);
  CHECK(conns.out.find("native") != std::string::npos);
  auto conns_json = nlohmann::json::parse(ipcctl({"conn", "list", "--json"}).out);
  std::uint64_t sub_id = 0;
  for (const auto& c : conns_json)
    if (c["subscriptions"] == 1) sub_id = c["id"];
  REQUIRE(sub_id != 0);
  CHECK(ipcctl({"conn", "kill", std::to_string(sub_id)}).exit_code == 0);
  // The killed subscriber reconnects by itself (ipcctl sub keeps going); the kill shows in the log.
  CHECK(wait_until([&] { return broker.log().find("killed by connection") != std::string::npos; }));
  sub->signal(SIGTERM);
  CHECK(sub->wait() == 0);
}

TEST_CASE("ipcctl bench pubsub verifies every message and reports a rate") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto result =
      ipcctl({"bench", "pubsub", "--msgs", "20000", "--size", "128", "--subs", "2", "--json"});
  REQUIRE(result.exit_code == 0);
  auto report = nlohmann::json::parse(result.out);
  CHECK(report["msgs"] == 20000);
  CHECK(report["subs"] == 2);
  CHECK(report["out_of_order"] == 0);
  CHECK(report["delivered_per_s"].get<double>() > 0);
  auto human = ipcctl({"bench", "pubsub", "--msgs", "1000"});
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("msgs/s delivered") != std::string::npos);
}

TEST_CASE("ipcctl benches running at once against one broker stay apart") {
  // Each default topic has a random part: no bench sees the other's messages (which it
  // would count as out of order) or answers the other's requests.
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  std::vector<std::unique_ptr<child_process>> benches;
  for (int i = 0; i < 2; ++i) {
    benches.push_back(ipcctl.spawn({"bench", "pubsub", "--msgs", "300000", "--json"}));
    benches.push_back(ipcctl.spawn({"bench", "reqrep", "--msgs", "3000", "--json"}));
  }
  for (auto& bench : benches) {
    auto status = bench->wait(std::chrono::seconds(60));
    REQUIRE(status.has_value());
    CHECK_MESSAGE(*status == 0, bench->err());
    auto report = nlohmann::json::parse(bench->out());
    if (report["bench"] == "pubsub") CHECK(report["out_of_order"] == 0);
  }
}

TEST_CASE("ipcctl bench pubsub ends with a timeout when deliveries stall") {
  // Subscribers that lose messages (slow_consumer drop, small output limit) never catch
  // up: the publisher waits on its window until --timeout, then the bench reports.
  ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                      R"("limits": {"max_payload": 1024, "max_header_bytes": 1024,
                                    "max_pending_bytes": 150000, "slow_consumer": "drop"})");
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto stalled = ipcctl({"--timeout", "2s", "bench", "pubsub", "--msgs", "100000000", "--subs", "4",
                         "--size", "1000"});
  CHECK(stalled.exit_code == 3);
  CHECK(stalled.err.find("deliveries arrived") != std::string::npos);
}

TEST_CASE("ipcctl bench oneway ends with a timeout when a message never arrives") {
  // The broker refuses the publish (a reserved topic, which a client may subscribe to):
  // nothing arrives, and the watchdog ends the run after --timeout with the reason.
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto stalled = ipcctl({"--timeout", "1s", "bench", "oneway", "--topic", "$bench/x"});
  CHECK(stalled.exit_code == 3);
  CHECK(stalled.err.find("timed out") != std::string::npos);
  CHECK(stalled.err.find("reserved for the broker") != std::string::npos);
}

TEST_CASE("ipcctl bench pubsub reports a subscriber the broker disconnects, at once") {
  // A subscriber the broker ends (here by conn kill; a slow consumer under the default
  // policy the same way) ends the bench with the broker's reason, not with a timeout once
  // the publisher's window stalls.
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto bench = ipcctl.spawn({"--timeout", "120s", "bench", "pubsub", "--msgs", "1000000000"});
  std::uint64_t sub_id = 0;
  REQUIRE(wait_until([&] {
    for (const auto& c : nlohmann::json::parse(ipcctl({"conn", "list", "--json"}).out))
      if (c["subscriptions"] == 1) sub_id = c["id"];
    return sub_id != 0;
  }));
  CHECK(ipcctl({"conn", "kill", std::to_string(sub_id)}).exit_code == 0);
  auto status = bench->wait(std::chrono::seconds(30));
  REQUIRE(status.has_value());
  CHECK(*status != 0);
  CHECK_MESSAGE(bench->err().find("bench: subscriber") != std::string::npos, bench->err());
  CHECK_MESSAGE(bench->err().find("administrator") != std::string::npos, bench->err());
  CHECK(bench->err().find("deliveries arrived") == std::string::npos);
}

TEST_CASE("ipcctl send and recv: confirmed sends, --count, --json, exit codes") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  CHECK(ipcctl({"send", "jobs", "one"}).exit_code == 0);
  CHECK(ipcctl({"send", "jobs", "-H", "k=v"}, "two").exit_code == 0);
  CHECK(ipcctl({"send", "jobs", "more", "--count", "3"}).exit_code == 0);
  auto first = ipcctl({"recv", "jobs", "--count", "2"});
  CHECK(first.exit_code == 0);
  CHECK(first.out == "one\ntwo\n");
  auto json = ipcctl({"recv", "jobs", "--count", "1", "--json"});
  auto line = nlohmann::json::parse(json.out);
  CHECK(line["payload"] == "more");
  CHECK(line["delivery_count"] == 1);  // nothing beyond the count was delivered before
  auto info = nlohmann::json::parse(ipcctl({"queue", "info", "jobs", "--json"}).out);
  CHECK(info["ready"] == 2);
  CHECK(info["unacked"] == 0);
  CHECK(info["stats"]["redelivered"] == 0);
  CHECK(ipcctl({"recv", "empty", "--count", "1", "--timeout", "300ms"}).exit_code == 3);
  CHECK(ipcctl({"send", "bad/name", "x"}).exit_code == 4);
  CHECK(ipcctl({"queue", "create", "small", "--max-length", "1"}).exit_code == 0);
  CHECK(ipcctl({"send", "small", "a"}).exit_code == 0);
  auto full = ipcctl({"send", "small", "b"});
  CHECK(full.exit_code == 4);
  CHECK(full.err.find("full") != std::string::npos);
}

TEST_CASE("ipcctl req and reply: --echo, --exec, --queue, no responders") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.tcp_url());
  auto echo = ipcctl.spawn({"reply", "svc/echo", "--echo", "--count", "1"});
  REQUIRE(ipcctl.wait_subscribed("svc/echo"));
  auto answered = ipcctl({"req", "svc/echo", "ping"});
  CHECK(answered.exit_code == 0);
  CHECK(answered.out == "ping\n");
  CHECK(echo->wait() == 0);

  auto shout = ipcctl.spawn({"reply", "upper", "--queue", "--exec", "tr a-z A-Z", "--count", "1"});
  REQUIRE(wait_until([&] {
    auto info = ipcctl({"queue", "info", "upper", "--json"});
    return info.exit_code == 0 && nlohmann::json::parse(info.out)["consumers"] == 1;
  }));
  auto upper = ipcctl({"req", "upper", "--queue", "quiet please"});
  CHECK(upper.exit_code == 0);
  CHECK(upper.out == "QUIET PLEASE\n");
  CHECK(shout->wait() == 0);

  auto nobody = ipcctl({"req", "nobody/home", "x"});
  CHECK(nobody.exit_code == 3);
  CHECK(nobody.err.find("no responders") != std::string::npos);
}

TEST_CASE("ipcctl queue verbs, human and --json") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto created =
      ipcctl({"queue", "create", "orders", "--ttl", "1m", "--max-deliveries", "3", "--dead-letter",
              "orders.dead", "--bind", "orders/#", "--overflow", "drop-oldest"});
  CHECK(created.exit_code == 0);
  CHECK(created.out == "queue orders created\n");
  CHECK(ipcctl({"queue", "create", "orders"}).out == "queue orders exists already\n");
  auto info = nlohmann::json::parse(ipcctl({"queue", "info", "orders", "--json"}).out);
  CHECK(info["options"]["ttl"] == 60000);
  CHECK(info["options"]["overflow"] == "drop-oldest");
  CHECK(info["bind"] == nlohmann::json::array({"orders/#"}));
  CHECK(ipcctl({"queue", "info", "orders"}).out.find("max_deliveries") != std::string::npos);
  CHECK(ipcctl({"pub", "orders/1", "o1"}).exit_code == 0);
  CHECK(ipcctl({"queue", "bind", "orders", "legacy/+"}).exit_code == 0);
  CHECK(ipcctl({"pub", "legacy/x", "o2"}).exit_code == 0);
  CHECK(ipcctl({"queue", "unbind", "orders", "legacy/+"}).exit_code == 0);
  CHECK(ipcctl({"pub", "legacy/y", "lost"}).exit_code == 0);
  auto list = ipcctl({"queue", "list"});
  CHECK(list.out.starts_with("NAME"));
  auto listed = nlohmann::json::parse(ipcctl({"queue", "list", "--json"}).out);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["ready"] == 2);
  CHECK(ipcctl({"queue", "purge", "orders"}).out == "queue orders purged\n");
  CHECK(ipcctl({"queue", "delete", "orders"}).exit_code == 0);
  CHECK(ipcctl({"queue", "info", "orders"}).exit_code == 4);
  CHECK(ipcctl({"queue", "create", "x", "--overflow", "block"}).exit_code == 4);
  CHECK(ipcctl({"queue", "create", "x", "--ttl", "soon"}).exit_code == 1);
}

TEST_CASE("ipcctl bench queue and bench reqrep report their figures") {
  ipcd_process broker;
  REQUIRE(broker.start());
  ctl ipcctl(broker.unix_url());
  auto queue = ipcctl({"bench", "queue", "--msgs", "20000", "--consumers", "2", "--json"});
  REQUIRE(queue.exit_code == 0);
  auto q = nlohmann::json::parse(queue.out);
  CHECK(q["duplicates"] == 0);
  CHECK(q["acked_per_s"].get<double>() > 0);
  auto reqrep = ipcctl({"bench", "reqrep", "--msgs", "500", "--json"});
  REQUIRE(reqrep.exit_code == 0);
  auto r = nlohmann::json::parse(reqrep.out);
  CHECK(r["p50_us"].get<double>() > 0);
  CHECK(r["p50_us"].get<double>() <= r["p99_us"].get<double>());
  CHECK(r["p99_us"].get<double>() <= r["max_us"].get<double>());
  auto oneway = ipcctl({"bench", "oneway", "--msgs", "300", "--json"});
  REQUIRE(oneway.exit_code == 0);
  auto one = nlohmann::json::parse(oneway.out);
  CHECK(one["msgs"] == 300);
  CHECK(one["p50_us"].get<double>() > 0);
  CHECK(one["p99_us"].get<double>() >= one["p50_us"].get<double>());
  CHECK(ipcctl({"bench", "oneway", "--msgs", "50"}).out.find("publish -> delivery us p50") !=
        std::string::npos);
  auto via_queue = ipcctl({"bench", "reqrep", "--msgs", "200", "--queue"});
  CHECK(via_queue.exit_code == 0);
  CHECK(via_queue.out.find("p99.9") != std::string::npos);
  auto durable = ipcctl({"bench", "queue", "--durable", "--msgs", "5000", "--producers", "2",
                         "--in-flight", "50", "--json"});
  REQUIRE_MESSAGE(durable.exit_code == 0, durable.err);
  auto d = nlohmann::json::parse(durable.out);
  CHECK(d["fsync"] == "batch");
  CHECK(d["confirmed_per_s"].get<double>() > 0);
  CHECK(d["confirm_p50_us"].get<double>() <= d["confirm_p99_us"].get<double>());
  CHECK(d["duplicates"] == 0);
  CHECK(ipcctl({"queue", "info", "bench.durable", "--json"}).out.find("\"durable\":true") !=
        std::string::npos);
  // A queue that exists and is not durable is not measured as if it were.
  REQUIRE(ipcctl({"queue", "create", "plain"}).exit_code == 0);
  auto wrong = ipcctl({"bench", "queue", "--durable", "--msgs", "10", "--queue", "plain"});
  CHECK(wrong.exit_code != 0);
  CHECK(wrong.err.find("is not durable") != std::string::npos);
}
