// TLS through real sockets: certificates made for the test by the openssl command (a CA,
// a server certificate for 127.0.0.1 and localhost, a client certificate CN=svc-a, and an
// unrelated CA). Pub/sub over tls://, server verification, required client certificates
// mapped to users, plain bytes to a TLS port and TLS to a plain port, ipcctl --ca/--cert.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "options.hpp"
#include "process.hpp"
#include "raw_client.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::pki;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

std::function<void(config::broker_config&)> with_tls(bool require_client_cert) {
  return [require_client_cert](config::broker_config& c) {
    config::listener tls;
    tls.url = "tls://127.0.0.1:0";
    tls.cert = pki().file("server.pem");
    tls.key = pki().file("server.key");
    tls.ca = pki().file("ca.pem");
    tls.require_client_cert = require_client_cert;
    c.listeners.push_back(tls);
    if (require_client_cert) {
      auto loaded = config::parse(R"({"auth": {"users": [{"name": "svc"}, {"name": "ops"}],
        "cert_users": {"CN=svc-a": "svc"}, "anonymous": false,
        "unix_users": {"0": "ops", ")" +
                                      std::to_string(::getuid()) + R"(": "ops"}}})",
                                  config::environment{});
      REQUIRE(loaded.ok());
      c.auth = loaded.config.auth;
    }
  };
}

client_options over_tls(const std::string& url, std::string ca, std::string cert = {},
                        std::string key = {}) {
  auto options = at(url);
  options.tls_ca = std::move(ca);
  options.tls_cert = std::move(cert);
  options.tls_key = std::move(key);
  return options;
}

}  // namespace

TEST_SUITE("tls") {
  TEST_CASE("pub/sub over tls:// with the server verified against the given CA") {
    broker_fixture broker(with_tls(false));
    REQUIRE(broker.tls_url().starts_with("tls://127.0.0.1:"));
    Client local(at(broker.unix_url()));
    REQUIRE(!local.connect());
    ipc::test::collector got;
    std::error_code ec;
    auto sub = local.subscribe("secure/#", got.handler(), ec);
    REQUIRE(!local.flush());
    Client remote(over_tls(broker.tls_url(), pki().file("ca.pem")));
    REQUIRE(!remote.connect());
    for (int i = 0; i < 100; ++i) REQUIRE(!remote.publish("secure/x", std::to_string(i)));
    REQUIRE(!remote.flush());
    CHECK(got.wait_for(100));
    std::string big(512 * 1024, 'b');  // records split and joined
    CHECK(!remote.publish_confirmed("secure/big", big));
    CHECK(got.wait_for(101));

    // The same port by name: the certificate names localhost too.
    std::string by_name =
        "tls://localhost:" + broker.tls_url().substr(broker.tls_url().rfind(':') + 1);
    Client named(over_tls(by_name, pki().file("ca.pem")));
    CHECK(!named.connect());
    // Not trusted: another CA, or the system store, which does not know the test CA.
    Client untrusted(over_tls(broker.tls_url(), pki().file("other-ca.pem")));
    CHECK(untrusted.connect());
    Client system_store(over_tls(broker.tls_url(), ""));
    CHECK(system_store.connect());
  }

  TEST_CASE("require_client_cert: no certificate or a foreign one is refused, CN maps a user") {
    broker_fixture broker(with_tls(true));
    Client none(over_tls(broker.tls_url(), pki().file("ca.pem")));
    CHECK(none.connect());
    Client rogue(over_tls(broker.tls_url(), pki().file("ca.pem"), pki().file("rogue.pem"),
                          pki().file("rogue.key")));
    CHECK(rogue.connect());
    Client svc(over_tls(broker.tls_url(), pki().file("ca.pem"), pki().file("client.pem"),
                        pki().file("client.key")));
    REQUIRE(!svc.connect());
    Client ops(at(broker.unix_url()));
    REQUIRE(!ops.connect());
    std::error_code ec;
    auto list = json::parse(ops.admin("conn.list", "{}", ec));
    bool found = false;
    for (const auto& c : list)
      if (c["id"] == svc.connection_id()) found = c["user"] == "svc";
    CHECK(found);
    CHECK(!svc.publish_confirmed("from/svc", "hello"));
  }

  TEST_CASE("plain bytes to a TLS port and TLS to a plain port end only that connection") {
    broker_fixture broker(with_tls(false));
    std::string tls_port = broker.tls_url().substr(broker.tls_url().rfind(':') + 1);
    ipc::test::raw_client plain("tcp://127.0.0.1:" + tls_port);
    std::vector<std::uint8_t> hello;
    protocol::encode_hello(hello, "anonymous", {});
    plain.send(hello);
    CHECK(plain.closed_by_peer());
    CHECK_FALSE(plain.next(std::chrono::milliseconds(100)));  // no frame, just the close

    std::string tcp_port = broker.tcp_url().substr(broker.tcp_url().rfind(':') + 1);
    Client confused(over_tls("tls://127.0.0.1:" + tcp_port, pki().file("ca.pem")));
    CHECK(confused.connect());
    CHECK(wait_until(
        [&] { return broker.log_contains("frame too large") || broker.log_contains("closing"); }));
    Client fine(over_tls(broker.tls_url(), pki().file("ca.pem")));
    CHECK(!fine.connect());
  }

  TEST_CASE("ipcctl over tls:// with --ca, and a clear failure without it") {
    ipc::test::ipcd_process broker(
        R"([{"url":"unix://{dir}/ipcd.sock"}, {"url":"tls://127.0.0.1:0", "cert":")" +
        pki().file("server.pem") + R"(", "key":")" + pki().file("server.key") + R"("}])");
    REQUIRE(broker.start());
    std::string log = broker.log();
    auto at_pos = log.find("listening on tls://");
    REQUIRE(at_pos != std::string::npos);
    std::string url =
        log.substr(at_pos + 13, log.find_first_of(" \n\"", at_pos + 13) - at_pos - 13);
    auto ok = ipc::test::run_command({ipc::test::ipcctl_binary(), "--url", url, "--ca",
                                      pki().file("ca.pem"), "status", "--json"});
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    auto refused = ipc::test::run_command({ipc::test::ipcctl_binary(), "--url", url, "status"});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err.find("certificate verify failed") != std::string::npos);
  }

  TEST_CASE("config: a tls listener needs readable cert and key, and a CA to require certs") {
    auto errors = config::parse(R"({"listeners": [
        {"url": "tls://127.0.0.1:7879"},
        {"url": "tls://127.0.0.1:7880", "cert": "/nonexistent/cert.pem", "key": "/nonexistent/k",
         "require_client_cert": true},
        {"url": "tcp://127.0.0.1:7881", "cert": "x"},
        {"url": "tcp://127.0.0.1:7880"}]})",
                                config::environment{})
                      .errors;
    auto has = [&](const std::string& path, const std::string& part) {
      for (const auto& e : errors)
        if (e.path == path && e.message.find(part) != std::string::npos) return true;
      return false;
    };
    CHECK(has("/listeners/0/cert", "needs it"));
    CHECK(has("/listeners/0/key", "needs it"));
    CHECK(has("/listeners/1/cert", "cannot read"));
    CHECK(has("/listeners/1/ca", "require_client_cert needs a CA"));
    CHECK(has("/listeners/2/cert", "only to tls://"));
    CHECK(has("/listeners/3/url", "uses the address of /listeners/1/url"));
  }

  TEST_CASE("a reload re-reads the listener's certificate files, open connections keep theirs") {
    namespace fs = std::filesystem;
    ipc::test::ipcd_process broker;
    fs::copy_file(pki().file("server.pem"), broker.dir().file("cert.pem"));
    fs::copy_file(pki().file("server.key"), broker.dir().file("key.pem"));
    broker.write_config(R"([{"url":"unix://{dir}/ipcd.sock"},
                            {"url":"tls://127.0.0.1:0", "cert":"{dir}/cert.pem",
                             "key":"{dir}/key.pem"}])");
    REQUIRE(broker.start());
    std::smatch found;
    auto log = broker.log();
    REQUIRE(std::regex_search(log, found, std::regex("listening on (tls://[^\\s]+)")));
    std::string tls_url = found[1];
    auto options = over_tls(tls_url, pki().file("ca.pem"));
    options.auto_reconnect = false;
    Client before(options);
    REQUIRE(!before.connect());

    // Renewed files under the same names (another CA, so the change shows), then SIGHUP.
    fs::copy_file(pki().file("server-renewed.pem"), broker.dir().file("cert.pem"),
                  fs::copy_options::overwrite_existing);
    fs::copy_file(pki().file("server-renewed.key"), broker.dir().file("key.pem"),
                  fs::copy_options::overwrite_existing);
    broker.signal(SIGHUP);
    REQUIRE(wait_until([&] { return broker.log().find("config reloaded") != std::string::npos; }));
    auto renewed = over_tls(tls_url, pki().file("other-ca.pem"));
    renewed.auto_reconnect = false;
    Client after(renewed);
    CHECK(!after.connect());
    Client stale(options);
    CHECK(stale.connect());  // the old CA no longer vouches for the listener
    CHECK(!before.publish_confirmed("tls/kept", "the old session still works"));

    // A certificate that cannot be loaded refuses the reload: the renewed one stays.
    fs::remove(broker.dir().file("key.pem"));
    auto refused =
        ipc::test::run_command({ipc::test::ipcctl_binary(), "--url", broker.unix_url(), "reload"});
    CHECK(refused.exit_code == 4);
    CHECK_MESSAGE(refused.err.find("key.pem") != std::string::npos, refused.err);
    Client still(renewed);
    CHECK(!still.connect());
  }
}

TEST_SUITE("tls") {
  TEST_CASE("TLS 1.0 and 1.1 are refused, and failed handshakes are counted and logged") {
    broker_fixture broker(with_tls(false));
    std::string port = broker.tls_url().substr(broker.tls_url().rfind(':') + 1);
    Client admin(at(broker.unix_url()));
    REQUIRE(!admin.connect());
    auto failures = [&] {
      std::error_code ec;
      auto status = json::parse(admin.admin("status", "{}", ec));
      REQUIRE(!ec);
      return status["tls_handshake_failures"].get<std::uint64_t>();
    };
    CHECK(failures() == 0);
    // openssl s_client offering only an old version (SECLEVEL=0 lets it offer one at
    // all): the broker's minimum is TLS 1.2, so the handshake fails.
    for (const char* version : {"-tls1", "-tls1_1"}) {
      auto result = ipc::test::run_command(
          {"/usr/bin/openssl", "s_client", version, "-cipher", "DEFAULT:@SECLEVEL=0", "-connect",
           "127.0.0.1:" + port, "-CAfile", pki().file("ca.pem")},
          "");
      CHECK_MESSAGE(result.exit_code != 0, result.out);
    }
    CHECK(wait_until([&] { return failures() == 2; }));
    CHECK(broker.log_contains("TLS handshake with 127.0.0.1:"));
    // TLS 1.2 still works, and so does plain text to the TLS port: counted, not served.
    auto good = ipc::test::run_command(
        {"/usr/bin/openssl", "s_client", "-tls1_2", "-connect", "127.0.0.1:" + port, "-CAfile",
         pki().file("ca.pem"), "-verify_return_error"},
        "");
    CHECK_MESSAGE(good.exit_code == 0, good.err);
    CHECK(good.out.find("Protocol  : TLSv1.2") != std::string::npos);
    ipc::test::raw_client plain("tcp://127.0.0.1:" + port);
    plain.send({'G', 'E', 'T', ' ', '/', '\r', '\n', '\r', '\n'});
    CHECK(plain.closed_by_peer());
    CHECK(wait_until([&] { return failures() == 3; }));
  }
}
