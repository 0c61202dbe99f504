// ipcd.exe as a Windows service (docs/windows.md §2): install, start, serve a client over
// the named pipe, stop gracefully, uninstall; run as real processes under the SCM.
#include <doctest/doctest.h>
#include <windows.h>

#include <fstream>
#include <sstream>

#include "collector.hpp"
#include "ipc/client.hpp"
#include "local_url.hpp"
#include "options.hpp"
#include "temp_dir.hpp"
#include "windows_process.hpp"

using namespace ipc;
using ipc::test::json_path;

namespace {

// Runs `ipcd.exe ARGS` to completion; its exit code, or -1 when it did not finish in 60 s.
int run_ipcd(const std::wstring& args) {
  test::windows_child ipcd(test::ipcd_exe(), args);
  return ipcd.started() ? ipcd.wait() : -2;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("ipcd runs as a Windows service: install, start, serve, stop, uninstall") {
    test::temp_dir dir;
    std::string url = test::local_test_url(dir);
    std::string config = dir.file("ipcd.json");
    std::string log = dir.file("ipcd.log");
    std::ofstream(config) << R"({"listeners": [{"url": ")" << url << R"("}],
      "storage": {"dir": ")"
                          << json_path(dir.file("data")) << R"("},
      "log": {"file": ")" << json_path(log)
                          << R"(", "stderr": false}})";
    std::wstring name = L"ipcd-test-" + std::to_wstring(GetCurrentProcessId());
    std::wstring wide_config(config.begin(), config.end());
    REQUIRE(run_ipcd(L"-c \"" + wide_config + L"\" service --name " + name + L" install") == 0);
    bool installed = true;
    struct uninstall_at_exit {
      std::wstring name;
      bool& installed;
      ~uninstall_at_exit() {
        if (installed) run_ipcd(L"service --name " + name + L" uninstall");
      }
    } cleanup{name, installed};

    REQUIRE(run_ipcd(L"service --name " + name + L" start") == 0);  // waits for RUNNING
    test::collector got;
    Client subscriber(test::at(url)), publisher(test::at(url));
    REQUIRE(!subscriber.connect());
    REQUIRE(!publisher.connect());
    std::error_code ec;
    auto sub = subscriber.subscribe("svc/#", got.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!publisher.publish_confirmed("svc/1", "from the service"));
    CHECK(got.wait_for(1));

    CHECK(run_ipcd(L"service --name " + name + L" stop") == 0);  // waits for STOPPED
    auto text = slurp(log);
    CHECK_MESSAGE(text.find("ready") != std::string::npos, text);
    CHECK_MESSAGE(text.find("stopped") != std::string::npos, text);
    CHECK(run_ipcd(L"service --name " + name + L" uninstall") == 0);
    installed = false;
    CHECK(run_ipcd(L"service --name " + name + L" start") != 0);  // gone
  }

  TEST_CASE("started from a console, ipcd is a console program") {
    test::temp_dir dir;
    std::ofstream(dir.file("bad.json")) << R"({"listeners": [{"url": "unix:///tmp/x.sock"}]})";
    std::string bad = dir.file("bad.json");
    // --check works the same; a unix:// listener is refused on Windows.
    CHECK(run_ipcd(L"--check -c \"" + std::wstring(bad.begin(), bad.end()) + L"\"") == 2);
    CHECK(run_ipcd(L"--check") == 0);  // the embedded default config: \\.\pipe\ipcd
    std::ofstream(dir.file("tls.json")) << R"({"listeners": [{"url": "tls://127.0.0.1:0",
      "cert": "c.pem", "key": "k.pem"}]})";
    std::string tls = dir.file("tls.json");  // no OpenSSL in this build
    CHECK(run_ipcd(L"--check -c \"" + std::wstring(tls.begin(), tls.end()) + L"\"") == 2);
  }
}
