// NATS uplinks (docs/uplinks.md) against a real 3-node nats-server cluster on loopback,
// with two or three real ipcd processes standing in for hosts (their own sockets and
// storage): pub/sub across hosts without echoes, request/reply both ways with no
// responders kept, a NATS queue group sharing work between hosts, a node killed while
// traffic flows, durable exports across a whole-cluster outage and a kill -9 of the
// broker, TLS to the cluster, and the status, list and metrics that show it all.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "ipc/credentials/nkey.hpp"
#include "ipcctl_driver.hpp"
#include "nats_cluster.hpp"
#include "process.hpp"
#include "test_pki.hpp"
#include "wait.hpp"

using ipc::test::child_process;
using ipc::test::finished;
using ipc::test::ipcctl;
using ipc::test::ipcctl_binary;
using ipc::test::ipcd_process;
using ipc::test::lines;
using ipc::test::nats_cluster;
using ipc::test::run_command;
using ipc::test::subscribed;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

const std::string local_only = R"([{"url":"unix://{dir}/ipcd.sock"}])";

// The uplinks section: one uplink "hub" to `servers` with `rules` (JSON members), quick to
// notice a lost server and to come back.
std::string uplink_config(const std::vector<std::string>& servers, const std::string& rules) {
  json list = servers;
  return R"("uplinks": [{"name": "hub", "servers": )" + list.dump() + ", " + rules +
         R"(, "reconnect_wait_ms": 50, "max_reconnect_wait_ms": 400, "ping_interval_ms": 500,
             "connect_timeout_ms": 1000}])";
}

json uplink_list(const ipcd_process& broker) {
  auto listed = run_command(ipcctl(broker, {"--json", "uplink", "list"}));
  if (listed.exit_code != 0) return json::array();
  return json::parse(listed.out, nullptr, false);
}

bool connected(const ipcd_process& broker) {
  return wait_until([&] {
    auto list = uplink_list(broker);
    return list.is_array() && !list.empty() && list[0]["state"] == "connected";
  });
}

// Starts `broker` and waits until its uplink is connected.
bool up(ipcd_process& broker) { return broker.start() && connected(broker); }

// Waits until queue `name` has a consumer.
bool consuming(const ipcd_process& broker, const std::string& name) {
  return wait_until([&] {
    auto listed = run_command(ipcctl(broker, {"--json", "queue", "list"}));
    if (listed.exit_code != 0) return false;
    for (const auto& q : json::parse(listed.out))
      if (q["name"] == name && q["consumers"].get<int>() > 0) return true;
    return false;
  });
}

// Publishes probes to `topic` on `from` until a subscriber on `to` has one: the rules are
// subscribed in the cluster and interest has spread over its routes.
bool flowing(const ipcd_process& from, const ipcd_process& to, const std::string& topic) {
  child_process probe(ipcctl(to, {"sub", topic, "--count", "1"}));
  if (!subscribed(to)) return false;
  return wait_until(
      [&] {
        (void)run_command(ipcctl(from, {"pub", topic, "probe"}));
        return probe.wait(std::chrono::milliseconds(100)).has_value();
      },
      std::chrono::seconds(15));
}

// Publishes one message on a bare NATS connection (Python's socket module, the protocol
// by hand: what any client written elsewhere sends), and waits for the server's PONG.
ipc::test::command_result nats_publish(int port, const std::string& subject,
                                       const std::string& payload) {
  std::string script = R"(
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
s.sendall(('CONNECT {"verbose":false}\r\nPUB %s %d\r\n%s\r\nPING\r\n'
           % (sys.argv[2], len(sys.argv[3]), sys.argv[3])).encode())
data = b""
while b"PONG" not in data:
    data += s.recv(4096)
)";
  return run_command({"/usr/bin/python3", "-c", script, std::to_string(port), subject, payload});
}

}  // namespace

TEST_SUITE("uplinks") {
  TEST_CASE("pub/sub across hosts through a NATS cluster, both ways, without echoes") {
    nats_cluster cluster;
    REQUIRE(cluster.start());
    // Symmetric rules on both hosts: what each exports, the other imports, and back.
    auto rules = R"("export": ["sensors/#"], "import": ["sensors/#"])";
    ipcd_process a(local_only, uplink_config({cluster.url(0)}, rules));
    ipcd_process b(local_only, uplink_config({cluster.url(1)}, rules));
    REQUIRE(up(a));
    REQUIRE(up(b));
    REQUIRE(flowing(a, b, "sensors/probe"));
    REQUIRE(flowing(b, a, "sensors/probe"));

    child_process on_a(ipcctl(a, {"sub", "sensors/#", "-v", "--count", "4"}));
    child_process on_b(ipcctl(b, {"sub", "sensors/#", "-v", "--count", "4"}));
    REQUIRE(subscribed(a));
    REQUIRE(subscribed(b));
    // Topics that need the mapping's escapes, both ways.
    for (auto [topic, payload] : {std::pair{"sensors/a.b", "a1"}, {"sensors//x y", "a2"}})
      REQUIRE(run_command(ipcctl(a, {"pub", topic, payload})).exit_code == 0);
    for (auto [topic, payload] : {std::pair{"sensors/50%", "b1"}, {"sensors/b/*", "b2"}})
      REQUIRE(run_command(ipcctl(b, {"pub", topic, payload})).exit_code == 0);
    REQUIRE(finished(on_a));
    REQUIRE(finished(on_b));
    // Each host saw each message once: its own and the other's, none came back twice.
    std::multiset<std::string> expected{"sensors/a.b a1", "sensors//x y a2", "sensors/50% b1",
                                        "sensors/b/* b2"};
    auto seen_a = lines(on_a.out()), seen_b = lines(on_b.out());
    CHECK(std::multiset<std::string>(seen_a.begin(), seen_a.end()) == expected);
    CHECK(std::multiset<std::string>(seen_b.begin(), seen_b.end()) == expected);
    // The counters agree: nothing echoed back, nothing dropped.
    auto listed = uplink_list(a);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["state"] == "connected");
    CHECK(listed[0]["cluster"] == "ipcd-tests");
    CHECK(listed[0]["messages_out"].get<int>() >= 2);
    CHECK(listed[0]["messages_in"].get<int>() >= 2);
    CHECK(listed[0]["dropped_down"] == 0);
    // The cluster told the uplink of its other nodes.
    CHECK(listed[0]["servers"].size() >= 3);
  }

  TEST_CASE("request/reply across hosts: local responders first, no responders kept") {
    nats_cluster cluster;
    REQUIRE(cluster.start());
    auto rules = R"("export": ["svc/#", "ask/#", {"pattern": "dsvc/#", "durable": true}],
                    "import": ["svc/#", "dsvc/#"])";
    ipcd_process a(local_only, uplink_config({cluster.url(0)}, rules));
    ipcd_process b(local_only, uplink_config({cluster.url(2)}, rules));
    REQUIRE(up(a));
    REQUIRE(up(b));
    REQUIRE(flowing(a, b, "svc/probe"));
    // A responder on B answers a request made on A, through the cluster.
    child_process replier(ipcctl(b, {"reply", "svc/echo", "--echo", "--count", "1"}));
    REQUIRE(subscribed(b));
    auto answered = run_command(ipcctl(a, {"--timeout", "5s", "req", "svc/echo", "ping"}));
    CHECK_MESSAGE(answered.exit_code == 0, answered.err);
    CHECK(answered.out == "ping\n");
    REQUIRE(finished(replier));
    // A responder on A itself wins: the request never leaves the host.
    child_process local(ipcctl(a, {"reply", "svc/time", "--exec", "echo local", "--count", "1"}));
    child_process remote(ipcctl(b, {"reply", "svc/time", "--exec", "echo remote", "--count", "1"}));
    REQUIRE(subscribed(a));
    REQUIRE(subscribed(b));
    auto local_answer = run_command(ipcctl(a, {"--timeout", "5s", "req", "svc/time", "x"}));
    CHECK(local_answer.out.starts_with("local\n"));
    CHECK(finished(local));
    CHECK_FALSE(remote.wait(std::chrono::milliseconds(300)).has_value());
    remote.signal(SIGTERM);
    // The same through a durable export (the spool queue is a remote way too).
    child_process local_d(
        ipcctl(a, {"reply", "dsvc/time", "--exec", "echo local", "--count", "1"}));
    child_process remote_d(
        ipcctl(b, {"reply", "dsvc/time", "--exec", "echo remote", "--count", "1"}));
    REQUIRE(wait_until([&] {
      auto topics = run_command(ipcctl(a, {"--json", "topic", "list"})).out;
      return topics.find("dsvc/time") != std::string::npos;
    }));
    REQUIRE(wait_until([&] {
      auto topics = run_command(ipcctl(b, {"--json", "topic", "list"})).out;
      return topics.find("dsvc/time") != std::string::npos;
    }));
    auto local_durable = run_command(ipcctl(a, {"--timeout", "5s", "req", "dsvc/time", "x"}));
    CHECK(local_durable.out.starts_with("local\n"));
    CHECK(finished(local_d));
    CHECK_FALSE(remote_d.wait(std::chrono::milliseconds(300)).has_value());
    remote_d.signal(SIGTERM);
    // Nobody in the cluster subscribes to ask/...: NATS answers "no responders" and the
    // requester hears it at once (exit code 3), not after its timeout.
    auto started = std::chrono::steady_clock::now();
    auto nobody = run_command(ipcctl(a, {"--timeout", "20s", "req", "ask/anyone", "?"}));
    CHECK(nobody.exit_code == 3);
    CHECK_MESSAGE(nobody.err.find("no responders") != std::string::npos, nobody.err);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
    // A topic no rule exports has no responders at once, as before.
    CHECK(run_command(ipcctl(a, {"req", "local/none", "?"})).exit_code == 3);
    auto listed = uplink_list(a);
    CHECK(listed[0]["requests_out"].get<int>() >= 2);
    CHECK(uplink_list(b)[0]["requests_in"].get<int>() >= 1);
  }

  TEST_CASE("a NATS queue group shares one stream of work between hosts' local queues") {
    nats_cluster cluster;
    REQUIRE(cluster.start());
    ipcd_process producer(local_only, uplink_config({cluster.url(0)}, R"("export": ["jobs/#"])"));
    auto worker_rules = R"("import": [{"pattern": "jobs/#", "queue": "jobs", "group": "workers"}])";
    ipcd_process w1(local_only, uplink_config({cluster.url(1)}, worker_rules));
    ipcd_process w2(local_only, uplink_config({cluster.url(2)}, worker_rules));
    for (auto* broker : {&producer, &w1, &w2}) {
      REQUIRE(up(*broker));
    }
    child_process r1(ipcctl(w1, {"--timeout", "20s", "recv", "jobs"}));
    child_process r2(ipcctl(w2, {"--timeout", "20s", "recv", "jobs"}));
    REQUIRE(consuming(w1, "jobs"));
    REQUIRE(consuming(w2, "jobs"));
    // Until both workers' group subscriptions have reached node 1, the first jobs may all
    // go to one: wait for a job to reach each host.
    int sent = 0;
    REQUIRE(wait_until(
        [&] {
          ++sent;
          (void)run_command(ipcctl(producer, {"pub", "jobs/warmup", "w" + std::to_string(sent)}));
          return lines(r1.out()).size() > 0 && lines(r2.out()).size() > 0;
        },
        std::chrono::seconds(15)));
    REQUIRE(
        run_command(ipcctl(producer, {"pub", "jobs/build", "job", "--count", "200"})).exit_code ==
        0);
    REQUIRE(
        wait_until([&] { return lines(r1.out()).size() + lines(r2.out()).size() == 200u + sent; },
                   std::chrono::seconds(15)));
    auto one = lines(r1.out()).size(), two = lines(r2.out()).size();
    CHECK(one + two == 200u + sent);  // each job once, on one host
    CHECK(one > 20);                  // and both hosts did a share (NATS picks at random)
    CHECK(two > 20);
  }

  TEST_CASE("a NATS node killed: the uplink moves to the nodes the cluster announced") {
    nats_cluster cluster;
    REQUIRE(cluster.start());
    auto rules = R"("export": ["sensors/#"], "import": ["sensors/#"])";
    // A knows only node 1; it learns nodes 2 and 3 from the cluster's INFO.
    ipcd_process a(local_only, uplink_config({cluster.url(0)}, rules));
    ipcd_process b(local_only, uplink_config({cluster.url(1)}, rules));
    REQUIRE(up(a));
    REQUIRE(up(b));
    REQUIRE(flowing(a, b, "sensors/probe"));
    cluster.stop_node(0);
    REQUIRE(wait_until([&] {
      auto list = uplink_list(a);
      return list[0]["state"] == "connected" && list[0]["reconnects"].get<int>() >= 1 &&
             list[0]["server"] != cluster.url(0);
    }));
    REQUIRE(flowing(a, b, "sensors/probe"));
    child_process on_b(ipcctl(b, {"sub", "sensors/#", "--count", "50"}));
    REQUIRE(subscribed(b));
    REQUIRE(run_command(ipcctl(a, {"pub", "sensors/after", "x", "--count", "50"})).exit_code == 0);
    CHECK(finished(on_b));
    CHECK(a.log().find("the cluster announced") != std::string::npos);
  }

  TEST_CASE("durable exports: a whole-cluster outage and a kill -9, every message once") {
    nats_cluster cluster;
    REQUIRE(cluster.start());
    ipcd_process edge(local_only,
                      uplink_config({cluster.url(0), cluster.url(1)},
                                    R"("export": [{"pattern": "orders/#", "durable": true}])"));
    ipcd_process hub(local_only,
                     uplink_config({cluster.url(2)}, R"("import": [{"pattern": "orders/#",
                                                                     "queue": "orders"}])") +
                         R"(, "queues": {"orders": {"durable": true}})");
    REQUIRE(up(edge));
    REQUIRE(up(hub));
    // Before: the path works (the hub's queue gets the first order).
    REQUIRE(wait_until(
        [&] {
          (void)run_command(ipcctl(edge, {"pub", "orders/first", "0"}));
          auto listed = run_command(ipcctl(hub, {"--json", "queue", "list"}));
          return listed.out.find("\"orders\"") != std::string::npos &&
                 json::parse(listed.out)[0]["ready"].get<int>() > 0;
        },
        std::chrono::seconds(15)));
    for (std::size_t i = 0; i < cluster.size(); ++i) cluster.stop_node(i);
    REQUIRE(wait_until([&] { return uplink_list(edge)[0]["state"] != "connected"; }));
    // Confirmed publishes while the cluster is gone: spooled in the durable log.
    REQUIRE(run_command(ipcctl(edge, {"pub", "orders/new", "o", "--count", "100"})).exit_code == 0);
    CHECK(uplink_list(edge)[0]["spool"]["messages"].get<int>() >= 100);
    edge.kill9();  // and the broker itself crashes
    REQUIRE(cluster.start());
    REQUIRE(connected(hub));
    // A NATS core subscriber that is away misses what crosses meanwhile (docs/uplinks.md
    // §4): the edge comes back only once the hub's subscription has reached the nodes the
    // edge uses, shown by probes published on each of them reaching the hub.
    auto hub_in = [&] { return uplink_list(hub)[0]["messages_in"].get<int>(); };
    REQUIRE(wait_until(
        [&] {
          int before = hub_in();
          for (std::size_t node : {0, 1})
            if (nats_publish(cluster.port(node), "orders.probe", "p").exit_code != 0) return false;
          return wait_until([&] { return hub_in() >= before + 2; }, std::chrono::seconds(1));
        },
        std::chrono::seconds(20)));
    const int before_edge = hub_in();
    REQUIRE(up(edge));
    REQUIRE(wait_until([&] { return uplink_list(edge)[0]["spool"]["messages"] == 0; },
                       std::chrono::seconds(20)));
    // Everything spooled reached the hub once: 100 more, no fewer, no more.
    REQUIRE(wait_until([&] { return hub_in() >= before_edge + 100; }));
    auto expected = hub_in();
    CHECK(expected == before_edge + 100);
    REQUIRE(wait_until([&] {
      auto queues = json::parse(run_command(ipcctl(hub, {"--json", "queue", "list"})).out);
      return queues[0]["ready"].get<int>() == expected;
    }));
    child_process all(
        ipcctl(hub, {"--timeout", "20s", "recv", "orders", "--count", std::to_string(expected)}));
    REQUIRE(finished(all));
    auto got = lines(all.out());
    CHECK(std::count(got.begin(), got.end(), "o") == 100);
    CHECK(std::count(got.begin(), got.end(), "0") >= 1);  // the warm-up
  }

  TEST_CASE("a resent durable message (the same Ipc-Msg-Id) is delivered once, its echo never") {
    nats_cluster cluster(1);
    REQUIRE(cluster.start());
    ipcd_process hub(local_only, uplink_config({cluster.url(0)}, R"("import": ["d/#"])"));
    REQUIRE(up(hub));
    child_process on_hub(ipcctl(hub, {"sub", "d/#", "-v", "--count", "3"}));
    REQUIRE(subscribed(hub));
    // What a broker that crashed after sending and before its PONG sends again: the same
    // message with the same Ipc-Msg-Id, from a bare NATS connection; then one that claims
    // to come from the hub's own broker (an echo), then a new one.
    std::string script = R"(
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.recv(4096)
def hpub(subject, headers, payload):
    block = "NATS/1.0\r\n" + "".join(k + ": " + v + "\r\n" for k, v in headers) + "\r\n"
    return "HPUB %s %d %d\r\n%s%s\r\n" % (subject, len(block), len(block) + len(payload), block, payload)
out = 'CONNECT {"verbose":false,"headers":true}\r\n'
out += hpub("d.once", [("Ipc-Msg-Id", "edge-7-1"), ("Ipc-Origin", "edge")], "first")
out += hpub("d.once", [("Ipc-Msg-Id", "edge-7-1"), ("Ipc-Origin", "edge")], "again")
out += hpub("d.echo", [("Ipc-Origin", sys.argv[2])], "echo")
out += hpub("d.next", [("Ipc-Msg-Id", "edge-8-1"), ("Ipc-Origin", "edge"), ("X-Note", "n")], "second")
out += "PUB d.plain 5\r\nplain\r\nPING\r\n"
s.sendall(out.encode())
data = b""
while b"PONG" not in data:
    data += s.recv(4096)
)";
    std::ifstream id_file(hub.dir().file("data/instance-id"));
    std::string instance;
    id_file >> instance;
    REQUIRE(instance.size() == 16);
    auto sent =
        run_command({"/usr/bin/python3", "-c", script, std::to_string(cluster.port(0)), instance});
    REQUIRE_MESSAGE(sent.exit_code == 0, sent.err);
    REQUIRE(finished(on_hub));
    CHECK(lines(on_hub.out()) ==
          std::vector<std::string>{"d/once first", "d/next second", "d/plain plain"});
    auto listed = uplink_list(hub)[0];
    CHECK(listed["duplicates"] == 1);
    CHECK(listed["echoes"] == 1);
    CHECK(listed["messages_in"] == 3);
  }

  TEST_CASE("an uplink over TLS to the cluster, verified against its CA") {
    const auto& pki = ipc::test::pki();
    nats_cluster cluster(1, {pki.file("server.pem"), pki.file("server.key")});
    REQUIRE(cluster.start());
    auto rules = R"("export": ["t/#"], "import": ["t/#"], "ca": ")" + pki.file("ca.pem") + "\"";
    ipcd_process a(local_only, uplink_config({cluster.url(0)}, rules));
    ipcd_process b(local_only, uplink_config({cluster.url(0)}, rules));
    REQUIRE(up(a));
    REQUIRE(up(b));
    REQUIRE(flowing(a, b, "t/x"));
    // A CA that did not sign the server's certificate: refused, and said why.
    auto wrong = R"("export": ["t/#"], "ca": ")" + pki.file("other-ca.pem") + "\"";
    ipcd_process c(local_only, uplink_config({cluster.url(0)}, wrong));
    REQUIRE(c.start());
    CHECK(wait_until([&] {
      auto list = uplink_list(c);
      return list[0]["state"] != "connected" &&
             list[0]["last_error"].get<std::string>().find("TLS") != std::string::npos;
    }));
  }

  TEST_CASE("an uplink that logs in with an NKey, and a wrong key refused and said so") {
    // nats-server with one NKey user: only a client holding that user's seed gets in.
    std::string error;
    auto seed = ipc::credentials::new_user_seed();
    auto key = ipc::credentials::read_user_seed(seed, error);
    REQUIRE_MESSAGE(key, error);
    ipc::test::temp_dir dir;
    std::ofstream(dir.file("user.nk")) << seed << "\n";
    std::ofstream(dir.file("other.nk")) << ipc::credentials::new_user_seed() << "\n";
    // On a port found free a moment before, which a parallel test's connection may take
    // meanwhile: nats-server then exits at once, and starts again on another (three tries).
    int port = 0;
    std::unique_ptr<child_process> server;
    for (int attempt = 0; attempt < 3; ++attempt) {
      port = ipc::test::unused_port();
      std::ofstream(dir.file("nats.conf"))
          << "listen: 127.0.0.1:" << port << "\n"
          << "authorization { users = [ { nkey: " << key->public_key << " } ] }\n";
      server = std::make_unique<child_process>(
          std::vector<std::string>{ipc::test::nats_server_binary(), "-c", dir.file("nats.conf")});
      wait_until([&] {
        return server->err().find("Server is ready") != std::string::npos || !server->running();
      });
      if (server->running()) break;
    }
    REQUIRE(server->err().find("Server is ready") != std::string::npos);
    auto url = "nats://127.0.0.1:" + std::to_string(port);
    auto rules = R"("export": ["k/#"], "import": ["k/#"], "nkey": ")";
    ipcd_process a(local_only, uplink_config({url}, rules + dir.file("user.nk") + "\""));
    ipcd_process b(local_only, uplink_config({url}, rules + dir.file("user.nk") + "\""));
    REQUIRE(up(a));
    REQUIRE(up(b));
    REQUIRE(flowing(a, b, "k/x"));
    ipcd_process wrong(local_only, uplink_config({url}, rules + dir.file("other.nk") + "\""));
    REQUIRE(wrong.start());
    CHECK(wait_until([&] {
      auto list = uplink_list(wrong);
      return list[0]["last_error"].get<std::string>().find("Authorization Violation") !=
             std::string::npos;
    }));
    CHECK(uplink_list(wrong)[0]["state"] != "connected");
  }

  TEST_CASE("uplink status, list and metrics, and a reload that adds and changes uplinks") {
    nats_cluster cluster(1);
    REQUIRE(cluster.start());
    std::string listeners = R"([{"url":"unix://{dir}/ipcd.sock"},{"url":"http://127.0.0.1:0"}])";
    ipcd_process a(listeners, uplink_config({cluster.url(0)}, R"("export": ["m/#"])"));
    REQUIRE(up(a));
    auto table = run_command(ipcctl(a, {"uplink", "list"}));
    CHECK(table.exit_code == 0);
    CHECK(table.out.find("hub") != std::string::npos);
    CHECK(table.out.find("connected") != std::string::npos);
    auto status = json::parse(run_command(ipcctl(a, {"--json", "status"})).out);
    CHECK(status["uplinks"][0]["name"] == "hub");
    // The uplink is a connection; killing it makes it connect again, it does not end it.
    std::string uplink_id;
    for (const auto& c : json::parse(run_command(ipcctl(a, {"--json", "conn", "list"})).out))
      if (c["protocol"] == "nats-uplink") uplink_id = c["id"].dump();
    REQUIRE(!uplink_id.empty());
    CHECK(run_command(ipcctl(a, {"conn", "kill", uplink_id})).exit_code == 0);
    CHECK(wait_until([&] {
      auto list = uplink_list(a);
      return list[0]["reconnects"].get<int>() >= 1 && list[0]["state"] == "connected";
    }));
    auto metrics =
        run_command({"/usr/bin/python3", "-c",
                     "import sys, urllib.request; "
                     "sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())",
                     "http://127.0.0.1:" + a.port_of("http") + "/metrics"});
    auto checked = run_command({"/usr/bin/promtool", "check", "metrics"}, metrics.out);
    CHECK_MESSAGE(checked.exit_code == 0, checked.out, checked.err);
    CHECK(metrics.out.find("ipcd_uplink_connected{uplink=\"hub\"} 1") != std::string::npos);
    CHECK(metrics.out.find("ipcd_uplink_messages_total{uplink=\"hub\",direction=\"out\"}") !=
          std::string::npos);
    // Reload with a second uplink and a changed first one.
    a.write_config(listeners, R"("uplinks": [
        {"name": "hub", "servers": [")" +
                                  cluster.url(0) + R"("], "export": ["m/#", "n/#"]},
        {"name": "second", "servers": [")" +
                                  cluster.url(0) + R"("], "import": ["z/#"]}])");
    auto reloaded = run_command(ipcctl(a, {"reload"}));
    CHECK_MESSAGE(reloaded.exit_code == 0, reloaded.err);
    CHECK(wait_until([&] {
      auto list = uplink_list(a);
      return list.size() == 2 && list[0]["state"] == "connected" && list[1]["state"] == "connected";
    }));
  }
}
