// The shared-memory transport (docs/shared-memory.md) through real sockets and rings: who
// switches and who stays on the socket, every kind of traffic across transports, messages
// larger than a ring, a client that scribbles over its rings or sends garbage through
// them, and a client killed with SIGKILL mid-stream: the broker and a client connected
// throughout go on, and the segment and its descriptors are released.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "crossing.hpp"
#include "ipc/client.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/transport/shm_ring.hpp"
#include "ipcctl_driver.hpp"
#include "options.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "transports.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::collector;
using ipc::test::transports;

namespace {

std::string path_of(const std::string& unix_url) { return unix_url.substr(sizeof "unix://" - 1); }

// A client of our own making that asks for the switch and keeps the segment, to play a
// broken or hostile peer: it can write anything into the rings.
class raw_shm_client {
 public:
  explicit raw_shm_client(const std::string& unix_url) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = path_of(unix_url);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    protocol::byte_buffer hello;
    std::pair<std::string_view, std::string_view> props[] = {{"client_name", "raw-shm"},
                                                             {"shm", "1"}};
    protocol::encode_hello(hello, "anonymous", props);
    REQUIRE(::write(fd_, hello.data(), hello.size()) == static_cast<ssize_t>(hello.size()));
    // The WELCOME arrives with the five descriptors: the memfd, then the pipe ends.
    char bytes[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(5 * sizeof(int))];
    iovec io{bytes, sizeof bytes};
    msghdr message{};
    message.msg_iov = &io;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    REQUIRE(::recvmsg(fd_, &message, MSG_CMSG_CLOEXEC) > 0);
    auto* header = CMSG_FIRSTHDR(&message);
    REQUIRE(header != nullptr);
    REQUIRE(header->cmsg_type == SCM_RIGHTS);
    std::memcpy(descriptors_, CMSG_DATA(header), sizeof descriptors_);
    bytes_ = static_cast<std::size_t>(::lseek(descriptors_[0], 0, SEEK_END));
    void* mapped = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, descriptors_[0], 0);
    REQUIRE(mapped != MAP_FAILED);
    memory_ = static_cast<std::uint8_t*>(mapped);
    ring_bytes_ = transport::shm::read_ring_bytes({memory_, bytes_});
    REQUIRE(ring_bytes_ != 0);
  }
  ~raw_shm_client() {
    ::munmap(memory_, bytes_);
    for (int fd : descriptors_) ::close(fd);
    ::close(fd_);
  }

  // Writes `bytes` into the client-to-broker ring as a well-behaved client would.
  void send(std::span<const std::uint8_t> bytes) {
    transport::shm::ring_writer writer({memory_, bytes_}, ring_bytes_,
                                       transport::shm::direction::to_broker);
    bool corrupt = false;
    // A fresh writer starts at position 0: right for a client that sent nothing yet.
    REQUIRE(writer.write(bytes, corrupt) == bytes.size());
    wake_broker();
  }
  // The client-to-broker ring's write position (the first word of its control block).
  void set_tail(std::uint64_t value) { std::memcpy(memory_ + 64, &value, sizeof value); }
  // The broker-to-client ring's read position (its consumer line, offset 256): what the
  // broker checks before it writes an answer.
  void set_reply_head(std::uint64_t value) { std::memcpy(memory_ + 256, &value, sizeof value); }
  void send_on_socket() { REQUIRE(::write(fd_, "x", 1) == 1); }
  void make_blocking() {
    for (int fd : descriptors_) REQUIRE(::fcntl(fd, F_SETFL, 0) == 0);
  }
  // Sets "consumer waiting" of the broker-to-client ring (its consumer line, offset 256).
  void set_waiting_for_bytes() {
    std::uint32_t one = 1;
    std::memcpy(memory_ + 256 + 8, &one, sizeof one);
  }
  void wake_broker() {
    std::uint64_t one = 1;
    REQUIRE(::write(descriptors_[1], &one, sizeof one) == 8);
  }
  // Whether the broker closed the socket within a few seconds.
  bool closed_by_broker() {
    return test::wait_until([&] {
      char c;
      auto n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
      return n == 0 || (n < 0 && errno != EAGAIN);
    });
  }

 private:
  int fd_ = -1;
  int descriptors_[5]{-1, -1, -1, -1, -1};
  std::uint8_t* memory_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t ring_bytes_ = 0;
};

// `subscriber` hears what `publisher` publishes on `topic`.
void check_hears(Client& subscriber, Client& publisher, const std::string& topic) {
  collector got;
  std::error_code ec;
  auto sub = subscriber.subscribe(topic, got.handler(), ec);
  REQUIRE_FALSE(ec);
  REQUIRE_FALSE(publisher.publish(topic, "yes"));
  CHECK(got.wait_for(1));
}

// Clients connected now, over shared memory, are served.
void check_still_served(const std::string& unix_url) {
  Client subscriber(at(unix_url)), publisher(at(unix_url));
  REQUIRE_FALSE(subscriber.connect());
  REQUIRE_FALSE(publisher.connect());
  check_hears(subscriber, publisher, "still/here");
}

// A client on shared memory connected before the trouble starts, which must come through
// it on the same connection: it never reconnects, so a broker that dropped it (or
// everyone) is caught.
class bystander {
 public:
  explicit bystander(const std::string& url) : client_(options_of(url)) {
    REQUIRE_FALSE(client_.connect());
    id_ = client_.connection_id();
    std::error_code ec;
    sub_ = client_.subscribe("calm/#", heard_.handler(), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(test::transports(client_)[id_] == "shm");
  }
  // Still connected (its first connection is still listed), still on shared memory, and
  // it hears `count` messages in all on calm/#.
  void check_unaffected(std::size_t count) {
    CHECK(heard_.wait_for(count));
    CHECK(test::transports(client_)[id_] == "shm");
  }
  Client& client() { return client_; }

 private:
  static client_options options_of(const std::string& url) {
    auto options = at(url);
    options.auto_reconnect = false;
    return options;
  }
  collector heard_;  // outlives the subscription that feeds it
  Client client_;
  std::uint64_t id_ = 0;
  subscription sub_;
};

// The broker's open descriptors, and how many.
std::set<int> descriptors_of(int pid) {
  std::set<int> open;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    open.insert(std::stoi(entry.path().filename().string()));
  return open;
}
std::size_t open_descriptors(int pid) { return descriptors_of(pid).size(); }

// The broker's mappings of shm segments (one per shm connection).
int shm_mappings(int pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  int count = 0;
  for (std::string line; std::getline(maps, line);)
    if (line.find("memfd:ipcd-shm") != std::string::npos) ++count;
  return count;
}

// A broker stand-in on a Unix socket that grants the first HELLO's shm but sends no
// segment with its WELCOME, and answers later HELLOs without shm; it records whether
// each HELLO asked. Blocking calls on a thread of its own.
class segmentless_broker {
 public:
  explicit segmentless_broker(std::string path) : path_(std::move(path)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~segmentless_broker() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
    for (int fd : connections_) ::close(fd);
  }
  std::string url() const { return "unix://" + path_; }
  std::vector<bool> asked() const {
    std::lock_guard lock(mutex_);
    return asked_;
  }

 private:
  void serve() {
    for (int n = 0;; ++n) {
      int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      connections_.push_back(fd);
      protocol::frame_reader reader(protocol::max_handshake_frame);
      protocol::raw_frame frame;
      protocol::errc error{};
      protocol::read_status status = protocol::read_status::need_more;
      while (status == protocol::read_status::need_more) {
        auto space = reader.prepare();
        auto got = ::read(fd, space.data(), space.size());
        if (got <= 0) break;
        reader.commit(static_cast<std::size_t>(got));
        status = reader.next(frame, error);
      }
      protocol::hello_frame hello;
      if (status != protocol::read_status::frame ||
          protocol::decode(frame, hello) != protocol::errc::ok)
        continue;
      std::string_view value;
      bool asking = hello.properties.find("shm", value) && value == "1";
      {
        std::lock_guard lock(mutex_);
        asked_.push_back(asking);
      }
      std::pair<std::string_view, std::string_view> props[] = {{"server", "fake"}, {"shm", "1"}};
      protocol::byte_buffer welcome;
      protocol::encode_welcome(welcome, 100 + n, 1 << 20, std::span(props).first(n == 0 ? 2 : 1));
      if (::write(fd, welcome.data(), welcome.size()) < 0) return;
    }
  }

  std::string path_;
  int listener_ = -1;
  std::thread thread_;
  std::vector<int> connections_;  // the serving thread's, closed after it ends
  mutable std::mutex mutex_;
  std::vector<bool> asked_;
};

}  // namespace

TEST_CASE("shm: a client that cannot take the segment connects again on the socket alone") {
  test::temp_dir dir;
  segmentless_broker broker(dir.file("fake.sock"));
  Client client(at(broker.url()));  // unix://: asks, fails to take it, asks no more
  REQUIRE_FALSE(client.connect());
  CHECK(broker.asked() == std::vector<bool>{true, false});
  CHECK(client.connection_id() == 101);

  segmentless_broker insisting(dir.file("fake2.sock"));
  Client required(at("shm://" + dir.file("fake2.sock")));  // shm:// insists: fails, says why
  CHECK(required.connect());
  CHECK(insisting.asked() == std::vector<bool>{true});
  CHECK_MESSAGE(required.last_error_message().find("switch to shared memory failed: expected 5 "
                                                   "descriptors") != std::string::npos,
                required.last_error_message());
}

TEST_CASE("shm: clients switch where asked and allowed, and all traffic crosses transports") {
  broker_fixture broker;
  std::string shm_url = "shm://" + path_of(broker.unix_url());
  std::vector<collector> heard(4);  // the collectors outlive the clients that feed them
  collector jobs;
  Client asked(at(broker.unix_url())), required(at(shm_url)), tcp(at(broker.tcp_url()));
  auto no_shm = at(broker.unix_url());
  no_shm.shared_memory = false;
  Client socket_only(no_shm);
  for (Client* c : {&asked, &required, &tcp, &socket_only}) REQUIRE_FALSE(c->connect());
  auto listed = transports(tcp);
  CHECK(listed[asked.connection_id()] == "shm");
  CHECK(listed[required.connection_id()] == "shm");
  CHECK(listed[socket_only.connection_id()] == "unix");
  CHECK(listed[tcp.connection_id()] == "tcp");

  test::check_everyone_hears_everyone({&asked, &required, &tcp, &socket_only}, heard);

  // request/reply and a queue, responder and consumer on shared memory.
  test::check_request_reply(required, tcp);
  std::error_code ec;
  REQUIRE(asked.declare_queue("jobs", {}, ec));
  for (int i = 0; i < 20; ++i) REQUIRE_FALSE(socket_only.send("jobs", std::to_string(i)));
  auto consumer = asked.consume("jobs", {}, jobs.handler(), ec);
  REQUIRE_FALSE(ec);
  CHECK(jobs.wait_for(20));
}

TEST_CASE("shm: a message larger than the ring goes through it in pieces, in order") {
  std::uint32_t spin_us = 0;
  SUBCASE("sides sleep when their ring is empty or full") {}
  SUBCASE("sides poll their rings first (broker and clients spin)") { spin_us = 300; }
  broker_fixture broker([&](config::broker_config& c) {
    c.listeners[0].shm_ring_bytes = 4096;
    c.listeners[0].shm_spin_us = spin_us;
  });
  auto options = at(broker.unix_url());
  options.shm_spin_us = spin_us;
  Client subscriber(options), publisher(options);
  REQUIRE_FALSE(subscriber.connect());
  REQUIRE_FALSE(publisher.connect());
  std::vector<std::string> got;
  std::mutex mutex;
  std::error_code ec;
  auto sub = subscriber.subscribe(
      "big/#",
      [&](const message& m) {
        std::lock_guard lock(mutex);
        got.emplace_back(m.payload());
      },
      ec);
  REQUIRE_FALSE(ec);
  std::string big(700 * 1024, 'b');
  for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE_FALSE(publisher.publish("big/one", big));
  for (int i = 0; i < 2000; ++i) REQUIRE_FALSE(publisher.publish("big/small", std::to_string(i)));
  REQUIRE_FALSE(publisher.flush());
  REQUIRE(test::wait_until([&] {
    std::lock_guard lock(mutex);
    return got.size() == 2001;
  }));
  {
    std::lock_guard lock(mutex);
    CHECK(got[0] == big);
    for (int i = 0; i < 2000; ++i)
      REQUIRE(got[static_cast<std::size_t>(i) + 1] == std::to_string(i));
  }
  // Round trips through the broker between the two: while one connection waits (or
  // polls) for its next frame, the broker serves the other.
  auto served = subscriber.serve(
      "svc/echo", [](const message& m) { return std::string(m.payload()); }, false, ec);
  REQUIRE_FALSE(ec);
  for (int i = 0; i < 200; ++i) {
    auto reply = publisher.request("svc/echo", std::to_string(i), {}, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(reply.payload == std::to_string(i));
  }
}

TEST_CASE("shm: without the listener option unix:// stays on the socket and shm:// fails clearly") {
  broker_fixture broker([](config::broker_config& c) { c.listeners[0].shm = false; });
  Client plain(at(broker.unix_url()));
  REQUIRE_FALSE(plain.connect());
  CHECK(transports(plain)[plain.connection_id()] == "unix");
  Client required(at("shm://" + path_of(broker.unix_url())));
  auto failed = required.connect();
  CHECK(failed == make_error_code(protocol::errc::not_implemented));
  CHECK(required.last_error_message().find("does not allow it") != std::string::npos);
  CHECK(required.last_error_message().find("\"shm\"") != std::string::npos);
}

TEST_CASE("shm: a client that breaks its ring or sends garbage loses only its own connection") {
  broker_fixture broker;
  bystander calm(broker.unix_url());
  SUBCASE("an impossible write position") {
    raw_shm_client scribbler(broker.unix_url());
    scribbler.set_tail(std::uint64_t{1} << 63);
    scribbler.wake_broker();
    CHECK(scribbler.closed_by_broker());
  }
  SUBCASE("an impossible read position in the ring the broker writes") {
    raw_shm_client scribbler(broker.unix_url());
    scribbler.set_reply_head(std::uint64_t{1} << 63);
    protocol::byte_buffer ping;
    protocol::encode_ping(ping, 1);
    scribbler.send(ping);  // the PONG finds the position past anything it wrote
    CHECK(scribbler.closed_by_broker());
  }
  SUBCASE("garbage bytes where frames belong") {
    raw_shm_client scribbler(broker.unix_url());
    std::vector<std::uint8_t> garbage(300, 0xee);
    scribbler.send(garbage);
    CHECK(scribbler.closed_by_broker());
  }
  SUBCASE("wake-up descriptors made blocking, rings never read") {
    // O_NONBLOCK belongs to an open file: a client holding the broker's own wake-up files
    // could make the broker's reads and writes block. Its ends are files of their own.
    raw_shm_client sleeper(broker.unix_url());
    sleeper.make_blocking();
    sleeper.set_waiting_for_bytes();  // so the broker must wake it for every answer
    protocol::byte_buffer pings;
    for (std::uint32_t i = 0; i < 100; ++i) protocol::encode_ping(pings, i);
    sleeper.send(pings);
    check_still_served(broker.unix_url());
  }
  SUBCASE("bytes on the socket after the switch") {
    raw_shm_client scribbler(broker.unix_url());
    scribbler.send_on_socket();
    CHECK(scribbler.closed_by_broker());
  }
  check_still_served(broker.unix_url());
  Client publisher(at(broker.unix_url()));
  REQUIRE_FALSE(publisher.connect());
  REQUIRE_FALSE(publisher.publish("calm/down", "still here"));
  calm.check_unaffected(1);
}

TEST_CASE("shm: a client killed mid-stream leaves the broker and the others unaffected") {
  test::ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock","shm":true}])");
  REQUIRE(broker.start());
  std::string shm_url = "shm://" + path_of(broker.unix_url());
  int mappings = shm_mappings(broker.pid());
  auto descriptors = open_descriptors(broker.pid());
  // A bystander on shared memory (connected throughout, never reconnecting), and a
  // publisher flooding its own subscriber.
  bystander calm(shm_url);
  REQUIRE(shm_mappings(broker.pid()) == mappings + 1);
  test::child_process flood({test::ipcctl_binary(), "--url", shm_url, "bench", "pubsub", "--msgs",
                             "100000000", "--size", "256"});
  REQUIRE(test::wait_until([&] { return shm_mappings(broker.pid()) >= mappings + 3; }));
  REQUIRE(test::wait_until([&] {  // mid-stream: the flood is flowing
    auto status = test::run_command(test::ipcctl(broker, {"--json", "status"}));
    return status.exit_code == 0 &&
           nlohmann::json::parse(status.out)["messages_in"].get<std::uint64_t>() > 50000;
  }));
  flood.signal(SIGKILL);
  REQUIRE(flood.wait());
  // Its two connections end: their segments are unmapped and their descriptors (socket
  // and four pipe ends each) closed; the bystander's stay.
  CHECK(test::wait_until([&] { return shm_mappings(broker.pid()) == mappings + 1; }));
  auto published = test::run_command(test::ipcctl(broker, {"pub", "calm/down", "still here"}));
  CHECK(published.exit_code == 0);
  calm.check_unaffected(1);
  CHECK(broker.running());
  auto status = test::run_command(test::ipcctl(broker, {"--json", "status"}));
  REQUIRE(status.exit_code == 0);
  CHECK(nlohmann::json::parse(status.out)["connections"] == 2);  // the bystander, and status
  // Once the bystander leaves too, the broker is back to what it held before either came.
  calm.client().close();
  CHECK(test::wait_until([&] { return shm_mappings(broker.pid()) == mappings; }));
  CHECK(test::wait_until([&] { return open_descriptors(broker.pid()) == descriptors; }));
}

TEST_CASE("shm: out of descriptors, a client stays on the socket and shm:// says why") {
  test::ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock","shm":true}])");
  REQUIRE(broker.start());
  auto admin_options = at(broker.unix_url());
  admin_options.shared_memory = false;
  Client admin(admin_options);
  REQUIRE_FALSE(admin.connect());
  // Room for three more descriptors: a connection's socket and two, short of the nine a
  // segment and its pipes take, enough for the pipe the sanitizers' runtime opens to
  // check memory (UBSan's vptr check, in the ASan build). The limit counts from the
  // lowest free descriptor number (a new descriptor takes the lowest free one; those
  // open above the limit stay usable).
  auto open = descriptors_of(broker.pid());
  int lowest_free = 0;
  while (open.count(lowest_free) != 0) ++lowest_free;
  auto descriptors = open.size();
  rlimit before{};
  REQUIRE(::prlimit(broker.pid(), RLIMIT_NOFILE, nullptr, &before) == 0);
  rlimit tight = before;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free) + 3;
  REQUIRE(::prlimit(broker.pid(), RLIMIT_NOFILE, &tight, nullptr) == 0);
  {
    auto options = at(broker.unix_url());
    options.auto_reconnect = false;
    Client asked(options);  // asks, is refused, and goes on over the socket
    REQUIRE_FALSE(asked.connect());
    CHECK(test::transports(admin)[asked.connection_id()] == "unix");
    check_hears(asked, admin, "fd/x");
    CHECK(broker.log().find("cannot switch to shared memory") != std::string::npos);
  }
  CHECK(test::wait_until([&] { return open_descriptors(broker.pid()) == descriptors; }));
  {
    Client required(at("shm://" + path_of(broker.unix_url())));
    CHECK(required.connect() == make_error_code(protocol::errc::not_implemented));
    CHECK(required.last_error_message().find("did not switch to shared memory") !=
          std::string::npos);
    CHECK(required.last_error_message().find("Too many open files") != std::string::npos);
  }
  // Nothing the failed switches made is left open; with the limit back, clients switch.
  CHECK(test::wait_until([&] { return open_descriptors(broker.pid()) == descriptors; }));
  REQUIRE(::prlimit(broker.pid(), RLIMIT_NOFILE, &before, nullptr) == 0);
  Client later(at(broker.unix_url()));
  REQUIRE_FALSE(later.connect());
  CHECK(test::transports(admin)[later.connection_id()] == "shm");
  // Both refusals are counted, and conn.list shows which connection maps a segment.
  std::error_code ec;
  auto status = nlohmann::json::parse(admin.admin("status", "{}", ec));
  REQUIRE_FALSE(ec);
  CHECK(status["shm_switch_failures"] == 2);
  auto listed = nlohmann::json::parse(admin.admin("conn.list", "{}", ec));
  REQUIRE_FALSE(ec);
  for (const auto& c : listed)
    CHECK(c["shm_bytes"] == (c["id"] == later.connection_id() ? 4096 + 2 * 1048576 : 0));
}

// The soft open-file limit of a running process, from /proc/PID/limits.
std::uint64_t soft_open_files(int pid) {
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  for (std::string line; std::getline(limits, line);)
    if (line.rfind("Max open files", 0) == 0) return std::stoull(line.substr(26));
  return 0;
}

TEST_CASE("shm: ipcd raises its open-file limit to what max_connections needs, or says so") {
  rlimit own{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &own) == 0);
  REQUIRE(own.rlim_max >= 2048);
  REQUIRE(own.rlim_max <= 4000000);  // a max_connections below (Linux caps it at nr_open)
  // The broker inherits a soft limit of 1024; the hard limit stays as it is.
  struct restore {
    rlimit saved;
    ~restore() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  } restore_at_end{own};
  rlimit low = own;
  low.rlim_cur = 1024;
  auto hard = static_cast<std::uint64_t>(own.rlim_max);
  SUBCASE("raised: 100 connections, on shared memory, need 100 x 5 + 1024") {
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    test::ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock","shm":true}])",
                              R"("limits": {"max_connections": 100})");
    REQUIRE(broker.start());
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &own) == 0);
    CHECK(soft_open_files(broker.pid()) == 1524);
    CHECK(broker.log().find("open-file limit") == std::string::npos);
  }
  SUBCASE("short: more connections than the hard limit allows") {
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    test::ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock","shm":true}])",
                              R"("limits": {"max_connections": )" + std::to_string(hard) + "}");
    REQUIRE(broker.start());
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &own) == 0);
    CHECK(soft_open_files(broker.pid()) == hard);
    CHECK(broker.log().find("the open-file limit (" + std::to_string(hard) + ") is below") !=
          std::string::npos);
    CHECK(broker.log().find("five on shared memory") != std::string::npos);
  }
}

TEST_CASE("shm: ipcctl bench shm measures one socket over both transports, interleaved") {
  test::ipcd_process broker(
      R"([{"url":"unix://{dir}/plain.sock"},{"url":"unix://{dir}/ipcd.sock","shm":true}])");
  REQUIRE(broker.start());
  auto result = test::run_command(test::ipcctl(
      broker, {"--json", "bench", "shm", "--rounds", "2", "--requests", "300", "--msgs", "3000"}));
  REQUIRE(result.exit_code == 0);
  auto report = nlohmann::json::parse(result.out);
  CHECK(report["bench"] == "shm");
  CHECK(report["path"] == path_of(broker.unix_url()));
  for (const char* transport : {"shm", "unix"}) {
    CAPTURE(transport);
    CHECK(report[transport]["p50_us"].get<double>() > 0);
    CHECK(report[transport]["p99_us"].get<double>() >= report[transport]["p50_us"].get<double>());
    CHECK(report[transport]["delivered_per_s"].get<double>() > 0);
  }
  CHECK(report["p50_ratio"].get<double>() > 0);
  CHECK(report["throughput_ratio"].get<double>() > 0);
  REQUIRE(report["runs"].size() == 4);
  std::vector<std::string> order;
  for (const auto& run : report["runs"]) order.push_back(run["transport"]);
  CHECK(order == std::vector<std::string>{"shm", "unix", "shm", "unix"});

  // The same from shm://, as a table.
  auto table =
      test::run_command({test::ipcctl_binary(), "--url", "shm://" + path_of(broker.unix_url()),
                         "bench", "shm", "--rounds", "1", "--requests", "100", "--msgs", "1000"});
  CHECK(table.exit_code == 0);
  CHECK(table.out.find("PUBSUB MSGS/S") != std::string::npos);
  CHECK(table.out.find("shm/unix") != std::string::npos);

  // A socket whose listener does not allow shared memory: the reason, and no figures.
  std::string plain = broker.unix_url();
  plain.replace(plain.rfind("ipcd.sock"), sizeof "ipcd.sock" - 1, "plain.sock");
  auto declined = test::run_command({test::ipcctl_binary(), "--url", plain, "bench", "shm",
                                     "--rounds", "1", "--requests", "10", "--msgs", "10"});
  CHECK(declined.exit_code != 0);
  CHECK(declined.err.find("does not allow it") != std::string::npos);
  CHECK(declined.out.empty());

  // Anything but a Unix socket is a usage error.
  auto tcp = test::run_command(
      {test::ipcctl_binary(), "--url", "tcp://127.0.0.1:9", "bench", "shm", "--rounds", "1"});
  CHECK(tcp.exit_code == 1);
  CHECK(tcp.err.find("must be unix://PATH, npipe://PATH or shm://PATH") != std::string::npos);
}
