// Durable queues through real sockets: definitions and messages across restarts of an
// in-process broker and kill -9 of a real ipcd, raised delivery counts, segment deletion
// and compaction, injected disk-full and I/O errors, the storage directory lock, and a
// kill -9 loop under concurrent producers and consumers (IPCD_SOAK_CYCLES sets its length).
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "faulty_file_system.hpp"
#include "ipc/client.hpp"
#include "ipc/protocol/errc.hpp"
#include "options.hpp"
#include "process.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::ipcd_process;
using ipc::test::temp_dir;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

json admin(Client& c, const std::string& command, const json& args = json::object()) {
  std::error_code ec;
  auto body = c.admin(command, args.dump(), ec);
  REQUIRE_MESSAGE(!ec, body);
  return json::parse(body);
}

// Payloads and delivery counts received by a consumer, acked unless told not to.
struct receiver {
  explicit receiver(Client& c, bool ack = true) : client(c), ack_(ack) {}
  message_handler handler() {
    return [this](const message& m) {
      {
        std::lock_guard lock(mutex);
        payloads.emplace_back(m.payload());
        counts.push_back(m.delivery_count());
      }
      if (ack_) (void)client.ack(m.delivery_tag());
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return payloads.size();
  }
  Client& client;
  bool ack_;
  std::mutex mutex;
  std::vector<std::string> payloads;
  std::vector<std::uint32_t> counts;
};

auto storage_in(const temp_dir& dir, std::string fsync = "batch",
                std::uint64_t segment_bytes = 64ull * 1024 * 1024) {
  return [path = dir.file("data"), fsync, segment_bytes](config::broker_config& c) {
    c.storage.dir = path;
    c.storage.fsync = fsync;
    c.storage.segment_bytes = segment_bytes;
  };
}

std::vector<std::string> drain(Client& c, const std::string& queue, std::size_t expected) {
  receiver r(c);
  std::error_code ec;
  auto sub = c.consume(queue, {}, r.handler(), ec);
  REQUIRE(!ec);
  CHECK(wait_until([&] { return r.size() >= expected; }));
  std::lock_guard lock(r.mutex);
  return r.payloads;
}

}  // namespace

TEST_SUITE("durable") {
  TEST_CASE("durable queue definitions, options, bindings and messages survive a restart") {
    temp_dir dir;
    {
      broker_fixture broker(storage_in(dir));
      Client c(at(broker.unix_url()));
      REQUIRE(!c.connect());
      admin(c, "queue.create",
            {{"name", "orders"}, {"durable", true}, {"max_length", 100}, {"bind", {"orders/#"}}});
      admin(c, "queue.bind", {{"name", "orders"}, {"pattern", "legacy/+"}});
      admin(c, "queue.create", {{"name", "scratch"}});
      for (int i = 0; i < 3; ++i) REQUIRE(!c.send("orders", "m" + std::to_string(i)));
      REQUIRE(!c.publish_confirmed("legacy/x", "via binding"));
      REQUIRE(!c.send("scratch", "transient"));
    }
    broker_fixture broker(storage_in(dir));
    CHECK(broker.log_contains("4 message(s) recovered"));
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    auto info = admin(c, "queue.info", {{"name", "orders"}});
    CHECK(info["options"]["durable"] == true);
    CHECK(info["options"]["max_length"] == 100);
    CHECK(info["bind"] == json({"orders/#", "legacy/+"}));
    CHECK(info["ready"] == 4);
    std::error_code ec;
    c.admin("queue.info", json{{"name", "scratch"}}.dump(), ec);
    CHECK(ec == protocol::errc::unknown_queue);  // not durable: gone
    REQUIRE(!c.publish_confirmed("orders/new", "after restart"));
    CHECK(drain(c, "orders", 5) ==
          std::vector<std::string>{"m0", "m1", "m2", "via binding", "after restart"});
  }

  TEST_CASE("a deleted durable queue does not come back, and its segments go") {
    temp_dir dir;
    {
      broker_fixture broker(storage_in(dir));
      Client c(at(broker.unix_url()));
      REQUIRE(!c.connect());
      admin(c, "queue.create", {{"name", "gone"}, {"durable", true}});
      REQUIRE(!c.send("gone", "x"));
      admin(c, "queue.delete", {{"name", "gone"}});
    }
    broker_fixture broker(storage_in(dir));
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    std::error_code ec;
    c.admin("queue.info", json{{"name", "gone"}}.dump(), ec);
    CHECK(ec == protocol::errc::unknown_queue);
    CHECK(admin(c, "status")["storage"]["durable_queues"] == 0);
  }

  TEST_CASE("messages delivered before a restart come back with a raised delivery count") {
    temp_dir dir;
    {
      broker_fixture broker(storage_in(dir, "always"));
      Client c(at(broker.unix_url()));
      REQUIRE(!c.connect());
      admin(c, "queue.create", {{"name", "jobs"}, {"durable", true}});
      for (int i = 0; i < 4; ++i) REQUIRE(!c.send("jobs", "j" + std::to_string(i)));
      receiver r(c, false);
      std::error_code ec;
      auto sub = c.consume("jobs", {2, false}, r.handler(), ec);  // prefetch 2, never acked
      REQUIRE(wait_until([&] { return r.size() == 2; }));
      CHECK(r.counts == std::vector<std::uint32_t>{1, 1});
      REQUIRE(!c.flush());
    }
    broker_fixture broker(storage_in(dir, "always"));
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    receiver r(c);
    std::error_code ec;
    auto sub = c.consume("jobs", {}, r.handler(), ec);
    REQUIRE(wait_until([&] { return r.size() == 4; }));
    CHECK(r.payloads == std::vector<std::string>{"j0", "j1", "j2", "j3"});
    CHECK(r.counts == std::vector<std::uint32_t>{2, 2, 1, 1});
  }

  TEST_CASE("settled segments are deleted and a held message is copied forward") {
    temp_dir dir;
    broker_fixture broker(storage_in(dir, "batch", 64 * 1024));
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    admin(c, "queue.create", {{"name", "big"}, {"durable", true}});
    std::string kilobyte(1024, 'k');
    Client holder_client(at(broker.unix_url()));
    REQUIRE(!holder_client.connect());
    receiver holder(holder_client, false);
    std::error_code ec;
    REQUIRE(!c.send("big", "held"));
    auto held = holder_client.consume("big", {1, false}, holder.handler(), ec);
    REQUIRE(wait_until([&] { return holder.size() == 1; }));
    for (int i = 0; i < 400; ++i) REQUIRE(!c.send("big", kilobyte));
    CHECK(admin(c, "status")["storage"]["segments"].get<int>() >= 5);
    receiver worker(c);
    auto sub = c.consume("big", {50, false}, worker.handler(), ec);
    REQUIRE(wait_until([&] { return worker.size() == 400; }));
    // Everything but "held" is settled: compaction copies it forward, the rest goes.
    CHECK(wait_until([&] { return admin(c, "status")["storage"]["segments"].get<int>() <= 2; }));
    CHECK(admin(c, "status")["storage"]["segments_deleted"].get<int>() >= 4);
    auto log_files = [&] {
      std::size_t files = 0;
      for (const auto& entry : std::filesystem::directory_iterator(dir.file("data")))
        files += entry.path().extension() == ".log" ? 1 : 0;
      return files;
    };
    CHECK(wait_until([&] { return log_files() <= 2; }));
    // The copy forward kept the held message: released, it goes to the other consumer.
    holder_client.close();
    REQUIRE(wait_until([&] { return worker.size() == 401; }));
    std::lock_guard lock(worker.mutex);
    CHECK(worker.payloads.back() == "held");
    CHECK(worker.counts.back() == 2);
  }

  TEST_CASE("disk full or failing: confirmed sends fail clearly, other traffic flows, recovery") {
    temp_dir dir;
    auto fs = std::make_shared<ipc::test::faulty_file_system>();
    {
      broker_fixture broker(storage_in(dir, "always"), fs);
      Client c(at(broker.unix_url()));
      REQUIRE(!c.connect());
      admin(c, "queue.create", {{"name", "durable"}, {"durable", true}});
      REQUIRE(!c.send("durable", "before"));

      Client listener(at(broker.tcp_url()));
      REQUIRE(!listener.connect());
      std::atomic<int> heard{0};
      std::error_code ec;
      auto sub = listener.subscribe(
          "news", [&](const message&) { ++heard; }, ec);
      REQUIRE(!ec);
      REQUIRE(!listener.flush());

      fs->fail_writes(ENOSPC);
      auto refused = c.send("durable", "no space");
      CHECK(refused == protocol::errc::storage_error);
      CHECK(c.last_error_message().find("No space left on device") != std::string::npos);
      CHECK(!c.send("memory-only", "transient queues keep working"));
      CHECK(!c.publish_confirmed("news", "topics too"));
      CHECK(wait_until([&] { return heard == 1; }));
      std::error_code create_ec;
      c.admin("queue.create", json{{"name", "new"}, {"durable", true}}.dump(), create_ec);
      CHECK(create_ec == protocol::errc::storage_error);  // the catalog cannot be written
      CHECK(broker.log_contains("storage: write failed"));

      fs->fail_writes(0);
      fs->fail_syncs(EIO);
      CHECK(c.send("durable", "sync fails") == protocol::errc::storage_error);

      fs->fail_syncs(0);
      CHECK(!c.send("durable", "after"));
      CHECK(wait_until([&] { return broker.log_contains("storage: writing again"); }));
      auto storage = admin(c, "status")["storage"];
      CHECK(storage["write_errors"].get<int>() >= 2);
      CHECK(storage["failing"] == false);
    }
    broker_fixture broker(storage_in(dir, "always"));
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    // "no space" was cut off the log; "sync fails" was written even though its sync
    // failed (so it may come back); the confirmed ones are there, in order.
    auto got = drain(c, "durable", 2);
    REQUIRE(got.size() >= 2);
    CHECK(got.front() == "before");
    CHECK(got.back() == "after");
    CHECK(std::find(got.begin(), got.end(), "no space") == got.end());
  }

  TEST_CASE("a stalled disk holds durable confirms only: topics and other queues flow") {
    temp_dir dir;
    auto fs = std::make_shared<ipc::test::faulty_file_system>();
    broker_fixture broker(storage_in(dir, "always"), fs);
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    admin(c, "queue.create", {{"name", "slow"}, {"durable", true}});
    fs->stall_syncs(true);
    std::atomic<bool> confirmed{false};
    std::thread sender([&] {
      Client s(at(broker.unix_url()));
      if (s.connect()) return;
      if (!s.send("slow", "waits for the disk")) confirmed = true;
    });
    REQUIRE(wait_until([&] { return fs->stalled_syncs() > 0; }));
    // While the sync hangs: topics, non-durable queues and admin answer at once.
    std::atomic<int> heard{0};
    std::error_code ec;
    auto sub = c.subscribe(
        "ticks", [&](const message&) { ++heard; }, ec);
    REQUIRE(!ec);
    for (int i = 0; i < 100; ++i) REQUIRE(!c.publish_confirmed("ticks", "t"));
    CHECK(wait_until([&] { return heard == 100; }));
    CHECK(!c.send("memory", "transient"));
    CHECK(admin(c, "queue.info", {{"name", "slow"}})["ready"] == 1);
    CHECK_FALSE(confirmed.load());  // the durable confirm still waits for its sync
    fs->stall_syncs(false);
    sender.join();
    CHECK(confirmed.load());
  }

  TEST_CASE("confirmed sends survive kill -9 of a real ipcd, in order, past a torn tail") {
    ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                        R"("queues": {"jobs": {"durable": true}})");
    REQUIRE(broker.start());
    {
      Client c(at(broker.unix_url()));
      REQUIRE(!c.connect());
      for (int i = 0; i < 500; ++i) REQUIRE(!c.send("jobs", std::to_string(i)));
    }
    broker.kill9();
    // A write cut short by a crash: half a record at the end of the newest segment.
    std::string newest;
    for (const auto& entry : std::filesystem::directory_iterator(broker.dir().file("data")))
      if (entry.path().extension() == ".log" && entry.path().string() > newest)
        newest = entry.path().string();
    REQUIRE(!newest.empty());
    std::ofstream(newest, std::ios::app | std::ios::binary)
        << std::string("\x30\x00\x00\x00\xcf", 5);
    REQUIRE(broker.start());
    CHECK(broker.log().find("500 message(s) recovered") != std::string::npos);
    CHECK(broker.log().find("torn tail") != std::string::npos);
    Client c(at(broker.unix_url()));
    REQUIRE(!c.connect());
    auto got = drain(c, "jobs", 500);
    REQUIRE(got.size() == 500);
    for (int i = 0; i < 500; ++i) CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
    // New messages get ids above the recovered ones and queue after them.
    REQUIRE(!c.send("jobs", "next"));
  }

  TEST_CASE("a second ipcd on the same storage directory refuses to start") {
    ipcd_process first(R"([{"url":"unix://{dir}/ipcd.sock"}])");
    REQUIRE(first.start());
    temp_dir other;
    std::string config = other.file("ipcd.json");
    std::ofstream(config) << R"({"listeners": [{"url": "unix://)" << other.file("b.sock")
                          << R"("}], "storage": {"dir": ")" << first.dir().file("data") << R"("}})";
    auto result = ipc::test::run_command({ipc::test::ipcd_binary(), "-c", config}, {},
                                         std::chrono::seconds(10));
    CHECK(result.exit_code != 0);
    CHECK_MESSAGE(result.err.find("is in use by another ipcd (pid") != std::string::npos,
                  result.err);
    CHECK(!std::filesystem::exists(other.file("b.sock")));
  }

  TEST_CASE("kill -9 loop under concurrent producers and consumers: nothing confirmed is lost") {
    int cycles = 20;
    if (const char* env = std::getenv("IPCD_SOAK_CYCLES")) cycles = std::atoi(env);
    ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"}])",
                        R"("queues": {"work": {"durable": true}})");
    std::mutex mutex;
    std::set<std::uint64_t> confirmed, received;
    std::atomic<std::uint64_t> next_seq{0};
    std::mt19937 rng(2026);
    for (int cycle = 0; cycle < cycles; ++cycle) {
      REQUIRE(broker.start());
      std::atomic<bool> stop{false};
      auto produce = [&] {
        client_options options = at(broker.unix_url());
        options.request_timeout = std::chrono::milliseconds(2000);
        Client p(options);
        if (p.connect()) return;
        while (!stop) {
          std::uint64_t seq = next_seq++;
          if (p.send("work", std::to_string(seq))) return;  // the broker died
          std::lock_guard lock(mutex);
          confirmed.insert(seq);
        }
      };
      std::thread producer_a(produce), producer_b(produce);
      std::thread consumer([&] {
        Client k(at(broker.unix_url()));
        if (k.connect()) return;
        std::error_code ec;
        auto sub = k.consume(
            "work", {20, false},
            [&](const message& m) {
              {
                std::lock_guard lock(mutex);
                received.insert(std::stoull(std::string(m.payload())));
              }
              (void)k.ack(m.delivery_tag());
            },
            ec);
        // Holds the consumer open until the cycle ends or the broker dies.
        wait_until([&] { return stop || k.state() != connection_state::connected; },
                   std::chrono::seconds(30));
      });
      // Let traffic run for a random while, then crash the broker under it.
      wait_until([&] { return false; }, std::chrono::milliseconds(40 + rng() % 160));
      broker.kill9();
      stop = true;
      producer_a.join();
      producer_b.join();
      consumer.join();
    }
    // Last start: drain what is left; every confirmed message must have been received.
    REQUIRE(broker.start());
    Client k(at(broker.unix_url()));
    REQUIRE(!k.connect());
    std::error_code ec;
    auto sub = k.consume(
        "work", {100, false},
        [&](const message& m) {
          {
            std::lock_guard lock(mutex);
            received.insert(std::stoull(std::string(m.payload())));
          }
          (void)k.ack(m.delivery_tag());
        },
        ec);
    REQUIRE(!ec);
    Client a(at(broker.unix_url()));
    REQUIRE(!a.connect());
    CHECK(wait_until(
        [&] {
          auto info = admin(a, "queue.info", {{"name", "work"}});
          return info["ready"] == 0 && info["unacked"] == 0;
        },
        std::chrono::seconds(30)));
    std::lock_guard lock(mutex);
    MESSAGE(cycles, " cycles, ", confirmed.size(), " confirmed, ", received.size(), " received");
    CHECK(confirmed.size() > static_cast<std::size_t>(cycles));
    std::vector<std::uint64_t> lost;
    for (auto seq : confirmed)
      if (!received.contains(seq)) lost.push_back(seq);
    CHECK_MESSAGE(lost.empty(), lost.size(), " confirmed message(s) lost, first ",
                  lost.empty() ? 0 : lost.front());
    for (auto seq : received) CHECK(seq < next_seq.load());  // nothing never sent
  }
}
