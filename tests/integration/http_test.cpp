// The HTTP monitoring endpoint through real sockets (docs/monitoring.md): /healthz,
// /metrics checked by promtool and parsed by Python's prometheus_client, the JSON API
// against the admin commands, the dashboard page, access with an auth section (Basic,
// Bearer, the monitor permission), and bad input: unknown paths and methods, oversized
// heads, malformed requests, a slow head, too many connections.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <regex>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "options.hpp"
#include "process.hpp"
#include "raw_client.hpp"
#include "server/server.hpp"
#include "test_pki.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::raw_client;
using ipc::test::run_command;
using json = nlohmann::json;

namespace {

void with_http(config::broker_config& c) {
  config::listener l;
  l.url = "http://127.0.0.1:0";
  l.protocol = config::listener_protocol::http;
  c.listeners.push_back(l);
}

struct http_answer {
  int status = 0;
  std::string head, body;
  bool closed = false;  // the server closed the connection after it
  std::string header(const std::string& name) const {
    auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
  }
};

// Reads one response from `c` (HEAD: no body however long Content-Length says).
http_answer read_answer(raw_client& c, std::string& buffer, bool head = false) {
  http_answer a;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    auto end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      a.head = buffer.substr(0, end + 2);
      std::size_t length = head ? 0 : std::stoul("0" + a.header("Content-Length"));
      if (buffer.size() >= end + 4 + length) {
        a.body = buffer.substr(end + 4, length);
        buffer.erase(0, end + 4 + length);
        a.status = std::stoi(a.head.substr(9, 3));
        return a;
      }
    }
    auto more = c.receive(std::chrono::milliseconds(100));
    if (more.empty() && c.peer_closed()) {
      a.closed = true;
      return a;
    }
    buffer.append(more.begin(), more.end());
  }
  return a;
}

http_answer get(const std::string& url, const std::string& path,
                const std::string& extra_headers = {}, const std::string& method = "GET") {
  raw_client c(url);
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers +
                        "Connection: close\r\n\r\n";
  c.send({request.begin(), request.end()});
  std::string buffer;
  return read_answer(c, buffer, method == "HEAD");
}

std::string basic(const std::string& user, const std::string& password) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = user + ":" + password, out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out += alphabet[n >> 18 & 63];
    out += alphabet[n >> 12 & 63];
    out += i + 1 < in.size() ? alphabet[n >> 6 & 63] : '=';
    out += i + 2 < in.size() ? alphabet[n & 63] : '=';
  }
  return "Authorization: Basic " + out + "\r\n";
}

}  // namespace

TEST_SUITE("http") {
  TEST_CASE("/healthz, /metrics for promtool and prometheus_client, the JSON API, the page") {
    broker_fixture broker(with_http);
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());
    std::error_code ec;
    native.admin("queue.create", R"({"name":"jobs","durable":true})", ec);
    REQUIRE(!ec);
    REQUIRE(!native.send("jobs", "one"));  // confirmed: stored and synced
    request_options quick;
    quick.timeout = std::chrono::milliseconds(100);
    (void)native.request("nobody/home", "?", quick, ec);  // a no-responders
    // The snapshot is at most a second old: wait until it holds the send.
    REQUIRE(ipc::test::wait_until([&] {
      auto text = get(broker.http_url(), "/metrics").body;
      return text.find("ipcd_no_responders_total 1") != std::string::npos &&
             text.find("ipcd_storage_sync_seconds_count 0") == std::string::npos;
    }));

    auto health = get(broker.http_url(), "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");

    auto metrics = get(broker.http_url(), "/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    auto checked = run_command({"/usr/bin/promtool", "check", "metrics"}, metrics.body);
    CHECK_MESSAGE(checked.exit_code == 0, (checked.out + checked.err));
    auto parsed = run_command({"/usr/bin/python3", "-c", R"(
import sys
from prometheus_client.parser import text_string_to_metric_families
samples = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
print(samples[("ipcd_queue_ready_messages", (("queue", "jobs"),))])
print(int(sum(v for (n, l), v in samples.items() if n == "ipcd_connections")))
print(samples[("ipcd_build_info", (("version", ")" IPCD_VERSION R"("),))])
print(samples[("ipcd_storage_sync_seconds_count", ())] >= 1)
print(samples[("process_cpu_seconds_total", ())] > 0)
print(int(samples[("ipcd_shm_segment_bytes", ())]))
print(int(samples[("ipcd_shm_switch_failures_total", ())]))
)"},
                              metrics.body);
    REQUIRE_MESSAGE(parsed.exit_code == 0, parsed.err);
    // The native client is on shared memory (the fixture's socket allows it): one segment
    // of two 1 MiB rings and the control page.
    CHECK(parsed.out == "1.0\n1\n1.0\nTrue\nTrue\n2101248\n0\n");

    auto status = get(broker.http_url(), "/api/status");
    REQUIRE(status.status == 200);
    CHECK(status.header("Content-Type") == "application/json");
    auto from_http = json::parse(status.body);
    auto from_admin = json::parse(native.admin("status", "{}", ec));
    for (const auto& [key, value] : from_admin.items()) CHECK_MESSAGE(from_http.contains(key), key);
    auto queues = json::parse(get(broker.http_url(), "/api/queues").body);
    REQUIRE(queues.size() == 1);
    CHECK(queues[0]["name"] == "jobs");
    CHECK(json::parse(get(broker.http_url(), "/api/connections").body).size() == 1);
    CHECK(json::parse(get(broker.http_url(), "/api/topics").body).is_array());

    auto page = get(broker.http_url(), "/");
    CHECK(page.status == 200);
    CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(page.body.find("<canvas id=\"rates\"") != std::string::npos);
    CHECK(page.body.find("http://") == std::string::npos);  // nothing loaded from elsewhere
    CHECK(page.body.find("https://") == std::string::npos);
    auto head = get(broker.http_url(), "/healthz", {}, "HEAD");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("Content-Length") == "3");
  }

  TEST_CASE("bad requests get their status and end that connection, others go on") {
    broker_fixture broker([](config::broker_config& c) {
      with_http(c);
      c.http.request_timeout_ms = 300;
      c.http.max_connections = 4;
    });
    CHECK(get(broker.http_url(), "/nope").status == 404);
    auto post = get(broker.http_url(), "/metrics", {}, "POST");
    CHECK(post.status == 405);
    CHECK(post.header("Allow") == "GET, HEAD");
    CHECK(get(broker.http_url(), "/" + std::string(9000, 'a')).status == 414);
    CHECK(get(broker.http_url(), "/metrics", "X-Big: " + std::string(20000, 'b') + "\r\n").status ==
          431);
    {
      raw_client c(broker.http_url());
      std::string garbage = "GET /metrics HTTP/9.9\r\n\r\n";
      c.send({garbage.begin(), garbage.end()});
      std::string buffer;
      auto a = read_answer(c, buffer);
      CHECK(a.status == 505);
      CHECK(c.closed_by_peer());
    }
    {
      // Two requests in one write: two answers, in order, on the kept connection.
      raw_client c(broker.http_url());
      std::string two =
          "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
      c.send({two.begin(), two.end()});
      std::string buffer;
      CHECK(read_answer(c, buffer).status == 200);
      CHECK(read_answer(c, buffer).status == 404);
    }
    {
      // A head that never ends: closed after http.request_timeout_ms.
      raw_client slow(broker.http_url());
      std::string part = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
      slow.send({part.begin(), part.end()});
      CHECK(slow.closed_by_peer(std::chrono::seconds(3)));
    }
    {
      // Past http.max_connections: 503, while those open go on.
      std::vector<std::unique_ptr<raw_client>> held;
      for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<raw_client>(broker.http_url()));
      auto refused = get(broker.http_url(), "/healthz");
      CHECK(refused.status == 503);
      std::string ok = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
      held[0]->send({ok.begin(), ok.end()});
      std::string buffer;
      CHECK(read_answer(*held[0], buffer).status == 200);
    }
    // Once those close, their places are free again.
    CHECK(ipc::test::wait_until([&] { return get(broker.http_url(), "/healthz").status == 200; }));
  }

  TEST_CASE("with an auth section: Basic or Bearer, the admin or monitor permission") {
    std::string token = credentials::generate_token();
    broker_fixture broker([&](config::broker_config& c) {
      with_http(c);
      c.auth.present = true;
      auto user = [&](std::string name, bool admin, bool monitor) {
        config::user u;
        u.name = name;
        u.password = credentials::hash_password("pw-" + name);
        u.restricted = true;
        u.allow.admin = admin;
        u.allow.monitor = monitor;
        c.auth.users.push_back(u);
      };
      user("ops", true, false);
      user("watcher", false, true);
      user("plain", false, false);
      c.auth.tokens.push_back({credentials::hash_token(token), "watcher"});
    });
    auto open = get(broker.http_url(), "/healthz");
    CHECK(open.status == 200);  // public by default
    auto none = get(broker.http_url(), "/api/status");
    CHECK(none.status == 401);
    CHECK(none.header("WWW-Authenticate") == "Basic realm=\"ipcd\", charset=\"UTF-8\"");
    CHECK(get(broker.http_url(), "/metrics").status == 401);
    CHECK(get(broker.http_url(), "/api/status", basic("ops", "not-the-pw-42")).status == 401);
    CHECK(get(broker.http_url(), "/api/status", basic("plain", "pw-plain")).status == 403);
    CHECK(get(broker.http_url(), "/api/status", basic("ops", "pw-ops")).status == 200);
    CHECK(get(broker.http_url(), "/metrics", basic("watcher", "pw-watcher")).status == 200);
    CHECK(get(broker.http_url(), "/metrics", "Authorization: Bearer " + token + "\r\n").status ==
          200);
    CHECK(get(broker.http_url(), "/metrics", "Authorization: Bearer nope\r\n").status == 401);
    CHECK(broker.log_contains("authentication failed for user 'ops'"));
    for (const auto& line : broker.log_lines()) {
      CHECK(line.find("not-the-pw-42") == std::string::npos);  // no secret in the log
      CHECK(line.find(token) == std::string::npos);
    }
  }
}

TEST_SUITE("monitoring") {
  TEST_CASE("$SYS/broker statistics every sys_interval, to native and MQTT subscribers") {
    broker_fixture broker([](config::broker_config& c) { c.sys_interval_s = 1; });
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());
    std::mutex mutex;
    std::map<std::string, std::string> got;
    std::error_code ec;
    auto s = native.subscribe(
        "$SYS/broker/#",
        [&](const message& m) {
          std::lock_guard lock(mutex);
          got[std::string(m.topic())] = std::string(m.payload());
        },
        ec);
    REQUIRE(!ec);
    REQUIRE(ipc::test::wait_until(
        [&] {
          std::lock_guard lock(mutex);
          return got.size() >= 14;
        },
        std::chrono::seconds(5)));
    std::lock_guard lock(mutex);
    CHECK(got["$SYS/broker/connections"] == "1");
    CHECK(got["$SYS/broker/version"] == "\"" IPCD_VERSION "\"");
    CHECK(got.contains("$SYS/broker/load/messages/received"));
    CHECK_FALSE(got.contains("$SYS/connections/open"));  // not under $SYS/broker/
  }

  TEST_CASE("the Grafana dashboard asks only for metrics the broker exports") {
    broker_fixture broker(with_http);
    auto metrics = get(broker.http_url(), "/metrics").body;
    std::ifstream in(IPCD_GRAFANA_DASHBOARD);
    auto dashboard = json::parse(in);
    std::regex name("(ipcd|process)_[a-z_]+");
    int checked = 0;
    for (const auto& panel : dashboard["panels"])
      for (const auto& target : panel["targets"]) {
        auto expr = target["expr"].get<std::string>();
        for (std::sregex_iterator it(expr.begin(), expr.end(), name), end; it != end; ++it) {
          auto metric = it->str();
          CHECK_MESSAGE(metrics.find("# TYPE " + metric + " ") != std::string::npos, metric);
          ++checked;
        }
      }
    CHECK(checked > 20);
  }
}

TEST_SUITE("monitoring") {
  TEST_CASE("https:// serves the endpoint, and TLS certificates' expiry is a metric") {
    const auto& pki = ipc::test::pki();
    broker_fixture broker([&](config::broker_config& c) {
      with_http(c);
      config::listener https;
      https.url = "https://127.0.0.1:0";
      https.protocol = config::listener_protocol::http;
      https.cert = pki.file("server.pem");
      https.key = pki.file("server.key");
      c.listeners.push_back(https);
    });
    std::string port;
    broker.on_broker([&](broker::server& s) {
      for (const auto& url : s.bound_urls(config::listener_protocol::http))
        if (url.kind == transport::scheme::tls) port = std::to_string(url.port);
    });
    REQUIRE(!port.empty());
    // Python's http.client over TLS, verifying the broker against the test CA.
    auto fetched = run_command({"/usr/bin/python3", "-c", R"(
import http.client, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=context)
c.request("GET", "/metrics")
r = c.getresponse()
print(r.status)
sys.stdout.write(r.read().decode())
)",
                                port, pki.file("ca.pem")});
    REQUIRE_MESSAGE(fetched.exit_code == 0, fetched.err);
    CHECK(fetched.out.starts_with("200\n"));
    std::smatch found;
    REQUIRE(std::regex_search(
        fetched.out, found,
        std::regex(
            "ipcd_tls_certificate_expiry_timestamp_seconds\\{listener=\"https://127\\.0\\.0\\.1:" +
            port + "\"\\} ([0-9]+)")));
    auto expires = std::stoll(found[1]);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    CHECK(expires > now);  // the test certificates last two days
    CHECK(expires < now + 3 * 24 * 3600);
  }
}

TEST_SUITE("monitoring") {
  TEST_CASE("connections closed are counted by reason") {
    broker_fixture broker(with_http);
    Client admin(at(broker.unix_url()));
    REQUIRE(!admin.connect());
    {
      Client leaving(at(broker.unix_url()));
      REQUIRE(!leaving.connect());
      leaving.close();
    }
    auto options = at(broker.unix_url());
    options.auto_reconnect = false;
    Client doomed(options);
    REQUIRE(!doomed.connect());
    std::error_code ec;
    admin.admin("conn.kill", R"({"id":)" + std::to_string(doomed.connection_id()) + "}", ec);
    REQUIRE(!ec);
    json closed;
    REQUIRE(ipc::test::wait_until([&] {
      closed = json::parse(admin.admin("status", "{}", ec))["connections_closed"];
      return closed.value("client", 0) >= 1 && closed.value("admin", 0) == 1;
    }));
    CHECK(ipc::test::wait_until([&] {
      auto text = get(broker.http_url(), "/metrics").body;
      return text.find("ipcd_connections_closed_total{reason=\"admin\"} 1") != std::string::npos;
    }));
  }
}
