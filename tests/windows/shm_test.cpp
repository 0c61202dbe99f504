// Shared memory over the named pipe (docs/shared-memory.md) with ipcd.exe as a process of
// its own, so that the segment's handles really cross into another process: clients that
// ask (or insist with shm://) switch and the others stay on the pipe, every kind of
// traffic crosses between them, a message larger than the ring passes in pieces, a
// client killed mid-stream loses only its own connections, and the named objects of a
// client that vanished are gone.
#include <doctest/doctest.h>
#include <windows.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "collector.hpp"
#include "crossing.hpp"
#include "ipc/client.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/transport/url.hpp"
#include "local_url.hpp"
#include "options.hpp"
#include "temp_dir.hpp"
#include "transports.hpp"
#include "wait.hpp"
#include "windows_process.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::collector;
using ipc::test::json_path;
using ipc::test::transports;

namespace {

// The pipe URL's path as a shm:// URL: npipe:////./pipe/X → shm:////./pipe/X.
std::string shm_url_of(const std::string& pipe_url) {
  return "shm://" + pipe_url.substr(pipe_url.find("://") + 3);
}

// ipcd.exe on a pipe whose clients may switch, with a ring of one page.
class ipcd_on_pipe {
 public:
  ipcd_on_pipe() : url_(test::local_test_url(dir_)) {
    std::string config = dir_.file("ipcd.json");
    std::ofstream(config) << R"({"listeners": [{"url": ")" << url_
                          << R"(", "shm": true, "shm_ring_bytes": 4096}],
      "storage": {"dir": ")"
                          << json_path(dir_.file("data")) << R"("}, "log": {"file": ")"
                          << json_path(dir_.file("ipcd.log")) << R"(", "stderr": false}})";
    process_ = std::make_unique<test::windows_child>(
        test::ipcd_exe(), L"-c \"" + std::wstring(config.begin(), config.end()) + L"\"");
  }
  const std::string& url() const { return url_; }
  bool running() const { return process_->running(); }
  // Connects `client`, retrying while ipcd.exe starts (Wine starts processes slowly).
  bool connect(Client& client) {
    bool connected = false;
    test::wait_until([&] { return (connected = !client.connect()) || !running(); },
                     std::chrono::seconds(30));
    return connected;
  }

 private:
  test::temp_dir dir_;
  std::string url_;
  std::unique_ptr<test::windows_child> process_;
};

// The segment name a WELCOME names when a client of our own asks for the switch on
// `pipe` (opened by the caller); "" when the handshake fails.
std::string switch_token(HANDLE pipe) {
  protocol::byte_buffer hello;
  std::pair<std::string_view, std::string_view> props[] = {{"shm", "1"}, {"shm_token", "1"}};
  protocol::encode_hello(hello, "anonymous", props);
  DWORD written = 0;
  if (!WriteFile(pipe, hello.data(), static_cast<DWORD>(hello.size()), &written, nullptr))
    return {};
  protocol::frame_reader reader(protocol::max_handshake_frame);
  protocol::raw_frame frame;
  protocol::errc error{};
  auto status = protocol::read_status::need_more;
  while (status == protocol::read_status::need_more) {
    auto space = reader.prepare();
    DWORD got = 0;
    if (!ReadFile(pipe, space.data(), static_cast<DWORD>(space.size()), &got, nullptr)) return {};
    reader.commit(got);
    status = reader.next(frame, error);
  }
  protocol::welcome_frame welcome;
  std::string_view token;
  if (status != protocol::read_status::frame ||
      protocol::decode(frame, welcome) != protocol::errc::ok ||
      !welcome.properties.find("shm_token", token))
    return {};
  return std::string(token);
}

// Waits up to 60 s (Wine) for `done`.
template <class F>
bool eventually(F done) {
  return test::wait_until(done, std::chrono::seconds(60));
}

}  // namespace

TEST_SUITE("windows") {
  TEST_CASE("shm over a named pipe: clients of another process switch, all traffic crosses") {
    ipcd_on_pipe broker;
    std::vector<collector> heard(3);  // the collectors outlive the clients that feed them
    collector large;
    auto no_shm = at(broker.url());
    no_shm.shared_memory = false;
    Client asked(at(broker.url())), required(at(shm_url_of(broker.url()))), pipe_only(no_shm);
    for (Client* c : {&asked, &required, &pipe_only}) REQUIRE(broker.connect(*c));
    auto listed = transports(pipe_only);
    CHECK(listed[asked.connection_id()] == "shm");
    CHECK(listed[required.connection_id()] == "shm");
    CHECK(listed[pipe_only.connection_id()] == "npipe");

    test::check_everyone_hears_everyone({&asked, &required, &pipe_only}, heard);

    // 200 kB through rings of 4 KiB, both ways, in order.
    std::string big(200 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
    std::error_code ec;
    auto sub = asked.subscribe("big", large.handler(), ec);
    REQUIRE_FALSE(ec);
    for (int i = 0; i < 3; ++i) REQUIRE_FALSE(required.publish_confirmed("big", big));
    REQUIRE(large.wait_for(3));
    for (const auto& item : large.items()) CHECK(item == "big " + big);

    test::check_request_reply(required, pipe_only);
  }

  TEST_CASE("shm over a named pipe: a client killed mid-stream loses only its own connections") {
    ipcd_on_pipe broker;
    collector calm;  // outlives the clients that feed it
    Client bystander(at(shm_url_of(broker.url()))), watcher(at(broker.url()));
    REQUIRE(broker.connect(bystander));
    REQUIRE(broker.connect(watcher));
    std::error_code ec;
    auto sub = bystander.subscribe("calm/#", calm.handler(), ec);
    REQUIRE_FALSE(ec);
    // ipcctl.exe floods its own subscriber over shared memory; killed while it flows.
    test::windows_child flood(test::ipcctl_exe(),
                              L"--url " + std::wstring(broker.url().begin(), broker.url().end()) +
                                  L" bench pubsub --msgs 100000000 --size 256");
    REQUIRE(flood.started());
    REQUIRE(eventually([&] {
      auto listed = transports(watcher);
      int on_shm = 0;
      for (const auto& [id, transport] : listed) on_shm += transport == "shm";
      return on_shm >= 3;  // the bystander, the bench's publisher and subscriber
    }));
    REQUIRE(eventually([&] {  // mid-stream: the flood is flowing
      std::error_code failed;
      auto status = nlohmann::json::parse(watcher.admin("status", "{}", failed));
      return !failed && status["messages_in"].get<std::uint64_t>() > 20000;
    }));
    REQUIRE(flood.running());
    flood.kill();
    CHECK(eventually([&] { return transports(watcher).size() == 2; }));
    CHECK(broker.running());
    REQUIRE_FALSE(watcher.publish_confirmed("calm/down", "still here"));
    REQUIRE(calm.wait_for(1));
    CHECK(calm.items()[0] == "calm/down still here");
    Client newcomer(at(shm_url_of(broker.url())));
    CHECK(broker.connect(newcomer));
  }

  TEST_CASE("shm over a named pipe: ipcctl bench shm runs both transports of the pipe") {
    ipcd_on_pipe broker;
    Client probe(at(broker.url()));
    REQUIRE(broker.connect(probe));  // ipcd.exe is up
    // Exit 0 only when every run over shm:// and over npipe:// (shared memory declined)
    // delivered everything in order.
    test::windows_child bench(test::ipcctl_exe(),
                              L"--url " + std::wstring(broker.url().begin(), broker.url().end()) +
                                  L" bench shm --rounds 1 --requests 200 --msgs 2000");
    REQUIRE(bench.started());
    CHECK(bench.wait() == 0);
  }

  TEST_CASE("shm over a named pipe: a client that vanishes leaves no segment behind") {
    ipcd_on_pipe broker;
    Client probe(at(broker.url()));
    REQUIRE(broker.connect(probe));  // ipcd.exe is up
    // A client of our own asks for the switch, learns the segment's name from the WELCOME
    // and goes away without a word and without ever opening it.
    auto parsed = transport::parse_url(broker.url());
    REQUIRE(parsed.value);
    std::wstring pipe_name(parsed.value->path.begin(), parsed.value->path.end());
    HANDLE pipe =
        CreateFileW(pipe_name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                    SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr);
    REQUIRE(pipe != INVALID_HANDLE_VALUE);
    std::string token = switch_token(pipe);
    REQUIRE_MESSAGE(token.find("ipcd-shm-") != std::string::npos, token);
    std::wstring section_name(token.begin(), token.end());
    HANDLE section = OpenFileMappingW(FILE_MAP_READ, FALSE, section_name.c_str());
    CHECK(section != nullptr);  // the broker's, while the connection lasts
    if (section != nullptr) CloseHandle(section);
    CloseHandle(pipe);
    // The connection ends and the broker's handles close: the objects are gone.
    CHECK(eventually([&] {
      HANDLE again = OpenFileMappingW(FILE_MAP_READ, FALSE, section_name.c_str());
      if (again == nullptr) return GetLastError() == ERROR_FILE_NOT_FOUND;
      CloseHandle(again);
      return false;
    }));
    for (int slot = 0; slot < 4; ++slot) {
      std::wstring event_name = section_name + L"-" + std::to_wstring(slot);
      HANDLE event = OpenEventW(SYNCHRONIZE, FALSE, event_name.c_str());
      CHECK(event == nullptr);
      if (event != nullptr) CloseHandle(event);
    }
    CHECK(broker.running());
  }
}
