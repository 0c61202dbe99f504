// Running under a service manager (docs/operations.md): the notify protocol on a fake
// NOTIFY_SOCKET, socket activation with inherited descriptors, and journal log lines.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>

#include "collector.hpp"
#include "ipc/client.hpp"
#include "options.hpp"
#include "process.hpp"
#include "wait.hpp"

using namespace ipc;
using namespace ipc::test;

namespace {

// A bound Unix socket of the given type; -1 on failure.
int bound_socket(int type, const std::string& path) {
  int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The service manager's end of NOTIFY_SOCKET: every datagram ipcd sends.
class fake_service_manager {
 public:
  explicit fake_service_manager(const std::string& path)
      : path_(path), fd_(bound_socket(SOCK_DGRAM, path)) {}
  ~fake_service_manager() { ::close(fd_); }
  bool ok() const { return fd_ >= 0; }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }
  // The next datagram containing `wanted`, skipping others (kept in `seen`); "" on timeout.
  std::string wait_for(const std::string& wanted,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      auto size = ::recv(fd_, buffer, sizeof buffer, 0);
      if (size <= 0) continue;
      std::string message(buffer, static_cast<std::size_t>(size));
      seen.push_back(message);
      if (message.find(wanted) != std::string::npos) return message;
    }
  }
  std::vector<std::string> seen;

 private:
  std::string path_;
  int fd_;
};

}  // namespace

TEST_CASE("ipcd tells the service manager READY, RELOADING, STOPPING and pings the watchdog") {
  ipcd_process broker;
  fake_service_manager manager(broker.dir().file("notify.sock"));
  REQUIRE(manager.ok());
  REQUIRE(broker.start(std::chrono::seconds(10), {manager.env(), "WATCHDOG_USEC=200000"}));
  auto ready = manager.wait_for("READY=1");
  CHECK(ready.find("STATUS=serving on 2 listener(s)") != std::string::npos);
  // Readiness comes only after every listener is open: a client connects at once.
  auto options = test::at(broker.unix_url());
  Client client(options);
  CHECK(!client.connect());
  // WATCHDOG_USEC = 200 ms: pings every 100 ms.
  CHECK(!manager.wait_for("WATCHDOG=1").empty());
  CHECK(!manager.wait_for("WATCHDOG=1").empty());

  broker.signal(SIGHUP);
  auto reloading = manager.wait_for("RELOADING=1");
  CHECK(reloading.find("MONOTONIC_USEC=") != std::string::npos);
  CHECK(manager.wait_for("READY=1").find("STATUS=serving; config reloaded") != std::string::npos);

  broker.write_config("[", "");  // a broken file: the reload fails, ipcd stays ready
  broker.signal(SIGHUP);
  CHECK(!manager.wait_for("RELOADING=1").empty());
  CHECK(manager.wait_for("READY=1").find("reload failed") != std::string::npos);
  CHECK(broker.running());

  CHECK(broker.stop() == 0);
  CHECK(!manager.wait_for("STOPPING=1").empty());
}

TEST_CASE("a WATCHDOG_PID naming another process turns the watchdog off") {
  ipcd_process broker;
  fake_service_manager manager(broker.dir().file("notify.sock"));
  REQUIRE(manager.ok());
  REQUIRE(broker.start(std::chrono::seconds(10),
                       {manager.env(), "WATCHDOG_USEC=100000", "WATCHDOG_PID=1"}));
  CHECK(!manager.wait_for("READY=1").empty());
  CHECK(manager.wait_for("WATCHDOG=1", std::chrono::milliseconds(500)).empty());
  CHECK(broker.stop() == 0);
}

TEST_CASE("socket activation: inherited sockets are adopted, an unmatched one is closed") {
  temp_dir sockets;
  std::string unix_path = sockets.file("activated.sock");
  int unix_fd = bound_socket(SOCK_STREAM, unix_path);
  REQUIRE(unix_fd >= 0);
  REQUIRE(::listen(unix_fd, 16) == 0);
  int tcp_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(tcp_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(tcp_fd, 16) == 0);
  socklen_t size = sizeof address;
  ::getsockname(tcp_fd, reinterpret_cast<sockaddr*>(&address), &size);
  std::string tcp_url = "tcp://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  std::string stray_path = sockets.file("stray.sock");
  int stray_fd = bound_socket(SOCK_STREAM, stray_path);
  REQUIRE(::listen(stray_fd, 16) == 0);

  ipcd_process broker(R"([{"url":"unix://)" + unix_path + R"("}, {"url":")" + tcp_url + R"("}])");
  REQUIRE(broker.start(std::chrono::seconds(10), {"LISTEN_FDNAMES=ipcd:ipcd-tcp:stray"},
                       {unix_fd, tcp_fd, stray_fd}));
  ::close(unix_fd);  // ipcd has its own copies now
  ::close(tcp_fd);
  ::close(stray_fd);
  CHECK(broker.log().find("listening on unix://" + unix_path +
                          " (socket from the service manager)") != std::string::npos);
  CHECK(broker.log().find("listening on " + tcp_url + " (socket from the service manager)") !=
        std::string::npos);
  CHECK(broker.log().find("inherited socket stray (" + stray_path +
                          ") matches no listener in the config; closed") != std::string::npos);

  collector got;
  Client subscriber(test::at("unix://" + unix_path)), publisher(test::at(tcp_url));
  REQUIRE(!subscriber.connect());
  REQUIRE(!publisher.connect());
  std::error_code ec;
  auto sub = subscriber.subscribe("act/#", got.handler(), ec);
  REQUIRE(!ec);
  CHECK(!publisher.publish_confirmed("act/1", "through inherited sockets"));
  CHECK(got.wait_for(1));
  // Nobody accepts on the stray socket any more: ipcd closed it and so did we.
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un stray{};
  stray.sun_family = AF_UNIX;
  std::strncpy(stray.sun_path, stray_path.c_str(), sizeof stray.sun_path - 1);
  CHECK(::connect(probe, reinterpret_cast<sockaddr*>(&stray), sizeof stray) != 0);
  ::close(probe);

  CHECK(broker.stop() == 0);
  // The socket file belongs to the service manager: ipcd leaves it in place.
  CHECK(std::filesystem::exists(unix_path));
}

TEST_CASE("log lines carry syslog priorities and no timestamp when stderr is the journal") {
  ipcd_process broker;
  REQUIRE(broker.start(std::chrono::seconds(10), {"JOURNAL_STREAM=*"}));
  {
    auto options = test::at(broker.unix_url());
    Client client(options);  // its "open as" line is a debug line
    REQUIRE(!client.connect());
  }
  REQUIRE(broker.stop() == 0);
  auto log = broker.log();
  CHECK(log.find("<6>ipcd ") != std::string::npos);
  CHECK(log.find("<7>") != std::string::npos);  // debug lines (ipcd runs with debug here)
  CHECK(log.find(" info ") == std::string::npos);
  // A JOURNAL_STREAM naming another file (stderr redirected elsewhere) is ignored.
  ipcd_process redirected;
  REQUIRE(redirected.start(std::chrono::seconds(10), {"JOURNAL_STREAM=1:1"}));
  REQUIRE(redirected.stop() == 0);
  CHECK(redirected.log().find(" info ipcd ") != std::string::npos);
}

TEST_CASE("log.file writes a rotated file besides stderr") {
  ipcd_process broker;
  broker.write_config(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                      R"("log": {"file": "{dir}/logs/ipcd.log", "max_file_bytes": 65536,
                                 "max_files": 2})");
  REQUIRE(broker.start());
  auto options = test::at(broker.unix_url());
  // Each connection logs two debug lines (open, closed): enough of them fill 64 KiB.
  namespace fs = std::filesystem;
  auto logs = broker.dir().path() / "logs";
  for (int i = 0; i < 3000 && !fs::exists(logs / "ipcd.1.log"); ++i) {
    Client client(options);
    REQUIRE(!client.connect());
  }
  CHECK(fs::exists(logs / "ipcd.1.log"));
  REQUIRE(broker.stop() == 0);
  CHECK(fs::file_size(logs / "ipcd.1.log") <= 65536);
  CHECK(!fs::exists(logs / "ipcd.3.log"));

  ipcd_process unwritable;
  unwritable.write_config(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                          R"("log": {"file": "/proc/ipcd-no-such-dir/ipcd.log"})");
  CHECK(!unwritable.start());
  CHECK(unwritable.log().find("log.file") != std::string::npos);
}
