// Password and token hashes, and the config's auth section: users, permissions, tokens,
// Unix mappings, and the rule that non-loopback listeners need auth. Every bad value
// fails closed with its JSON path.
#include <doctest/doctest.h>

#include "config_errors.hpp"

#include "access/authenticator.hpp"
#include "access/login_throttle.hpp"
#include "access/permissions.hpp"
#include "ipc/config/config.hpp"
#include "ipc/credentials/password.hpp"
#include "ipc/protocol/encoder.hpp"

using namespace ipc::config;

namespace {

using ipc::test::dump;
using ipc::test::has_error;

load_result load(const std::string& text) { return parse(text, environment{}); }

}  // namespace

TEST_SUITE("auth") {
  TEST_CASE("password hashes verify the right password only, and are salted") {
    auto hash = ipc::credentials::hash_password("s3cret", ipc::credentials::min_iterations);
    CHECK(hash.starts_with("$pbkdf2-sha256$i=10000$"));
    CHECK(ipc::credentials::check_password_hash(hash).empty());
    CHECK(ipc::credentials::verify_password(hash, "s3cret"));
    CHECK_FALSE(ipc::credentials::verify_password(hash, "s3creT"));
    CHECK_FALSE(ipc::credentials::verify_password(hash, ""));
    CHECK(ipc::credentials::hash_password("s3cret", ipc::credentials::min_iterations) != hash);
    CHECK_FALSE(ipc::credentials::check_password_hash("").empty());
    CHECK_FALSE(ipc::credentials::check_password_hash("$pbkdf2-sha256$i=10$AAAA$AAAA").empty());
    CHECK_FALSE(ipc::credentials::check_password_hash(hash.substr(0, hash.size() - 2)).empty());
    CHECK_FALSE(ipc::credentials::verify_password("plain-text-password", "plain-text-password"));
  }

  TEST_CASE("tokens: random, hashed with SHA-256, verified") {
    auto token = ipc::credentials::generate_token();
    CHECK(token.size() == 43);
    CHECK(token != ipc::credentials::generate_token());
    auto hash = ipc::credentials::hash_token(token);
    CHECK(ipc::credentials::check_token_hash(hash).empty());
    CHECK(ipc::credentials::verify_token(hash, token));
    CHECK_FALSE(ipc::credentials::verify_token(hash, token + "x"));
    CHECK(ipc::credentials::hash_token("abc") ==
          "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  TEST_CASE("an auth section with users, permissions, tokens and unix users loads") {
    auto hash = ipc::credentials::hash_password("pw", ipc::credentials::min_iterations);
    auto token = ipc::credentials::hash_token("tok");
    auto result = load(R"({"auth": {"anonymous": false,
      "users": [{"name": "alice", "password": ")" +
                       hash + R"(",
                 "permissions": {"publish": ["a/#"], "subscribe": ["a/#", "b/+"],
                                 "send": ["jobs"], "consume": ["jobs.*"], "admin": false},
                 "deny": {"publish": ["a/secret/#"]}, "max_connections": 5},
                {"name": "ops"}],
      "tokens": [{"hash": ")" +
                       token + R"(", "user": "ops"}],
      "unix_users": {"1000": "alice", "postgres": "ops"}}})");
    REQUIRE_MESSAGE(result.ok(), dump(result.errors));
    const auto& a = result.config.auth;
    CHECK(a.present);
    CHECK_FALSE(a.anonymous);
    REQUIRE(a.users.size() == 2);
    CHECK(a.users[0].restricted);
    CHECK(a.users[0].allow.subscribe == std::vector<std::string>{"a/#", "b/+"});
    CHECK(a.users[0].deny.publish == std::vector<std::string>{"a/secret/#"});
    CHECK(a.users[0].max_connections == 5);
    CHECK_FALSE(a.users[1].restricted);  // no permissions key: full rights
    CHECK(a.tokens.at(0).user == "ops");
    CHECK(a.unix_users.size() == 2);
  }

  TEST_CASE("auth fails closed: empty or malformed hashes, bad patterns, unknown users") {
    auto errors = load(R"({"auth": {
      "users": [{"name": "a", "password": ""},
                {"name": "b", "password": "hunter2"},
                {"name": "b"},
                {"name": "bad name"},
                {"name": "anonymous", "password": "$pbkdf2-sha256$i=10000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
                {"name": "c", "permissions": {"publish": ["a/#/b"], "consume": ["a/b"],
                                              "subscribe": [""], "bogus": []}}],
      "tokens": [{"hash": "md5$abc", "user": "nobody"}],
      "unix_users": {"1000": "ghost", "-x": "a"}}})")
                      .errors;
    CHECK_MESSAGE(has_error(errors, "/auth/users/0/password", "empty password"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/1/password", "ipcctl passwd"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/2/name", "duplicate user 'b'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/3/name", "invalid user name"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/4/password", "cannot have a password"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/5/permissions/publish/0", "invalid topic pattern"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/5/permissions/subscribe/0", "invalid topic"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/5/permissions/consume/0", "invalid queue pattern"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/users/5/permissions/bogus", "unknown key"),
                  dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/tokens/0/hash", "sha256$"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/tokens/0/user", "no user 'nobody'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/unix_users/1000", "no user 'ghost'"), dump(errors));
    CHECK_MESSAGE(has_error(errors, "/auth/unix_users/-x", "neither a uid"), dump(errors));
  }

  TEST_CASE("a non-loopback listener needs an auth section, loopback and unix do not") {
    auto open = load(R"({"listeners": [{"url": "tcp://0.0.0.0:7878"}]})").errors;
    CHECK_MESSAGE(has_error(open, "/listeners/0/url", "needs an \"auth\" section"), dump(open));
    CHECK(load(R"({"listeners": [{"url": "tcp://127.0.0.1:7878"}, {"url": "tcp://[::1]:7879"},
                                 {"url": "unix:///tmp/x.sock"}]})")
              .ok());
    CHECK(load(R"({"listeners": [{"url": "tcp://0.0.0.0:7878"}], "auth": {"anonymous": true}})")
              .ok());
  }

  TEST_CASE("topic pattern relations: covers and intersects, with the $ rule") {
    using ipc::broker::pattern_covers;
    using ipc::broker::patterns_intersect;
    CHECK(pattern_covers("a/#", "a"));
    CHECK(pattern_covers("a/#", "a/b/c"));
    CHECK(pattern_covers("a/#", "a/+/c"));
    CHECK(pattern_covers("a/#", "a/#"));
    CHECK(pattern_covers("a/+", "a/b"));
    CHECK(pattern_covers("a/+", "a/+"));
    CHECK_FALSE(pattern_covers("a/+", "a/#"));
    CHECK_FALSE(pattern_covers("a/+", "a/b/c"));
    CHECK_FALSE(pattern_covers("a/b", "a/+"));
    CHECK_FALSE(pattern_covers("a/#", "b"));
    CHECK(pattern_covers("#", "x/y"));
    CHECK_FALSE(pattern_covers("#", "$SYS/x"));
    CHECK_FALSE(pattern_covers("+/x", "$SYS/x"));
    CHECK(pattern_covers("$SYS/#", "$SYS/connections/open"));
    CHECK(patterns_intersect("a/#", "a/secret/x"));
    CHECK(patterns_intersect("a/+/x", "a/b/+"));
    CHECK(patterns_intersect("#", "a"));
    CHECK(patterns_intersect("a/#", "a"));
    CHECK_FALSE(patterns_intersect("a/+", "a/b/c"));
    CHECK_FALSE(patterns_intersect("a/b", "a/c"));
    CHECK_FALSE(patterns_intersect("#", "$SYS/x"));
    CHECK(patterns_intersect("$SYS/#", "$SYS/+"));
  }

  TEST_CASE("permissions: allow lists when restricted, deny always wins") {
    user alice;
    alice.name = "alice";
    alice.restricted = true;
    alice.allow.publish = {"a/#"};
    alice.allow.subscribe = {"a/#", "b/+"};
    alice.allow.send = {"jobs"};
    alice.allow.consume = {"jobs.*"};
    alice.deny.publish = {"a/secret/#"};
    alice.deny.subscribe = {"a/secret/#"};
    ipc::broker::permissions p(alice);
    CHECK(p.may_publish("a/x"));
    CHECK(p.may_publish("a"));
    CHECK_FALSE(p.may_publish("a/secret/x"));
    CHECK_FALSE(p.may_publish("b/x"));
    CHECK(p.may_subscribe("a/public/#"));
    CHECK(p.may_subscribe("b/x"));
    CHECK_FALSE(p.may_subscribe("b/#"));  // broader than b/+
    CHECK_FALSE(p.may_subscribe("#"));
    CHECK_FALSE(p.may_subscribe("a/#"));    // could receive a/secret/...
    CHECK_FALSE(p.may_subscribe("a/+/x"));  // a/secret/x
    CHECK(p.may_send("jobs"));
    CHECK_FALSE(p.may_send("jobs2"));
    CHECK(p.may_consume("jobs.eu"));
    CHECK_FALSE(p.may_consume("jobs"));
    CHECK_FALSE(p.admin());
    user ops;
    ops.name = "ops";
    ipc::broker::permissions all(ops);
    CHECK(all.may_publish("anything/at/all"));
    CHECK(all.may_subscribe("#"));
    CHECK(all.admin());
    ops.deny.send = {"*"};
    ops.deny.admin = true;
    ipc::broker::permissions no_send(ops);
    CHECK_FALSE(no_send.may_send("q"));
    CHECK_FALSE(no_send.admin());
  }

  TEST_CASE("the authenticator: anonymous, unix peers, passwords, tokens") {
    auto hash = ipc::credentials::hash_password("pw", ipc::credentials::min_iterations);
    auto loaded = load(R"({"auth": {"users": [{"name": "alice", "password": ")" + hash +
                       R"("}, {"name": "svc"}],
      "tokens": [{"hash": ")" +
                       ipc::credentials::hash_token("tok-1") + R"(", "user": "svc"}],
      "unix_users": {"4242": "alice", "nosuchaccount": "svc"}}})");
    REQUIRE_MESSAGE(loaded.ok(), dump(loaded.errors));
    auto uid_of = [](const std::string& name) -> std::optional<std::uint32_t> {
      if (name == "nosuchaccount") return 777;
      return std::nullopt;
    };
    ipc::broker::authenticator a(loaded.config.auth, uid_of);
    using creds = ipc::broker::presented_credentials;
    const creds anonymous{"anonymous", {}, {}, {}};
    using ipc::broker::errc;
    CHECK(a.decide(anonymous, std::nullopt).error == errc::auth_failed);
    CHECK(a.decide(anonymous, 4242).user == "alice");
    CHECK(a.decide(anonymous, 777).user == "svc");
    CHECK(a.decide(anonymous, 1).error == errc::auth_failed);
    auto good = a.decide({"password", "alice", "pw", {}}, {});
    REQUIRE(good.password_hash);
    CHECK(ipc::broker::authenticator::check_password(*good.password_hash, good.password));
    auto wrong = a.decide({"password", "alice", "px", {}}, {});
    CHECK_FALSE(ipc::broker::authenticator::check_password(*wrong.password_hash, wrong.password));
    auto nobody = a.decide({"password", "bob", "pw", {}}, {});
    REQUIRE(nobody.password_hash);  // checked against a decoy: same cost, always fails
    CHECK_FALSE(ipc::broker::authenticator::check_password(*nobody.password_hash, "pw"));
    CHECK(a.decide({"token", {}, {}, "tok-1"}, {}).user == "svc");
    CHECK(a.decide({"token", {}, {}, "tok-2"}, {}).error == errc::auth_failed);
    CHECK(a.decide({"kerberos", {}, {}, {}}, {}).error == errc::auth_failed);

    load_result open = load("{}");
    ipc::broker::authenticator no_auth(open.config.auth, uid_of);
    CHECK(no_auth.decide(anonymous, {}).user == "anonymous");
    CHECK(no_auth.decide({"password", {}, {}, {}}, {}).error == errc::auth_failed);
  }

  TEST_CASE("after a reload a connection stays only while what vouched for it still does") {
    auto hash = ipc::credentials::hash_password("pw", ipc::credentials::min_iterations);
    auto section = [&](const std::string& alice_hash, const std::string& tokens,
                       const std::string& unix_users, bool anonymous) {
      return R"({"auth": {"anonymous": )" + std::string(anonymous ? "true" : "false") +
             R"(, "users": [{"name": "alice", "password": ")" + alice_hash +
             R"("}, {"name": "svc"}], "tokens": )" + tokens + R"(, "unix_users": )" + unix_users +
             "}}";
    };
    auto token = ipc::credentials::hash_token("tok-1");
    auto before = load(section(hash, R"([{"hash": ")" + token + R"(", "user": "svc"}])",
                               R"({"4242": "alice"})", true));
    REQUIRE_MESSAGE(before.ok(), dump(before.errors));
    auto no_uid = [](const std::string&) -> std::optional<std::uint32_t> { return std::nullopt; };
    ipc::broker::authenticator a(before.config.auth, no_uid);
    using creds = ipc::broker::presented_credentials;
    auto by_token = a.decide(creds{"token", {}, {}, "tok-1"}, {});
    auto by_uid = a.decide(creds{"anonymous", {}, {}, {}}, 4242);
    auto anonymous = a.decide(creds{"anonymous", {}, {}, {}}, 1);
    auto by_password = a.decide(creds{"password", "alice", "pw", {}}, {});
    for (const auto* d : {&by_token, &by_uid, &anonymous, &by_password})
      CHECK(a.still_valid(d->user, d->basis));

    // The same file again: everything holds.
    ipc::broker::authenticator same(before.config.auth, no_uid);
    for (const auto* d : {&by_token, &by_uid, &anonymous, &by_password})
      CHECK(same.still_valid(d->user, d->basis));
    // A new hash for alice, no tokens, uid 4242 now svc, anonymous off: nothing holds.
    auto after =
        load(section(ipc::credentials::hash_password("pw", ipc::credentials::min_iterations), "[]",
                     R"({"4242": "svc"})", false));
    REQUIRE_MESSAGE(after.ok(), dump(after.errors));
    ipc::broker::authenticator changed(after.config.auth, no_uid);
    for (const auto* d : {&by_token, &by_uid, &anonymous, &by_password})
      CHECK_FALSE(changed.still_valid(d->user, d->basis));
    // No auth section at all: only anonymous connections remain.
    ipc::broker::authenticator open(load("{}").config.auth, no_uid);
    CHECK(open.still_valid(anonymous.user, anonymous.basis));
    CHECK_FALSE(open.still_valid(by_password.user, by_password.basis));
    CHECK_FALSE(a.still_valid("alice", "something else"));
  }
}

TEST_CASE("login_throttle: delays double after the free failures, per user and per peer") {
  using ipc::broker::login_throttle;
  using std::chrono::milliseconds;
  ipc::config::lockout_settings settings;
  settings.failures = 2;
  settings.delay_ms = 100;
  settings.max_delay_ms = 350;
  login_throttle throttle(settings);
  auto t = login_throttle::clock::time_point{} + std::chrono::hours(1);
  throttle.failed("alice", "10.0.0.1", t);
  throttle.failed("alice", "10.0.0.1", t);
  CHECK(throttle.locked_for("alice", "10.0.0.1", t) == login_throttle::clock::duration::zero());
  throttle.failed("alice", "10.0.0.1", t);                                  // the third: 100 ms
  CHECK(throttle.locked_for("alice", "10.0.0.2", t) == milliseconds(100));  // the user
  CHECK(throttle.locked_for("bob", "10.0.0.1", t) == milliseconds(100));    // the peer
  CHECK(throttle.locked_for("bob", "10.0.0.2", t) == login_throttle::clock::duration::zero());
  CHECK(throttle.locked_for("alice", "10.0.0.1", t + milliseconds(100)) ==
        login_throttle::clock::duration::zero());
  throttle.failed("alice", "10.0.0.1", t + milliseconds(100));  // 200 ms
  CHECK(throttle.locked_for("alice", "x", t + milliseconds(100)) == milliseconds(200));
  throttle.failed("alice", "10.0.0.1", t + milliseconds(300));  // 400, capped at 350
  CHECK(throttle.locked_for("alice", "x", t + milliseconds(300)) == milliseconds(350));
  // A success clears the user's and the peer's counts.
  throttle.succeeded("alice", "10.0.0.1");
  throttle.failed("alice", "10.0.0.1", t + milliseconds(700));
  CHECK(throttle.locked_for("alice", "10.0.0.1", t + milliseconds(700)) ==
        login_throttle::clock::duration::zero());
  // failures 0 turns it off.
  settings.failures = 0;
  throttle.configure(settings);
  for (int i = 0; i < 10; ++i) throttle.failed("carol", "10.0.0.9", t);
  CHECK(throttle.locked_for("carol", "10.0.0.9", t) == login_throttle::clock::duration::zero());
}

TEST_CASE("login_throttle: the tables stay bounded under a flood of names") {
  using ipc::broker::login_throttle;
  login_throttle throttle;
  auto t = login_throttle::clock::time_point{} + std::chrono::hours(1);
  for (std::size_t i = 0; i < login_throttle::max_entries + 1000; ++i)
    throttle.failed("user" + std::to_string(i), "peer" + std::to_string(i), t);
  CHECK(throttle.tracked() <= 2 * login_throttle::max_entries);
  // Once they are stale, new names are tracked again.
  auto later = t + std::chrono::hours(1);
  throttle.failed("late", "late-peer", later);
  CHECK(throttle.tracked() <= 2 * login_throttle::max_entries);
}

TEST_CASE("login_throttle: at most two checks in progress per user and per peer") {
  using ipc::broker::login_throttle;
  login_throttle throttle;
  CHECK(throttle.begin("alice", "10.0.0.1"));
  CHECK(throttle.begin("alice", "10.0.0.2"));
  CHECK_FALSE(throttle.begin("alice", "10.0.0.3"));  // alice has two in progress
  CHECK(throttle.begin("bob", "10.0.0.1"));
  CHECK_FALSE(throttle.begin("carol", "10.0.0.1"));                   // so has the peer 10.0.0.1
  { login_throttle::in_flight done(throttle, "alice", "10.0.0.1"); }  // one of them ends
  CHECK(throttle.begin("carol", "10.0.0.1"));
  CHECK(throttle.begin("alice", "10.0.0.3"));
}
