// Authentication and permissions through real sockets: passwords, tokens, Unix peer
// credentials, anonymous refused, per-user connection limits, every permission check
// (publish, subscribe, send, consume, request, admin) with deny over allow, frames
// pipelined behind a password HELLO, and ipcctl's credentials and exit codes.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "ipc/protocol/encoder.hpp"
#include "options.hpp"
#include "process.hpp"
#include "raw_client.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

// Hashes are made once, cheaply (the minimum iteration count): tests are not about cost.
const std::string& alice_hash() {
  static const std::string hash =
      credentials::hash_password("alice-pw", credentials::min_iterations);
  return hash;
}
const std::string& ops_hash() {
  static const std::string hash = credentials::hash_password("ops-pw", credentials::min_iterations);
  return hash;
}
constexpr const char* ops_token = "ops-token-0123456789";

std::string auth_json(std::string extra_alice = {}, std::string unix_users = "{}") {
  return R"({"auth": {"anonymous": false, "users": [
      {"name": "alice", "password": ")" +
         alice_hash() + R"(",
       "permissions": {"publish": ["a/#"], "subscribe": ["a/#", "b/+"], "send": ["jobs"],
                       "consume": ["jobs"]},
       "deny": {"publish": ["a/secret/#"], "subscribe": ["a/secret/#"]})" +
         extra_alice + R"(},
      {"name": "ops", "password": ")" +
         ops_hash() + R"("}],
    "tokens": [{"hash": ")" +
         credentials::hash_token(ops_token) + R"(", "user": "ops"}],
    "unix_users": )" +
         unix_users + "}}";
}

std::function<void(config::broker_config&)> with_auth(std::string json_text) {
  return [json_text](config::broker_config& c) {
    auto loaded = config::parse(json_text, config::environment{});
    std::string problem =
        loaded.ok() ? "" : loaded.errors.front().path + ": " + loaded.errors.front().message;
    REQUIRE_MESSAGE(loaded.ok(), problem);
    c.auth = loaded.config.auth;
  };
}

client_options as(const std::string& url, std::string user, std::string password) {
  auto options = at(url);
  options.user = std::move(user);
  options.password = std::move(password);
  return options;
}

std::string user_of(Client& admin, std::uint64_t connection) {
  std::error_code ec;
  auto list = json::parse(admin.admin("conn.list", "{}", ec));
  for (const auto& c : list)
    if (c["id"] == connection) return c["user"];
  return "?";
}

}  // namespace

TEST_SUITE("auth") {
  TEST_CASE("passwords and tokens authenticate, wrong or unknown credentials are refused") {
    broker_fixture broker(with_auth(auth_json()));
    Client ops(as(broker.tcp_url(), "ops", "ops-pw"));
    REQUIRE(!ops.connect());
    Client alice(as(broker.unix_url(), "alice", "alice-pw"));
    REQUIRE(!alice.connect());
    CHECK(user_of(ops, alice.connection_id()) == "alice");
    auto token_options = at(broker.tcp_url());
    token_options.token = ops_token;
    Client by_token(token_options);
    REQUIRE(!by_token.connect());
    CHECK(user_of(ops, by_token.connection_id()) == "ops");

    Client wrong(as(broker.tcp_url(), "alice", "nope"));
    CHECK(wrong.connect() == protocol::errc::auth_failed);
    CHECK(wrong.last_error_message() == "authentication failed");
    Client unknown(as(broker.tcp_url(), "mallory", "alice-pw"));
    CHECK(unknown.connect() == protocol::errc::auth_failed);
    CHECK(unknown.last_error_message() == "authentication failed");  // same answer
    auto bad_token = at(broker.tcp_url());
    bad_token.token = "guess";
    Client guessed(bad_token);
    CHECK(guessed.connect() == protocol::errc::auth_failed);
    Client anonymous(at(broker.tcp_url()));
    CHECK(anonymous.connect() == protocol::errc::auth_failed);
    CHECK(anonymous.last_error_message().find("authentication required") != std::string::npos);

    CHECK(broker.log_contains("authentication failed for user 'alice' (wrong password)"));
    CHECK(broker.log_contains("(unknown user)"));
    for (const auto& line : broker.log_lines()) {
      CHECK(line.find("alice-pw") == std::string::npos);  // secrets never reach the log
      CHECK(line.find("nope") == std::string::npos);
      CHECK(line.find("guess") == std::string::npos);
    }
    std::error_code status_ec;
    CHECK(json::parse(ops.admin("status", "{}", status_ec))["connections"] == 3);
  }

  TEST_CASE("Unix peer credentials name a user only when unix_users maps the uid") {
    std::string mapping = R"({")" + std::to_string(::getuid()) + R"(": "alice"})";
    broker_fixture broker(with_auth(auth_json({}, mapping)));
    Client local(at(broker.unix_url()));  // no credentials at all
    REQUIRE(!local.connect());
    Client ops(as(broker.tcp_url(), "ops", "ops-pw"));
    REQUIRE(!ops.connect());
    CHECK(user_of(ops, local.connection_id()) == "alice");
    Client remote(at(broker.tcp_url()));  // TCP has no peer credentials
    CHECK(remote.connect() == protocol::errc::auth_failed);

    broker_fixture unmapped(with_auth(auth_json()));
    Client stranger(at(unmapped.unix_url()));
    CHECK(stranger.connect() == protocol::errc::auth_failed);
  }

  TEST_CASE("permissions: allowed, denied, deny over allow, the connection stays usable") {
    broker_fixture broker(with_auth(auth_json()));
    Client alice(as(broker.unix_url(), "alice", "alice-pw"));
    REQUIRE(!alice.connect());
    Client ops(as(broker.unix_url(), "ops", "ops-pw"));
    REQUIRE(!ops.connect());
    std::atomic<int> seen{0};
    std::error_code ec;
    auto watch = ops.subscribe(
        "#", [&](const message&) { ++seen; }, ec);
    REQUIRE(!ec);
    REQUIRE(!ops.flush());

    CHECK(!alice.publish_confirmed("a/x", "ok"));
    CHECK(alice.publish_confirmed("a/secret/x", "no") == protocol::errc::permission_denied);
    CHECK(alice.last_error_message() == "permission denied: publish to 'a/secret/x'");
    CHECK(alice.publish_confirmed("b/x", "no") == protocol::errc::permission_denied);
    CHECK(wait_until([&] { return seen == 1; }));

    auto sub_ok = alice.subscribe(
        "a/public/#", [](const message&) {}, ec);
    CHECK(!ec);
    auto sub_b = alice.subscribe(
        "b/+", [](const message&) {}, ec);
    CHECK(!ec);
    auto sub_all = alice.subscribe(
        "#", [](const message&) {}, ec);
    CHECK(ec == protocol::errc::permission_denied);
    auto sub_broad = alice.subscribe(
        "b/#", [](const message&) {}, ec);
    CHECK(ec == protocol::errc::permission_denied);
    auto sub_secret = alice.subscribe(
        "a/+/x", [](const message&) {}, ec);
    CHECK(ec == protocol::errc::permission_denied);  // could receive a/secret/x
    auto sub_sys = alice.subscribe(
        "$SYS/#", [](const message&) {}, ec);
    CHECK(ec == protocol::errc::permission_denied);

    CHECK(!alice.send("jobs", "j"));
    CHECK(alice.send("payroll", "p") == protocol::errc::permission_denied);
    auto consumer = alice.consume(
        "jobs", {}, [](const message&) {}, ec);
    CHECK(!ec);
    auto other = alice.consume(
        "payroll", {}, [](const message&) {}, ec);
    CHECK(ec == protocol::errc::permission_denied);

    request_options to_topic;
    to_topic.timeout = std::chrono::milliseconds(500);
    alice.request("c/rpc", "x", to_topic, ec);
    CHECK(ec == protocol::errc::permission_denied);
    request_options to_queue = to_topic;
    to_queue.to_queue = true;
    alice.request("payroll", "x", to_queue, ec);
    CHECK(ec == protocol::errc::permission_denied);

    alice.admin("status", "{}", ec);
    CHECK(ec == protocol::errc::permission_denied);
    CHECK(alice.admin("status", "{}", ec).find("admin permission") != std::string::npos);
    ops.admin("status", "{}", ec);
    CHECK(!ec);  // users without a permissions key have every right

    // Every refusal was an answer, not a disconnection.
    CHECK(alice.state() == connection_state::connected);
    CHECK(!alice.publish_confirmed("a/still", "fine"));
    CHECK(broker.log_contains("user 'alice': permission denied: publish to 'a/secret/x'"));
  }

  TEST_CASE("a slow password check does not hold up other connections") {
    // A few hundred milliseconds of PBKDF2 (1 000 000 iterations) for one login.
    static const std::string slow_hash = credentials::hash_password("slow-pw", 1'000'000);
    broker_fixture broker(
        with_auth(auth_json(R"(}, {"name": "slow", "password": ")" + slow_hash + R"(")")));
    Client ops(as(broker.unix_url(), "ops", "ops-pw"));
    REQUIRE(!ops.connect());
    std::atomic<bool> logged_in{false};
    std::thread login([&] {
      auto options = as(broker.unix_url(), "slow", "slow-pw");
      options.connect_timeout = std::chrono::seconds(60);  // a loaded machine is slow
      Client slow(options);
      CHECK(!slow.connect());
      logged_in = true;
    });
    int answered = 0;
    while (!logged_in && answered < 20000) {
      REQUIRE(!ops.publish_confirmed("while/checking", "x"));
      ++answered;
    }
    login.join();
    // Had the hash run on the I/O thread, one publish would have waited for all of it.
    CHECK_MESSAGE(answered >= 5, answered, " publishes answered during the check");
  }

  TEST_CASE("a user's connection limit refuses one connection more") {
    broker_fixture broker(with_auth(auth_json(R"(, "max_connections": 2)")));
    Client one(as(broker.unix_url(), "alice", "alice-pw"));
    Client two(as(broker.unix_url(), "alice", "alice-pw"));
    Client three(as(broker.unix_url(), "alice", "alice-pw"));
    REQUIRE(!one.connect());
    REQUIRE(!two.connect());
    CHECK(three.connect() == protocol::errc::limit_exceeded);
    CHECK(three.last_error_message() == "too many connections for user 'alice'");
    Client ops(as(broker.unix_url(), "ops", "ops-pw"));
    CHECK(!ops.connect());  // other users are not affected
    one.close();
    CHECK(wait_until([&] {
      Client again(as(broker.unix_url(), "alice", "alice-pw"));
      return !again.connect();
    }));
  }

  TEST_CASE("frames pipelined behind a password HELLO wait for the check, and die with it") {
    broker_fixture broker(with_auth(auth_json()));
    Client ops(as(broker.unix_url(), "ops", "ops-pw"));
    REQUIRE(!ops.connect());
    std::atomic<int> seen{0};
    std::error_code ec;
    auto watch = ops.subscribe(
        "a/#", [&](const message&) { ++seen; }, ec);
    REQUIRE(!ops.flush());
    auto hello_then_publish = [](const std::string& password) {
      std::vector<std::uint8_t> bytes, publish;
      std::pair<std::string_view, std::string_view> props[] = {{"user", "alice"},
                                                               {"password", password}};
      protocol::encode_hello(bytes, "password", props);
      protocol::encode_publish(publish, 0, "a/pipelined", {}, {}, std::span<const std::uint8_t>());
      bytes.insert(bytes.end(), publish.begin(), publish.end());
      return bytes;
    };
    ipc::test::raw_client wrong(broker.unix_url());
    wrong.send(hello_then_publish("wrong"));
    auto error = wrong.next_error();
    REQUIRE(error);
    CHECK(error->first == static_cast<std::uint16_t>(protocol::errc::auth_failed));
    ipc::test::raw_client right(broker.unix_url());
    right.send(hello_then_publish("alice-pw"));
    CHECK(wait_until([&] { return seen == 1; }));  // only the authenticated publish
    CHECK(seen == 1);
  }

  TEST_CASE("ipcctl: --user/--password, IPCD_PASSWORD, --token, exit codes 2 and 4, passwd") {
    ipc::test::ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                                   auth_json().substr(1, auth_json().size() - 2));
    REQUIRE(broker.start());
    auto run = [&](std::vector<std::string> args, std::vector<std::string> env = {}) {
      args.insert(args.begin(), {ipc::test::ipcctl_binary(), "--url", broker.unix_url()});
      ipc::test::child_process child(args, {}, env);
      auto code = child.wait(std::chrono::seconds(20));
      return std::make_pair(code.value_or(-1), child.err());
    };
    CHECK(run({"--user", "alice", "--password", "alice-pw", "pub", "a/x", "hi"}).first == 0);
    CHECK(run({"--user", "alice", "pub", "a/x", "hi"}, {"IPCD_PASSWORD=alice-pw"}).first == 0);
    auto wrong = run({"--user", "alice", "--password", "bad", "pub", "a/x", "hi"});
    CHECK(wrong.first == 2);
    CHECK(wrong.second.find("authentication failed") != std::string::npos);
    auto denied = run({"--user", "alice", "--password", "alice-pw", "status"});
    CHECK(denied.first == 4);
    CHECK(denied.second.find("permission denied") != std::string::npos);
    CHECK(run({"--token", ops_token, "status"}).first == 0);
    CHECK(run({"status"}).first == 2);  // anonymous is not allowed

    auto hashed = ipc::test::run_command(
        {ipc::test::ipcctl_binary(), "passwd", "--iterations", "10000"}, "s3cret\n");
    REQUIRE(hashed.exit_code == 0);
    std::string hash = hashed.out.substr(0, hashed.out.find('\n'));
    CHECK(credentials::verify_password(hash, "s3cret"));
    auto token =
        ipc::test::run_command({ipc::test::ipcctl_binary(), "passwd", "--token", "--json"});
    REQUIRE(token.exit_code == 0);
    auto t = json::parse(token.out);
    CHECK(credentials::verify_token(t["hash"].get<std::string>(), t["token"].get<std::string>()));
  }

  TEST_CASE("ipcd refuses a non-loopback listener without an auth section") {
    ipc::test::temp_dir dir;
    std::ofstream(dir.file("ipcd.json")) << R"({"listeners": [{"url": "tcp://0.0.0.0:0"}],
      "storage": {"dir": ")" << dir.file("data")
                                         << R"("}})";
    auto result =
        ipc::test::run_command({ipc::test::ipcd_binary(), "--check", "-c", dir.file("ipcd.json")});
    CHECK(result.exit_code != 0);
    CHECK((result.out + result.err).find("needs an \"auth\" section") != std::string::npos);
  }
}

TEST_SUITE("auth") {
  TEST_CASE("password guessing: delays after a few failures, other users unaffected") {
    broker_fixture broker(with_auth(R"({"auth": {"anonymous": false, "users": [
        {"name": "alice", "password": ")" +
                                    alice_hash() + R"("},
        {"name": "ops", "password": ")" +
                                    ops_hash() + R"("}],
      "unix_users": {")" + std::to_string(::getuid()) +
                                    R"(": "ops"},
      "lockout": {"failures": 2, "delay_ms": 2000, "max_delay_ms": 4000}}})"));
    for (int i = 0; i < 2; ++i) {  // free failures: checked and refused
      Client guess(as(broker.tcp_url(), "alice", "wrong-" + std::to_string(i)));
      CHECK(guess.connect() == protocol::errc::auth_failed);
      CHECK(guess.last_error_message() == "authentication failed");
    }
    {
      Client third(as(broker.tcp_url(), "alice", "wrong-2"));
      CHECK(third.connect() == protocol::errc::auth_failed);
    }
    // Now alice, and the peer 127.0.0.1, wait: even the right password is refused unchecked.
    Client right(as(broker.tcp_url(), "alice", "alice-pw"));
    CHECK(right.connect() == protocol::errc::auth_failed);
    CHECK(right.last_error_message().starts_with("too many failed logins: try again in"));
    // Another user from another peer (the Unix socket, by uid) is served at once.
    Client other(as(broker.unix_url(), "ops", "ops-pw"));
    CHECK(!other.connect());
    // Once the delay has passed, the right password works, and clears the count.
    CHECK(wait_until([&] {
      Client retry(as(broker.tcp_url(), "alice", "alice-pw"));
      return !retry.connect();
    }));
    Client after(as(broker.tcp_url(), "alice", "wrong-again"));
    CHECK(after.connect() == protocol::errc::auth_failed);
    CHECK(after.last_error_message() == "authentication failed");  // checked, not locked
    std::error_code ec;
    auto status = json::parse(other.admin("status", "{}", ec));
    REQUIRE(!ec);
    CHECK(status["auth_failures"].get<std::uint64_t>() >= 4);
    CHECK(status["auth_lockouts"].get<std::uint64_t>() >= 1);
    CHECK(broker.log_contains("login for user 'alice' refused unchecked: too many failed logins"));
  }
}
