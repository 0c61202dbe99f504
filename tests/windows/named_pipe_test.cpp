// Named pipes on Windows (docs/windows.md §3): a name already taken (a squatter, or
// another broker) refuses the listener; a client finds no broker clearly; many clients
// connect at once through the broker; the client's user SID reaches the authenticator.
#include <doctest/doctest.h>
#include <windows.h>
// windows.h first.
#include <sddl.h>

#include <atomic>
#include <thread>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "ipc/transport/stream.hpp"
#include "local_url.hpp"
#include "options.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;

namespace {

std::wstring pipe_path(const std::string& url) {
  auto parsed = transport::parse_url(url);
  REQUIRE(parsed.value);
  return std::wstring(parsed.value->path.begin(), parsed.value->path.end());
}

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("a pipe name another process holds is refused, not shared") {
    test::temp_dir dir;
    std::string url = test::local_test_url(dir);
    // A squatter creates the first instance before the broker.
    HANDLE squatter =
        CreateNamedPipeW(pipe_path(url).c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT,
                         PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, nullptr);
    REQUIRE(squatter != INVALID_HANDLE_VALUE);
    CHECK_THROWS(broker_fixture([&](config::broker_config& c) { c.listeners[0].url = url; }));
    CloseHandle(squatter);
    // Gone: the broker takes the name, and a second broker on it is refused.
    broker_fixture first([&](config::broker_config& c) { c.listeners[0].url = url; });
    CHECK(first.unix_url() == url);
    CHECK_THROWS(broker_fixture([&](config::broker_config& c) { c.listeners[0].url = url; }));
    Client client(at(url));
    CHECK(!client.connect());
  }

  TEST_CASE("the pipe's access list: an unknown account refuses the listener") {
    CHECK_THROWS(broker_fixture(
        [](config::broker_config& c) { c.listeners[0].access = {"no-such-account-ipcd-test"}; }));
    broker_fixture broker([](config::broker_config& c) {
      c.listeners[0].access = {"S-1-5-11"};  // Authenticated Users, as a SID
    });
    Client client(at(broker.unix_url()));
    CHECK(!client.connect());
  }

  TEST_CASE("a client finds no broker on an unused pipe name") {
    test::temp_dir dir;
    Client client(at(test::local_test_url(dir)));
    auto ec = client.connect();
    CHECK(ec);
  }

  TEST_CASE("many pipe clients connect at once and all get their messages") {
    broker_fixture broker;
    REQUIRE(broker.unix_url().starts_with("npipe://"));
    constexpr int clients = 24;
    std::vector<std::unique_ptr<Client>> subscribers;
    std::vector<std::unique_ptr<test::collector>> got;
    std::vector<subscription> subs;
    std::vector<std::thread> connecting;
    std::atomic<int> connected{0};
    for (int i = 0; i < clients; ++i) {
      subscribers.push_back(std::make_unique<Client>(at(broker.unix_url())));
      got.push_back(std::make_unique<test::collector>());
    }
    for (int i = 0; i < clients; ++i)  // at once: every instance busy, some clients retry
      connecting.emplace_back([&, i] {
        if (!subscribers[static_cast<std::size_t>(i)]->connect()) ++connected;
      });
    for (auto& t : connecting) t.join();
    REQUIRE(connected.load() == clients);
    for (int i = 0; i < clients; ++i) {
      std::error_code ec;
      subs.push_back(subscribers[static_cast<std::size_t>(i)]->subscribe(
          "fan/#", got[static_cast<std::size_t>(i)]->handler(), ec));
      REQUIRE(!ec);
    }
    Client publisher(at(broker.unix_url()));
    REQUIRE(!publisher.connect());
    for (int n = 0; n < 10; ++n)
      REQUIRE(!publisher.publish_confirmed("fan/" + std::to_string(n), "over a pipe"));
    for (auto& c : got) CHECK(c->wait_for(10));
  }

  TEST_CASE("windows_users maps the pipe client's SID to a user") {
    // The SID of this process's user, which the test's clients run as.
    HANDLE token = nullptr;
    REQUIRE(OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token));
    DWORD size = 0;
    GetTokenInformation(token, TokenUser, nullptr, 0, &size);
    std::vector<unsigned char> buffer(size);
    REQUIRE(GetTokenInformation(token, TokenUser, buffer.data(), size, &size));
    CloseHandle(token);
    LPSTR text = nullptr;
    REQUIRE(ConvertSidToStringSidA(reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid, &text));
    std::string sid = text;
    LocalFree(text);

    broker_fixture broker([&](config::broker_config& c) {
      c.auth.present = true;
      c.auth.anonymous = false;
      c.auth.users.push_back({});
      c.auth.users.back().name = "desktop";
      c.auth.windows_users = {{sid, "desktop"}};
    });
    Client local(at(broker.unix_url()));
    REQUIRE(!local.connect());  // no credentials: the pipe client's SID is enough
    std::error_code ec;
    auto listing = local.admin("conn.list", "{}", ec);
    REQUIRE(!ec);
    CHECK(listing.find("\"user\":\"desktop\"") != std::string::npos);
    Client remote(at(broker.tcp_url()));  // TCP carries no SID
    CHECK(remote.connect() == errc::auth_failed);
  }
}
