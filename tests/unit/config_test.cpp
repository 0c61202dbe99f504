// Unit tests of config loading: the embedded defaults per environment, JSON parsing
// with every error kind reported at its JSON path, validate() and load_file().
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config_errors.hpp"

#include "ipc/config/config.hpp"
#include "ipc/transport/stream.hpp"

using namespace ipc::config;

namespace {

environment root_env() {
  environment env;
  env.is_root = true;
  env.home = "/root";
  return env;
}

environment user_env(std::string runtime_dir, std::string state_home, std::string home) {
  environment env;
  env.uid = 1000;
  env.xdg_runtime_dir = std::move(runtime_dir);
  env.xdg_state_home = std::move(state_home);
  env.home = std::move(home);
  return env;
}

environment xdg_user() { return user_env("/run/user/1000", "/home/ada/.state", "/home/ada"); }

using ipc::test::dump;
using ipc::test::has_error;

std::size_t count_at(const std::vector<error>& errors, const std::string& path) {
  std::size_t count = 0;
  for (const error& found : errors) count += found.path == path ? 1 : 0;
  return count;
}

load_result parse_user(const std::string& text) { return parse(text, xdg_user()); }

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("default unix url follows SPEC §2 for root, XDG and fallback") {
    CHECK(default_unix_url(root_env()) == "unix:///run/ipcd/ipcd.sock");
    CHECK(default_unix_url(xdg_user()) == "unix:///run/user/1000/ipcd/ipcd.sock");
    CHECK(default_unix_url(user_env("", "", "/home/ada")) == "unix:///tmp/ipcd-1000/ipcd.sock");
    CHECK(default_unix_url(user_env("/run/user/1000/", "", "")) ==
          "unix:///run/user/1000/ipcd/ipcd.sock");
    // The XDG spec says relative paths in its variables are invalid: treated as unset.
    CHECK(default_unix_url(user_env("relative/dir", "", "")) == "unix:///tmp/ipcd-1000/ipcd.sock");
  }

  TEST_CASE("default config on Windows: the named pipe and %ProgramData%") {
    environment env;
    env.windows = true;
    env.program_data = "D:\\Data\\";
    auto config = default_config(env);
    REQUIRE(config.listeners.size() == 3);
    CHECK(config.listeners[0].url == "npipe:////./pipe/ipcd");
    CHECK(config.listeners[0].shm);  // docs/shared-memory.md: over the named pipe too
    CHECK(config.listeners[1].url == "tcp://127.0.0.1:7878");
    CHECK(config.storage.dir == "D:\\Data\\ipcd\\data");
    CHECK(config.log.file == "D:\\Data\\ipcd\\logs\\ipcd.log");
    env.program_data.clear();
    CHECK(default_config(env).storage.dir == "C:\\ProgramData\\ipcd\\data");
  }

  TEST_CASE("shm listener keys: local listeners and native only, ring sizes and spin in range") {
    auto good = parse_user(R"({"listeners": [{"url": "unix:///tmp/x.sock", "shm": true,
                                              "shm_ring_bytes": 65536, "shm_spin_us": 20}]})");
    REQUIRE_MESSAGE(good.errors.empty(), dump(good.errors));
    CHECK(good.config.listeners[0].shm);
    CHECK(good.config.listeners[0].shm_ring_bytes == 65536);
    CHECK(good.config.listeners[0].shm_spin_us == 20);
    auto pipe = parse_user(R"({"listeners": [{"url": "npipe:////./pipe/x", "shm": true,
                                              "shm_ring_bytes": 8192}]})");
    // (npipe:// itself is refused on other platforms than Windows: the shm keys are not.)
    CHECK_MESSAGE(!has_error(pipe.errors, "/listeners/0/shm", ""), dump(pipe.errors));
    CHECK_MESSAGE(!has_error(pipe.errors, "/listeners/0/shm_ring_bytes", ""), dump(pipe.errors));
    CHECK(pipe.config.listeners[0].shm);
    CHECK(pipe.config.listeners[0].shm_ring_bytes == 8192);
    auto errors = parse_user(R"({"listeners": [
        {"url": "unix:///tmp/a.sock", "shm": true, "shm_ring_bytes": 5000, "shm_spin_us": 5000},
        {"url": "tcp://127.0.0.1:0", "shm": true},
        {"url": "unix:///tmp/b.sock", "protocol": "mqtt", "shm": true},
        {"url": "shm:///tmp/c.sock"}]})")
                      .errors;
    CHECK_MESSAGE(has_error(errors, "/listeners/0/shm_ring_bytes", "power of two"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/0/shm_spin_us", "at most 1000"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/1/shm", "only to unix:// and npipe://"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/2/shm", "native-protocol"), dump(errors));
    // One default ring size: the config's is the transport's.
    CHECK(ipc::config::listener{}.shm_ring_bytes == ipc::transport::shm_options{}.ring_bytes);
    CHECK_MESSAGE(has_error(errors, "/listeners/3/url", "\"shm\": true"), dump(errors));
  }

  TEST_CASE("npipe listeners: refused on POSIX, and access applies only to them") {
    auto errors =
        parse_user(R"({"listeners": [{"url": "npipe:////./pipe/x", "access": ["S-1-5-11"]},
                                               {"url": "tcp://127.0.0.1:0", "access": ["x"]}]})")
            .errors;
    CHECK_MESSAGE(has_error(errors, "/listeners/0/url", "not available on this platform"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/1/access", "only to npipe://"), dump(errors));
  }

  TEST_CASE("default config as root") {
    const broker_config config = default_config(root_env());
    REQUIRE(config.listeners.size() == 3);
    CHECK(config.listeners[0].url == "unix:///run/ipcd/ipcd.sock");
    CHECK(config.listeners[0].mode == 0660);
    CHECK(config.listeners[0].group.empty());
    CHECK(config.listeners[0].shm);  // docs/shared-memory.md
    CHECK_FALSE(config.listeners[1].shm);
    CHECK(config.listeners[1].url == "tcp://127.0.0.1:7878");
    CHECK(config.listeners[2].url == "http://127.0.0.1:7880");  // docs/monitoring.md
    CHECK(config.listeners[2].protocol == listener_protocol::http);
    CHECK(config.storage.dir == "/var/lib/ipcd");
    CHECK(config.storage.fsync == "batch");
    CHECK(config.log.level == "info");
    CHECK(config.limits.max_payload == 1024 * 1024);
    CHECK(validate(config).empty());
  }

  TEST_CASE("default config as a user, with and without XDG variables") {
    CHECK(default_config(xdg_user()).storage.dir == "/home/ada/.state/ipcd");
    CHECK(default_config(user_env("", "", "/home/ada")).storage.dir ==
          "/home/ada/.local/state/ipcd");
    CHECK(default_config(user_env("", "", "")).storage.dir == "/tmp/ipcd-1000/state");
    const broker_config config = default_config(user_env("", "", ""));
    CHECK(config.listeners[0].url == "unix:///tmp/ipcd-1000/ipcd.sock");
    CHECK(validate(config).empty());
    CHECK(validate(default_config(xdg_user())).empty());
  }

  TEST_CASE("an empty object is the default config") {
    const load_result result = parse_user("{}");
    CHECK_MESSAGE(result.ok(), dump(result.errors));
    CHECK(result.config.listeners.size() == 3);
    CHECK(result.config.storage.dir == "/home/ada/.state/ipcd");
  }

  TEST_CASE("a full valid config sets every key") {
    const load_result result = parse_user(R"({
      "listeners": [
        {"url": "unix:///run/ipcd/app.sock", "mode": "0600", "group": "ipcd"},
        {"url": "unix:///run/ipcd/other.sock", "mode": 416},
        {"url": "tcp://[::1]:7000"}
      ],
      "limits": {"max_payload": 2097152, "max_connections": 100,
                 "max_pending_bytes": 8388608, "max_subscriptions": 10,
                 "max_topic_length": 256, "max_topic_levels": 8, "max_headers": 16,
                 "max_header_bytes": 4096, "match_cache_entries": 0},
      "storage": {"dir": "/srv/ipcd", "fsync": "always", "fsync_interval_ms": 50},
      "log": {"level": "debug", "format": "json"}
    })");
    REQUIRE_MESSAGE(result.ok(), dump(result.errors));
    const broker_config& config = result.config;
    REQUIRE(config.listeners.size() == 3);  // the given list replaces the defaults
    CHECK(config.listeners[0].mode == 0600);
    CHECK(config.listeners[0].group == "ipcd");
    CHECK(config.listeners[1].mode == 0640);  // 416 == 0640
    CHECK(config.listeners[2].url == "tcp://[::1]:7000");
    CHECK(config.limits.max_payload == 2097152);
    CHECK(config.limits.max_pending_bytes == 8388608);
    CHECK(config.limits.max_headers == 16);
    CHECK(config.limits.match_cache_entries == 0);
    CHECK(config.storage.dir == "/srv/ipcd");
    CHECK(config.storage.fsync == "always");
    CHECK(config.storage.fsync_interval_ms == 50);
    CHECK(config.log.level == "debug");
    CHECK(config.log.format == "json");
  }

  TEST_CASE("unknown keys are reported at their path") {
    auto errors = parse_user(R"({"limitz": {}, "a/b~c": 1})").errors;
    CHECK_MESSAGE(has_error(errors, "/limitz", "unknown key 'limitz'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limitz", "listeners, limits, storage, log"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/a~1b~0c", "unknown key"), dump(errors));  // RFC 6901

    errors = parse_user(R"({"limits": {"max_paylod": 5}, "log": {"colour": true}})").errors;
    CHECK_MESSAGE(has_error(errors, "/limits/max_paylod", "unknown key"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/log/colour", "unknown key"), dump(errors));
    CHECK(errors.size() == 2);
  }

  TEST_CASE("TLS keys on a listener that is not tls:// are refused") {
    const auto errors = parse_user(R"({
      "listeners": [{"url": "unix:///run/a.sock", "cert": "/etc/a.pem"}]})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/listeners/0/cert", "applies only to tls://"), dump(errors));
  }

  TEST_CASE("storage: fsync policy, interval and segment size are checked") {
    auto result = parse_user(
        R"({"storage": {"dir": "/srv/ipcd", "fsync": "always", "segment_bytes": 1048576}})");
    REQUIRE_MESSAGE(result.ok(), dump(result.errors));
    CHECK(result.config.storage.fsync == "always");
    CHECK(result.config.storage.segment_bytes == 1048576);
    CHECK(parse_user(R"({"queues": {"q": {"durable": true}}})")
              .config.queues.declared.at(0)
              .second.durable);
    const auto errors = parse_user(R"({"storage": {"dir": "rel", "fsync": "sometimes",
      "fsync_interval_ms": 0, "segment_bytes": 100}})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/storage/dir", "absolute"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/fsync", ""), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/fsync_interval_ms", ""), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/segment_bytes", ""), dump(errors));
  }

  TEST_CASE("queues: auto_create, declared queues in order, every option, every error") {
    auto result = parse_user(R"({"queues": {"auto_create": false,
      "jobs": {"max_length": 10, "max_bytes": 4096, "overflow": "drop-oldest", "ttl": 500,
               "dead_letter": "jobs.dead", "max_deliveries": 3, "bind": ["jobs/#", "x/+"]},
      "jobs.dead": {}}})");
    REQUIRE_MESSAGE(result.ok(), dump(result.errors));
    const auto& queues = result.config.queues;
    CHECK(!queues.auto_create);
    REQUIRE(queues.declared.size() == 2);
    CHECK(queues.declared[0].first == "jobs");
    const auto& jobs = queues.declared[0].second;
    CHECK(jobs.max_length == 10);
    CHECK(jobs.max_bytes == 4096);
    CHECK(jobs.overflow == "drop-oldest");
    CHECK(jobs.ttl_ms == 500);
    CHECK(jobs.dead_letter == "jobs.dead");
    CHECK(jobs.max_deliveries == 3);
    CHECK(jobs.bind == std::vector<std::string>{"jobs/#", "x/+"});
    CHECK(queues.declared[1].second.max_bytes == 64ull * 1024 * 1024);  // bounded by default

    const auto errors = parse_user(R"({"queues": {"auto_create": 1, "bad name": {},
      "q": {"overflow": "block", "max_bytes": 0, "dead_letter": "q", "bind": [3], "speed": 1},
      "r": []}})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/queues/auto_create", "expected true or false"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/bad name", "invalid queue name"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/q/overflow", "reject"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/q/max_bytes", "at least 1"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/q/dead_letter", "own dead-letter"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/q/bind/0", "expected a topic pattern"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/q/speed", "unknown key"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/queues/r", "expected an object"), dump(errors));
    CHECK(ipc::config::valid_queue_name("a.b_c-D9"));
    CHECK(!ipc::config::valid_queue_name(""));
    CHECK(!ipc::config::valid_queue_name("a/b"));
    CHECK(!ipc::config::valid_queue_name(".."));
    CHECK(!ipc::config::valid_queue_name("."));
    CHECK(ipc::config::valid_queue_name("..a"));
    CHECK(!ipc::config::valid_queue_name(std::string(256, 'a')));
  }

  TEST_CASE("wrong types are reported at their path") {
    const auto errors = parse_user(R"({"limits": {"max_payload": "1MiB"},
      "storage": {"dir": 5}, "log": [], "listeners": [{"url": 7878}, "tcp://x"]})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/limits/max_payload",
                            "expected a non-negative integer, got string \"1MiB\""),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/dir", "expected a string"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/log", "expected an object, got array"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/1", "expected an object"), dump(errors));
    // A url that could not be read is not reported a second time by validate().
    CHECK(count_at(errors, "/listeners/0/url") == 1);
    CHECK(has_error(parse_user(R"({"listeners": {}})").errors, "/listeners", "expected an array"));
    CHECK(has_error(parse_user("[1, 2]").errors, "", "expected an object, got array"));
  }

  TEST_CASE("negative, fractional and out-of-range numbers") {
    const auto errors = parse_user(R"({"limits": {"max_connections": -1,
      "max_payload": 4294967296, "max_topic_levels": 1.5, "max_headers": 1e3,
      "max_pending_bytes": 18446744073709551616}})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/limits/max_connections", "must not be negative, got -1"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limits/max_payload", "at most 4294967295"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limits/max_topic_levels", "without fraction"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limits/max_headers", "without fraction"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limits/max_pending_bytes", "out of range"), dump(errors));
  }

  TEST_CASE("listener urls: bad, missing, duplicate, not yet supported") {
    const auto errors = parse_user(R"({"listeners": [
      {"url": "tcp://localhost"}, {"url": "amqp://x"}, {"url": "tcp://localhost:7878"},
      {"mode": "0600"}, {"url": "unix://relative"}, {"url": "tls://0.0.0.0:7879"},
      {"url": "npipe:////./pipe/ipcd"}]})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/listeners/1/url", "unknown URL scheme 'amqp'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/2/url", "duplicate listener"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/2/url", "/listeners/0/url"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/3/url", "missing"), dump(errors));
    CHECK(count_at(errors, "/listeners/3/url") == 1);
    CHECK_MESSAGE(has_error(errors, "/listeners/4/url", "absolute"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/5/cert", "a tls:// listener needs it"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/6/url",
                            "npipe:// listeners are not available on this platform"),
                  dump(errors));
    CHECK(count_at(errors, "/listeners/0/url") == 0);
    CHECK(has_error(parse_user(R"({"listeners": []})").errors, "/listeners", "at least one"));
  }

  TEST_CASE("bad socket modes") {
    const auto errors = parse_user(R"({"listeners": [
      {"url": "unix:///a.sock", "mode": "0999"}, {"url": "unix:///b.sock", "mode": 1023},
      {"url": "unix:///c.sock", "mode": "1777"}, {"url": "unix:///d.sock", "mode": true},
      {"url": "tcp://127.0.0.1:1", "mode": "0600", "group": "g"},
      {"url": "unix:///e.sock", "mode": -1}]})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/listeners/0/mode", "octal mode"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/1/mode", "mode 01777 is out of range"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/2/mode", "at most 0777"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/3/mode", "got boolean true"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/4/mode", "only to unix://"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/4/group", "only to unix://"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/listeners/5/mode", "must not be negative"), dump(errors));
    CHECK(count_at(errors, "/listeners/0/mode") == 1);
  }

  TEST_CASE("storage and log choices") {
    const auto errors = parse_user(R"({
      "storage": {"fsync": "sometimes", "fsync_interval_ms": 0, "dir": "state"},
      "log": {"level": "verbose", "format": "xml"}})")
                            .errors;
    CHECK_MESSAGE(has_error(errors, "/storage/fsync", "always, batch, never; got 'sometimes'"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/fsync_interval_ms", "between 1 and 60000"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/storage/dir", "absolute path"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/log/level", "got 'verbose'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/log/format", "text, json"), dump(errors));
    CHECK(has_error(parse_user(R"({"storage": {"dir": ""}})").errors, "/storage/dir", "empty"));
    const auto log_errors = parse_user(R"({"log": {"file": "ipcd.log", "max_file_bytes": 1000,
                                                   "max_files": 0}})")
                                .errors;
    CHECK_MESSAGE(has_error(log_errors, "/log/file", "absolute path"), dump(log_errors));
    CHECK_MESSAGE(has_error(log_errors, "/log/max_file_bytes", "between 65536 and"),
                  dump(log_errors));
    CHECK_MESSAGE(has_error(log_errors, "/log/max_files", "between 1 and 100"), dump(log_errors));
    CHECK(has_error(parse_user(R"({"log": {"stderr": false}})").errors, "/log/stderr",
                    "without a log"));
    CHECK(parse_user(R"({"log": {"stderr": false, "file": "/var/log/ipcd/ipcd.log"}})").ok());
  }

  TEST_CASE("uplinks: rules as strings or objects, and every bad value named") {
    auto good = parse_user(R"({"uplinks": [{"name": "hub",
      "servers": ["nats://hub-1.example.net:4222", "tls://hub-2.example.net", "nats://[::1]"],
      "export": ["sensors/#", {"pattern": "orders/+", "durable": true, "prefix": "edge.a"}],
      "import": ["commands/#", {"pattern": "jobs", "queue": "jobs", "group": "workers"}],
      "user": "edge", "password": "secret", "max_spool_bytes": 1048576}]})");
    REQUIRE_MESSAGE(good.ok(), dump(good.errors));
    const auto& u = good.config.uplinks.at(0);
    CHECK(u.name == "hub");
    REQUIRE(u.exports.size() == 2);
    CHECK(u.exports[1].durable);
    CHECK(u.exports[1].prefix == "edge.a");
    REQUIRE(u.imports.size() == 2);
    CHECK(u.imports[1].queue == "jobs");
    CHECK(u.imports[1].group == "workers");
    CHECK(uplink_transport_url("nats://hub-1:4222") == "tcp://hub-1:4222");
    CHECK(uplink_transport_url("tls://hub-2") == "tls://hub-2:4222");
    CHECK(uplink_transport_url("nats://[::1]") == "tcp://[::1]:4222");

    auto errors = parse_user(R"({"uplinks": [{"name": "bad name", "servers": [],
      "export": ["a/#/b", {"pattern": "x", "prefix": "a..b", "extra": 1}],
      "import": [{"pattern": "j", "queue": "no spaces", "group": "a.b"}, 5],
      "user": "u", "token": "t", "spool_overflow": "never", "max_inflight": 0,
      "reconnect_wait_ms": 5, "creds": "/x"},
      {"name": "hub", "servers": ["http://h", "nats://u:p@h", "nats://h:0"], "import": ["a"]},
      {"name": "hub", "servers": ["nats://h"]}]})")
                      .errors;
    for (auto [path, part] : std::initializer_list<std::pair<const char*, const char*>>{
             {"/uplinks/0/name", "a name of 1 to 200"},
             {"/uplinks/0/servers", "at least one server"},
             {"/uplinks/0/export/0", "whole last level"},
             {"/uplinks/0/export/1/prefix", "invalid subject prefix 'a..b'"},
             {"/uplinks/0/export/1/extra", "unknown key 'extra'"},
             {"/uplinks/0/import/0/queue", "invalid queue name"},
             {"/uplinks/0/import/0/group", "invalid queue group 'a.b'"},
             {"/uplinks/0/import/1", "expected an object, got number 5"},
             {"/uplinks/0/password", "go together"},
             {"/uplinks/0/token", "not both"},
             {"/uplinks/0/spool_overflow", "got \"never\""},
             {"/uplinks/0/max_inflight", "from 1 to 65535"},
             {"/uplinks/0/reconnect_wait_ms", "at least 10"},
             {"/uplinks/0/creds", "not supported yet"},
             {"/uplinks/1/servers/0", "expected nats://"},
             {"/uplinks/1/servers/1", "not in the URL"},
             {"/uplinks/1/servers/2", "port other than 0"},
             {"/uplinks/2", "an export or an import rule"},
             {"/uplinks/2/name", "named twice"}})
      CHECK_MESSAGE(has_error(errors, path, part), path, "\n", dump(errors));
    CHECK(has_error(parse_user(R"({"uplinks": {}})").errors, "/uplinks", "expected an array"));
    CHECK(has_error(parse_user(R"({"uplinks": [{"name": "a", "servers": ["nats://h"],
                                               "import": [{"group": "g"}]}]})")
                        .errors,
                    "/uplinks/0/import/0", "needs a topic pattern"));
  }

  TEST_CASE("limit bounds") {
    auto errors = parse_user(R"({"limits": {"max_payload": 0, "max_connections": 0,
      "max_subscriptions": 0, "max_topic_length": 65536, "max_topic_levels": 0,
      "max_headers": 65536, "max_header_bytes": 262141}})")
                      .errors;
    for (const char* path :
         {"/limits/max_payload", "/limits/max_connections", "/limits/max_subscriptions",
          "/limits/max_topic_length", "/limits/max_topic_levels", "/limits/max_headers",
          "/limits/max_header_bytes"})
      CHECK_MESSAGE(count_at(errors, path) == 1, path, "\n", dump(errors));
    errors = parse_user(R"({"limits": {"max_payload": 67108865}})").errors;
    CHECK_MESSAGE(has_error(errors, "/limits/max_payload", "67108864"), dump(errors));
    // The default max_pending_bytes (64 MiB) is too small for a 64 MiB payload.
    errors = parse_user(R"({"limits": {"max_payload": 67108864}})").errors;
    // 64 MiB + 2 x 4096 (topic, reply_to) + 16 KiB headers + 4 x 64 header lengths + 64 KiB.
    CHECK_MESSAGE(has_error(errors, "/limits/max_pending_bytes", "at least 67199232"),
                  dump(errors));
    CHECK(
        parse_user(R"({"limits": {"max_payload": 67108864, "max_pending_bytes": 67199232}})").ok());
    CHECK(!parse_user(R"({"limits": {"max_payload": 67108864, "max_pending_bytes": 67199231}})")
               .ok());
  }

  TEST_CASE("max_memory: a percentage of physical memory or a number of bytes") {
    auto config = parse_user(R"({})").config;
    CHECK(config.limits.max_memory_percent == 40);  // the default: "40%"
    config = parse_user(R"({"limits": {"max_memory": "25%"}})").config;
    CHECK(config.limits.max_memory_percent == 25);
    CHECK(config.limits.max_memory == 0);
    config = parse_user(R"({"limits": {"max_memory": 1073741824}})").config;
    CHECK(config.limits.max_memory_percent == 0);
    CHECK(config.limits.max_memory == 1073741824);
    config = parse_user(R"({"limits": {"max_memory": 0}})").config;  // no bound
    CHECK(config.limits.max_memory_percent == 0);
    CHECK(config.limits.max_memory == 0);
    for (const char* bad : {R"("0%")", R"("91%")", R"("40")", R"("40 %")", R"("%")", R"("1000%")",
                            R"(-1)", R"(true)", R"("4O%")"}) {
      auto errors = parse_user(std::string(R"({"limits": {"max_memory": )") + bad + "}}").errors;
      CHECK_MESSAGE(count_at(errors, "/limits/max_memory") == 1, bad, "\n", dump(errors));
    }
  }

  TEST_CASE("malformed JSON is one error at the empty path with its position") {
    const auto errors = parse_user("{\n  \"log\": {\"level\": \"info\",}\n}").errors;
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].path.empty());
    CHECK_MESSAGE(errors[0].message.find("invalid JSON") == 0, errors[0].message);
    CHECK_MESSAGE(errors[0].message.find("line 2") != std::string::npos, errors[0].message);
    CHECK(parse_user("").errors.size() == 1);
    CHECK(parse_user("{\"limits\": {\"max_payload\": 1e999}}").errors.size() == 1);
  }

  TEST_CASE("every error is reported, each with its path") {
    const auto errors = parse_user(R"({"bogus": 1,
      "listeners": [{"url": "ftp://x", "extra": 1}, {"url": "unix:///s", "mode": "abc"}],
      "limits": {"max_payload": -5, "max_topic_length": "long"},
      "storage": {"fsync": "often"}, "log": {"level": 3}})")
                            .errors;
    const std::vector<std::string> expected = {"/bogus",
                                               "/listeners/0/url",
                                               "/listeners/0/extra",
                                               "/listeners/1/mode",
                                               "/limits/max_payload",
                                               "/limits/max_topic_length",
                                               "/storage/fsync",
                                               "/log/level"};
    for (const std::string& path : expected)
      CHECK_MESSAGE(count_at(errors, path) == 1, path, "\n", dump(errors));
    CHECK_MESSAGE(errors.size() == expected.size(), dump(errors));
  }

  TEST_CASE("validate works on a config built in code") {
    broker_config config = default_config(root_env());
    config.listeners.push_back(config.listeners[0]);
    config.limits.max_topic_levels = 0;
    config.log.format = "yaml";
    const auto errors = validate(config);
    CHECK_MESSAGE(has_error(errors, "/listeners/3/url", "duplicate"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/limits/max_topic_levels", "between 1 and 1024"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/log/format", "got 'yaml'"), dump(errors));
    CHECK(errors.size() == 3);
  }

  TEST_CASE("load_file reads a file and names an unreadable one") {
    const load_result missing = load_file("/nonexistent/ipcd.json", xdg_user());
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].path.empty());
    CHECK(missing.errors[0].message.find("/nonexistent/ipcd.json") != std::string::npos);
    CHECK(missing.errors[0].message.find("No such file or directory") != std::string::npos);

    const auto directory = load_file(std::filesystem::temp_directory_path().string(), xdg_user());
    CHECK(has_error(directory.errors, "", "cannot read config file"));

    const auto file = std::filesystem::temp_directory_path() /
                      ("ipcd-config-test-" + std::to_string(std::random_device{}()) + ".json");
    std::ofstream(file) << R"({"log": {"level": "warn"}})";
    const load_result loaded = load_file(file.string(), xdg_user());
    std::filesystem::remove(file);
    CHECK_MESSAGE(loaded.ok(), dump(loaded.errors));
    CHECK(loaded.config.log.level == "warn");
  }
}
