// Hot reload of a real ipcd (docs/operations.md §3): through `ipcctl reload` and SIGHUP,
// with clients connected before the reload kept; invalid files change nothing.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>

#include "collector.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "options.hpp"
#include "process.hpp"
#include "wait.hpp"

using namespace ipc;
using namespace ipc::test;

namespace {

const std::string one_socket = R"([{"url":"unix://{dir}/ipcd.sock"}])";
const std::string socket_and_tcp =
    R"([{"url":"unix://{dir}/ipcd.sock"}, {"url":"tcp://127.0.0.1:0"}])";

command_result ipcctl(const std::string& url, std::vector<std::string> args) {
  args.insert(args.begin(), {ipcctl_binary(), "--url", url});
  return run_command(args);
}

// The last "listening on tcp://…" address in the log.
std::string last_tcp_listener(const std::string& log) {
  std::regex listening("listening on (tcp://[^\\s]+)");
  std::string found;
  for (std::sregex_iterator it(log.begin(), log.end(), listening), end; it != end; ++it)
    found = (*it)[1];
  return found;
}

// Errors the broker sends a client on its own (ref 0), kept for assertions.
struct error_log {
  std::function<void(std::error_code, std::string_view)> handler() {
    return [this](std::error_code ec, std::string_view text) {
      std::lock_guard lock(mutex);
      items.push_back(std::string(protocol::errc_name(static_cast<std::uint16_t>(ec.value()))) +
                      ": " + std::string(text));
    };
  }
  bool wait_for_text(const std::string& wanted) {
    return wait_until([&] {
      std::lock_guard lock(mutex);
      for (const auto& item : items)
        if (item.find(wanted) != std::string::npos) return true;
      return false;
    });
  }
  std::mutex mutex;
  std::vector<std::string> items;
};

}  // namespace

TEST_SUITE("reload") {
  TEST_CASE("reload adds a queue and a listener, changes the log level, subscribers stay") {
    ipcd_process broker;
    broker.use_config_log_level();
    broker.write_config(one_socket, R"("log": {"level": "info"})");
    REQUIRE(broker.start());
    collector got;
    Client subscriber(test::at(broker.unix_url())), publisher(test::at(broker.unix_url()));
    REQUIRE(!subscriber.connect());
    REQUIRE(!publisher.connect());
    std::error_code ec;
    auto sub = subscriber.subscribe("r/#", got.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!publisher.publish_confirmed("r/1", "before"));
    REQUIRE(got.wait_for(1));
    CHECK(broker.log().find("open as") == std::string::npos);  // debug lines are off

    broker.write_config(socket_and_tcp,
                        R"("log": {"level": "debug"}, "queues": {"jobs": {"max_length": 5}})");
    auto reloaded = ipcctl(broker.unix_url(), {"reload"});
    CHECK_MESSAGE(reloaded.exit_code == 0, reloaded.err);
    CHECK(reloaded.out.find("queue jobs created") != std::string::npos);
    CHECK(reloaded.out.find("log.level debug") != std::string::npos);
    CHECK(reloaded.out.find("listener tcp://127.0.0.1:0 added") != std::string::npos);
    auto queues = ipcctl(broker.unix_url(), {"queue", "list"});
    CHECK(queues.out.find("jobs") != std::string::npos);

    // The new listener serves; the subscriber made before the reload still receives.
    std::string tcp_url = last_tcp_listener(broker.log());
    REQUIRE(!tcp_url.empty());
    Client remote(test::at(tcp_url));
    REQUIRE(!remote.connect());
    CHECK(broker.log().find("open as") != std::string::npos);  // debug lines are on
    CHECK(!remote.publish_confirmed("r/2", "over the new listener"));
    CHECK(got.wait_for(2));

    // SIGHUP with the TCP listener gone: it stops accepting, its connection stays.
    broker.write_config(one_socket, R"("log": {"level": "debug"}, "queues": {"jobs": {}})");
    broker.signal(SIGHUP);
    CHECK(wait_until(
        [&] { return broker.log().find("no longer listening on tcp://") != std::string::npos; }));
    CHECK(!remote.publish_confirmed("r/3", "from a kept connection"));
    CHECK(got.wait_for(3));
    Client refused(test::at(tcp_url));
    CHECK(refused.connect());
    // The queue removed from the file's options got its defaults back, and still exists.
    CHECK(ipcctl(broker.unix_url(), {"queue", "info", "jobs"}).exit_code == 0);
    CHECK(got.items() == std::vector<std::string>{"r/1 before", "r/2 over the new listener",
                                                  "r/3 from a kept connection"});
  }

  TEST_CASE("reload re-checks auth: narrowed permissions end subscriptions and consumers") {
    // Made once: a new hash (new salt) of the same password is a changed password.
    std::map<std::string, std::string> hashes;
    for (const char* password : {"ops-pw", "alice-pw", "bob-pw"})
      hashes[password] = credentials::hash_password(password, credentials::min_iterations);
    auto hash = [&](const char* password) { return hashes[password]; };
    auto auth_section = [&](const std::string& alice_permissions, bool with_bob) {
      return R"("queues": {"jobs": {}}, "auth": {"users": [
          {"name": "ops", "password": ")" +
             hash("ops-pw") + R"("},
          {"name": "alice", "password": ")" +
             hash("alice-pw") + R"(", "permissions": )" + alice_permissions + "}" +
             (with_bob ? R"(, {"name": "bob", "password": ")" + hash("bob-pw") + R"("})" : "") +
             "]}";
    };
    ipcd_process broker;
    broker.write_config(one_socket,
                        auth_section(R"({"subscribe": ["a/#", "b/#"], "publish": ["a/#", "b/#"],
                         "consume": ["jobs"], "send": ["jobs"]})",
                                     true));
    REQUIRE(broker.start());
    auto as = [&](const char* user, const char* password) {
      auto options = test::at(broker.unix_url());
      options.user = user;
      options.password = password;
      return options;
    };
    error_log alice_errors;
    auto alice_options = as("alice", "alice-pw");
    alice_options.on_error = alice_errors.handler();
    std::atomic<bool> bob_dropped{false};
    auto bob_options = as("bob", "bob-pw");
    bob_options.on_state = [&](connection_state state, std::error_code) {
      if (state == connection_state::disconnected || state == connection_state::closed)
        bob_dropped = true;
    };
    collector got;
    collector jobs;
    Client alice(alice_options), bob(bob_options), ops(as("ops", "ops-pw"));
    REQUIRE(!alice.connect());
    REQUIRE(!bob.connect());
    REQUIRE(!ops.connect());
    std::error_code ec;
    auto sub_a = alice.subscribe("a/#", got.handler(), ec);
    REQUIRE(!ec);
    auto sub_b = alice.subscribe("b/#", got.handler(), ec);
    REQUIRE(!ec);
    auto consumer = alice.consume("jobs", {}, jobs.handler(), ec);
    REQUIRE(!ec);

    // The broker remembers the topic each client last published to (its checks passed):
    // a reload must forget it.
    REQUIRE(!alice.publish_confirmed("b/mine", "before"));
    REQUIRE(got.wait_for(1));

    // Not an admin: alice may not reload.
    auto denied = run_command({ipcctl_binary(), "--url", broker.unix_url(), "--user", "alice",
                               "--password", "alice-pw", "reload"});
    CHECK(denied.exit_code == 4);

    broker.write_config(one_socket,
                        auth_section(R"({"subscribe": ["a/#"], "publish": ["a/#"]})", false));
    auto reloaded = run_command({ipcctl_binary(), "--url", broker.unix_url(), "--user", "ops",
                                 "--password", "ops-pw", "reload"});
    CHECK_MESSAGE(reloaded.exit_code == 0, reloaded.err);
    CHECK(reloaded.out.find("auth") != std::string::npos);

    CHECK(alice_errors.wait_for_text("to 'b/#' ended: no longer permitted after a config reload"));
    CHECK(alice_errors.wait_for_text("on queue 'jobs' cancelled"));
    CHECK(wait_until([&] { return bob_dropped.load(); }));
    CHECK(broker.log().find("as 'bob': credentials withdrawn by reload") != std::string::npos);
    // What alice may still see reaches her; what she may not, no longer does.
    REQUIRE(!ops.publish_confirmed("b/1", "hidden"));
    REQUIRE(!ops.publish_confirmed("a/1", "visible"));
    REQUIRE(got.wait_for(2));
    CHECK(got.items() == std::vector<std::string>{"b/mine before", "a/1 visible"});
    // Her last topic is no longer hers to publish to; the connection stays.
    CHECK(alice.publish_confirmed("b/mine", "after") == errc::permission_denied);
    CHECK(!alice.publish_confirmed("a/mine", "after"));
    CHECK(got.wait_for(3));
    REQUIRE(!ops.send("jobs", "for someone else"));
    CHECK(jobs.size() == 0);
    // She can no longer subscribe to b/#, but her connection works.
    auto again = alice.subscribe("b/#", got.handler(), ec);
    CHECK(ec == errc::permission_denied);
    auto allowed = alice.subscribe("a/more", got.handler(), ec);
    CHECK(!ec);
    // Bob cannot come back.
    Client bob_again(as("bob", "bob-pw"));
    CHECK(bob_again.connect() == errc::auth_failed);
  }

  TEST_CASE("an invalid reload changes nothing, ipcctl reload lists the errors and exits 4") {
    ipcd_process broker;
    broker.use_config_log_level();
    broker.write_config(one_socket, R"("log": {"level": "info"})");
    REQUIRE(broker.start());
    collector got;
    Client subscriber(test::at(broker.unix_url()));
    REQUIRE(!subscriber.connect());
    std::error_code ec;
    auto sub = subscriber.subscribe("x/#", got.handler(), ec);
    REQUIRE(!ec);

    broker.write_config(one_socket, R"("log": {"level": "debug"}, "limits": {"max_payload": 0},
                                      "queues": {"made": {}}, "extra": true)");
    auto refused = ipcctl(broker.unix_url(), {"reload"});
    CHECK(refused.exit_code == 4);
    CHECK(refused.err.find("/limits/max_payload") != std::string::npos);
    CHECK(refused.err.find("/extra") != std::string::npos);

    broker.write_config(one_socket, R"("log": {"level": "debug"},
                                      "queues": {"made": {"bind": ["a/#/b"]}})");
    refused = ipcctl(broker.unix_url(), {"reload"});
    CHECK(refused.exit_code == 4);
    CHECK(refused.err.find("/queues/made/bind/0") != std::string::npos);

    // A new listener that cannot be opened refuses the whole file.
    broker.write_config(
        R"([{"url":"unix://{dir}/ipcd.sock"}, {"url":"unix:///proc/ipcd-test/ipcd.sock"}])",
        R"("log": {"level": "debug"}, "queues": {"made": {}})");
    refused = ipcctl(broker.unix_url(), {"--json", "reload"});
    CHECK(refused.exit_code == 4);
    CHECK(refused.out.find(R"("path":"/listeners/1")") != std::string::npos);

    CHECK(ipcctl(broker.unix_url(), {"queue", "info", "made"}).exit_code == 4);
    CHECK(broker.log().find("config not reloaded (") != std::string::npos);
    CHECK(broker.log().find("open as") == std::string::npos);  // still at info
    Client publisher(test::at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    CHECK(!publisher.publish_confirmed("x/1", "still serving"));
    CHECK(got.wait_for(1));
  }

  TEST_CASE("reload re-checks topic names against new limits, also a client's last topic") {
    ipcd_process broker;
    broker.write_config(one_socket, R"("limits": {"max_topic_levels": 3})");
    REQUIRE(broker.start());
    Client publisher(test::at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    REQUIRE(!publisher.publish_confirmed("x/y/z", "three levels"));
    // A request's topic is remembered the same way once its checks pass (nobody answers).
    std::error_code ec;
    publisher.request("x/y/w", "three levels", {}, ec);
    CHECK(ec == errc::no_responders);
    broker.write_config(one_socket, R"("limits": {"max_topic_levels": 2})");
    auto reloaded = ipcctl(broker.unix_url(), {"reload"});
    CHECK_MESSAGE(reloaded.exit_code == 0, reloaded.err);
    publisher.request("x/y/w", "three levels", {}, ec);
    CHECK(ec == errc::invalid_topic);
    CHECK(publisher.publish_confirmed("x/y/z", "three levels") == errc::invalid_topic);
    CHECK(!publisher.publish_confirmed("x/y", "two levels"));
  }

  TEST_CASE("ipcctl config check validates a file without a broker") {
    temp_dir dir;
    std::ofstream(dir.file("good.json")) << R"({"listeners": [{"url": "tcp://127.0.0.1:0"}]})";
    auto good = run_command({ipcctl_binary(), "config", "check", dir.file("good.json")});
    CHECK(good.exit_code == 0);
    CHECK(good.out.find("ok") != std::string::npos);
    std::ofstream(dir.file("bad.json")) << R"({"limits": {"max_payload": "big"}, "x": 1})";
    auto bad = run_command({ipcctl_binary(), "config", "check", dir.file("bad.json")});
    CHECK(bad.exit_code == 4);
    CHECK(bad.err.find("2 error(s)") != std::string::npos);
    CHECK(bad.err.find("/limits/max_payload") != std::string::npos);
    auto missing = run_command({ipcctl_binary(), "config", "check", dir.file("none.json")});
    CHECK(missing.exit_code == 4);
    CHECK(missing.err.find("cannot read config file") != std::string::npos);
  }
}
