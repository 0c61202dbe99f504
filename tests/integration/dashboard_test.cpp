// The dashboard page in a real browser (docs/monitoring.md §5): headless Chromium (Debian's
// chromium) opens it from a real ipcd while messages flow, runs its script for several
// refreshes, and the page it leaves shows the live values: points on the rates chart, a
// rate in, the queue table with the queue's depth. A screenshot of it is kept as a test
// artifact (IPCD_TEST_ARTIFACTS, the build tree's test-artifacts/dashboard.png).
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "ipc/client.hpp"
#include "options.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

using ipc::test::ipcd_process;
using ipc::test::run_command;

namespace {

// Chromium as the machine allows it: headless, as root without its sandbox, with nothing
// that reaches for the network, in a profile of its own.
std::vector<std::string> chromium(const ipc::test::temp_dir& profile,
                                  std::vector<std::string> more) {
  std::vector<std::string> argv = {"/usr/bin/chromium",
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile.file("profile"),
                                   "--window-size=1280,900"};
  argv.insert(argv.end(), more.begin(), more.end());
  return argv;
}

}  // namespace

TEST_CASE("the dashboard shows live rates and queues in headless Chromium") {
  ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"},{"url":"http://127.0.0.1:0"}])");
  REQUIRE(broker.start());
  auto port = broker.port_of("http");
  REQUIRE(!port.empty());
  std::string page = "http://127.0.0.1:" + port + "/";

  ipc::Client client(ipc::test::at(broker.unix_url()));
  REQUIRE(!client.connect());
  std::error_code ec;
  client.admin("queue.create", R"({"name":"work"})", ec);
  REQUIRE(!ec);
  for (int i = 0; i < 3; ++i) REQUIRE(!client.send("work", "job"));
  // Traffic for the rates: a publisher running while the page is open.
  std::atomic<bool> done{false};
  std::thread traffic([&] {
    while (!done) {
      for (int i = 0; i < 200; ++i) (void)client.publish("load/x", "payload");
      (void)client.flush();  // paced by the broker's answer, not by a sleep
    }
  });

  // The broker samples its rates once a second: the page is opened once it has one.
  REQUIRE(ipc::test::wait_until([&] {
    auto status = nlohmann::json::parse(client.admin("status", "{}", ec));
    return status.value("rate_in", 0.0) > 0;
  }));

  // --virtual-time-budget lets the page's timers run (its refresh every two seconds)
  // before the DOM is printed; the requests are real.
  ipc::test::temp_dir profile;
  auto dom = run_command(chromium(profile, {"--virtual-time-budget=9000", "--dump-dom", page}), {},
                         std::chrono::seconds(90));
  REQUIRE_MESSAGE(dom.exit_code == 0, dom.err);
  std::smatch found;
  REQUIRE(std::regex_search(dom.out, found, std::regex("data-points=\"([0-9]+)\"")));
  CHECK(std::stoi(found[1]) >= 3);  // several refreshes drew the chart
  REQUIRE(std::regex_search(dom.out, found, std::regex("id=\"rate-in\">([^<]*)<")));
  CHECK(found[1] != "0");  // a live rate
  CHECK(std::regex_search(
      dom.out, std::regex("<tr data-queue=\"work\"><td>work</td><td class=\"n\">3</td>")));
  CHECK(dom.out.find("id=\"health\" class=\"ok\">healthy<") != std::string::npos);

  std::filesystem::create_directories(IPCD_TEST_ARTIFACTS);
  std::string shot = std::string(IPCD_TEST_ARTIFACTS) + "/dashboard.png";
  std::filesystem::remove(shot);
  auto screenshot =
      run_command(chromium(profile, {"--virtual-time-budget=5000", "--screenshot=" + shot, page}),
                  {}, std::chrono::seconds(90));
  CHECK_MESSAGE(screenshot.exit_code == 0, screenshot.err);
  CHECK(std::filesystem::exists(shot));
  CHECK(std::filesystem::file_size(shot) > 10000);
  done = true;
  traffic.join();
}
