// queue and queue_manager without sockets (docs/architecture.md §6): credit and
// round-robin, requeue order, TTL, overflow, dead-lettering; creation, auto-create,
// bindings in the topic trie, dead-letter routing and deferred dispatch.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/message_pool.hpp"
#include "core/route_target.hpp"
#include "ipc/routing/topic_trie.hpp"
#include "queues/queue.hpp"
#include "queues/queue_manager.hpp"

using namespace ipc;
using broker::dead_letter_reason;
using broker::errc;
using broker::nack_action;
using broker::queue;
using broker::stored_message;

namespace {

// A consumer that records what it was given and can be made to refuse more.
struct recording_consumer final : broker::queue_consumer {
  struct delivery {
    std::uint64_t id;       // the queue's delivery id
    std::uint64_t message;  // the message id
    std::uint32_t count;    // delivery_count
  };
  void deliver(queue&, std::uint64_t id, const stored_message& m) override {
    got.push_back({id, m.id, m.delivery_count});
  }
  bool ready_for_more() const override { return ready; }
  void queue_deleted(queue&) override { deleted = true; }

  std::vector<std::uint64_t> message_ids() const {
    std::vector<std::uint64_t> out;
    for (const auto& d : got) out.push_back(d.message);
    return out;
  }
  std::vector<delivery> got;
  bool ready = true;
  bool deleted = false;
};

struct dead_letters {
  std::vector<std::pair<std::uint64_t, dead_letter_reason>> got;
  queue::dead_letter_sink sink() {
    return [this](queue&, stored_message&& m, dead_letter_reason why) {
      got.push_back({m.id, why});
    };
  }
};

broker::message_pool& pool() {
  static broker::message_pool instance;
  return instance;
}

stored_message message(std::uint64_t id, std::uint32_t bytes = 10) {
  stored_message m;
  m.id = id;
  m.body = pool().acquire();
  m.body.get()->buffer().assign(bytes, 'x');
  m.stored_bytes = bytes;
  return m;
}

config::queue_options options_with(const std::function<void(config::queue_options&)>& set) {
  config::queue_options o;
  set(o);
  return o;
}

void fill(queue& q, std::uint64_t first, std::uint64_t last, std::uint64_t now = 0) {
  for (auto id = first; id <= last; ++id) REQUIRE(q.enqueue(message(id), now) == errc::ok);
}

}  // namespace

TEST_CASE("queue: consumers are served round robin within their credit") {
  queue q("jobs", {}, nullptr);
  recording_consumer a, b;
  q.add_consumer(a, 2, false);
  q.add_consumer(b, 2, false);
  fill(q, 1, 6);
  q.dispatch(0);
  CHECK(a.message_ids() == std::vector<std::uint64_t>{1, 3});
  CHECK(b.message_ids() == std::vector<std::uint64_t>{2, 4});
  CHECK(q.ready_count() == 2);
  CHECK(q.unacked_count() == 4);
  // Credit comes back with an ack; only then does `a` get more.
  REQUIRE(q.ack(a, a.got[0].id) == errc::ok);
  q.dispatch(0);
  CHECK(a.message_ids() == std::vector<std::uint64_t>{1, 3, 5});
  CHECK(b.got.size() == 2);
  // Another consumer's delivery, or one settled already, is not ours to ack.
  CHECK(q.ack(a, b.got[0].id) == errc::unknown_delivery);
  CHECK(q.ack(a, a.got[0].id) == errc::unknown_delivery);
  CHECK(q.stats().acked == 1);
}

TEST_CASE(
    "queue: max_priority delivers higher priorities first, FIFO within one, across requeues") {
  queue q("urgent", options_with([](auto& o) { o.max_priority = 3; }), nullptr);
  auto with_priority = [](std::uint64_t id, std::uint8_t priority) {
    auto m = message(id);
    m.priority = priority;
    return m;
  };
  // id: priority — 9 is capped at the queue's maximum, 3.
  for (auto [id, priority] : std::vector<std::pair<std::uint64_t, std::uint8_t>>{
           {1, 0}, {2, 2}, {3, 9}, {4, 2}, {5, 0}, {6, 3}})
    REQUIRE(q.enqueue(with_priority(id, priority), 0) == errc::ok);
  recording_consumer c;
  q.add_consumer(c, 3, false);
  q.dispatch(0);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{3, 6, 2});
  // A NACK with requeue puts 6 back at the head of its level: delivered before 4.
  REQUIRE(q.nack(c, c.got[1].id, broker::nack_action::requeue, 0) == errc::ok);
  REQUIRE(q.ack(c, c.got[0].id) == errc::ok);
  q.dispatch(0);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{3, 6, 2, 6, 4});
  // Overflow under drop-oldest evicts the least urgent first.
  auto options = q.options();
  options.max_length = 5;
  options.overflow = "drop-oldest";
  q.set_options(options);
  auto ready_ids = [&] {
    std::vector<std::uint64_t> ids;
    q.for_each_message([&](broker::stored_message& m) { ids.push_back(m.id); });
    return std::vector<std::uint64_t>(ids.begin(),
                                      ids.begin() + static_cast<long>(q.ready_count()));
  };
  // 5 held (1 and 5 ready, 2, 6 and 4 unacked): each new one evicts the least urgent,
  // the oldest of the lowest priority.
  REQUIRE(q.enqueue(with_priority(7, 1), 0) == errc::ok);
  CHECK(ready_ids() == std::vector<std::uint64_t>{5, 7});  // 1 went: priority 0, oldest
  REQUIRE(q.enqueue(with_priority(8, 3), 0) == errc::ok);
  CHECK(ready_ids() == std::vector<std::uint64_t>{7, 8});
  CHECK(q.stats().dropped == 2);
}

TEST_CASE("queue: delayed messages wait out their time, then join the ready ones in order") {
  queue q("later", options_with([](auto& o) { o.max_length = 3; }), nullptr);
  auto at = [](std::uint64_t id, std::uint64_t visible) {
    auto m = message(id);
    m.visible_at_ms = visible;
    return m;
  };
  REQUIRE(q.enqueue(at(1, 500), 100) == errc::ok);
  REQUIRE(q.enqueue(at(2, 300), 100) == errc::ok);
  REQUIRE(q.enqueue(message(3), 100) == errc::ok);        // not delayed
  CHECK(q.enqueue(message(4), 100) == errc::queue_full);  // delayed ones count
  CHECK(q.scheduled_count() == 2);
  CHECK(q.next_visible() == 300);
  recording_consumer c;
  q.add_consumer(c, 10, false);
  q.dispatch(100);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{3});
  CHECK(q.promote(299) == 0);
  CHECK(q.promote(300) == 1);
  q.dispatch(300);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{3, 2});
  CHECK(q.next_visible() == 500);
  CHECK(q.promote(10'000) == 1);
  q.dispatch(10'000);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{3, 2, 1});
  CHECK(q.next_visible() == 0);
  CHECK(q.bytes() == 30);  // all three held until acked
}

TEST_CASE("queue: single_active_consumer serves one consumer, the next takes over in order") {
  queue q("ordered", options_with([](auto& o) { o.single_active_consumer = true; }), nullptr);
  recording_consumer first, second;
  q.add_consumer(first, 2, false);
  q.add_consumer(second, 10, false);
  fill(q, 1, 5);
  q.dispatch(0);
  CHECK(first.message_ids() == std::vector<std::uint64_t>{1, 2});  // its credit, no more
  CHECK(second.got.empty());                                       // waits its turn
  REQUIRE(q.ack(first, first.got[0].id) == errc::ok);
  q.dispatch(0);
  CHECK(first.message_ids() == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(second.got.empty());
  // The active consumer goes: its unacked messages (2, 3) come back first, in order.
  q.remove_consumer(first, 0);
  q.dispatch(0);
  CHECK(second.message_ids() == std::vector<std::uint64_t>{2, 3, 4, 5});
  recording_consumer third;
  q.add_consumer(third, 10, false);
  fill(q, 6, 6);
  q.dispatch(0);
  CHECK(second.message_ids().back() == 6);
  CHECK(third.got.empty());
}

TEST_CASE("queue: no_ack consumers are settled on delivery, busy consumers are skipped") {
  queue q("events", {}, nullptr);
  recording_consumer busy, free_running;
  busy.ready = false;  // its connection has no room: skipped, not given credit
  q.add_consumer(busy, 100, false);
  q.add_consumer(free_running, 1, true);
  fill(q, 1, 5);
  q.dispatch(0);
  CHECK(busy.got.empty());
  CHECK(free_running.message_ids() == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(q.unacked_count() == 0);
  CHECK(q.bytes() == 0);
  CHECK(q.stats().acked == 5);
}

TEST_CASE("queue: a removed consumer's messages come back in their original order") {
  queue q("jobs", {}, nullptr);
  recording_consumer first, second;
  q.add_consumer(first, 10, false);
  fill(q, 1, 4);
  q.dispatch(0);
  REQUIRE(first.got.size() == 4);
  REQUIRE(q.ack(first, first.got[1].id) == errc::ok);  // message 2 is done
  q.remove_consumer(first, 0);
  CHECK(q.ready_count() == 3);
  q.add_consumer(second, 10, false);
  q.dispatch(0);
  CHECK(second.message_ids() == std::vector<std::uint64_t>{1, 3, 4});
  for (const auto& d : second.got) CHECK(d.count == 2);  // redelivered
  CHECK(q.stats().redelivered == 3);
}

TEST_CASE("queue: nack requeues in id order, dead-letters or drops") {
  dead_letters dead;
  queue q("jobs", options_with([](auto& o) { o.dead_letter = "dlq"; }), dead.sink());
  recording_consumer c;
  q.add_consumer(c, 10, false);
  fill(q, 1, 4);
  q.dispatch(0);
  REQUIRE(c.got.size() == 4);
  // Message 3 comes back first, then 1: they are ready again as 1, 3.
  REQUIRE(q.nack(c, c.got[2].id, nack_action::requeue, 0) == errc::ok);
  REQUIRE(q.nack(c, c.got[0].id, nack_action::requeue, 0) == errc::ok);
  REQUIRE(q.nack(c, c.got[1].id, nack_action::dead_letter, 0) == errc::ok);
  REQUIRE(q.nack(c, c.got[3].id, nack_action::drop, 0) == errc::ok);
  CHECK(q.nack(c, c.got[3].id, nack_action::drop, 0) == errc::unknown_delivery);
  CHECK(dead.got == std::vector<std::pair<std::uint64_t, dead_letter_reason>>{
                        {2, dead_letter_reason::rejected}});
  CHECK(q.stats().dropped == 1);
  c.got.clear();
  q.dispatch(0);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{1, 3});
}

TEST_CASE("queue: past max_deliveries a returned message is dead-lettered") {
  dead_letters dead;
  queue q("jobs", options_with([](auto& o) {
            o.dead_letter = "dlq";
            o.max_deliveries = 2;
          }),
          dead.sink());
  fill(q, 1, 1);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    recording_consumer c;
    q.add_consumer(c, 1, false);
    q.dispatch(0);
    REQUIRE(c.got.size() == 1);
    CHECK(c.got[0].count == static_cast<std::uint32_t>(attempt));
    q.remove_consumer(c, 0);  // its connection went away
  }
  CHECK(q.ready_count() == 0);
  CHECK(dead.got == std::vector<std::pair<std::uint64_t, dead_letter_reason>>{
                        {1, dead_letter_reason::max_deliveries}});
}

TEST_CASE("queue: messages past their ttl are never delivered") {
  dead_letters dead;
  queue q("jobs", options_with([](auto& o) {
            o.ttl_ms = 100;
            o.dead_letter = "dlq";
          }),
          dead.sink());
  fill(q, 1, 2, /*now=*/1000);  // expire at 1100
  fill(q, 3, 3, /*now=*/1050);  // expires at 1150
  CHECK(q.expire(1099) == 0);
  CHECK(q.expire(1100) == 2);
  CHECK(q.ready_count() == 1);
  // Dispatch skips what expired since the last sweep.
  recording_consumer c;
  q.add_consumer(c, 10, false);
  q.dispatch(1200);
  CHECK(c.got.empty());
  CHECK(q.stats().expired == 3);
  CHECK(dead.got.size() == 3);
  for (const auto& [id, why] : dead.got) CHECK(why == dead_letter_reason::expired);
  // Without a dead_letter option, expired messages are dropped.
  queue plain("plain", options_with([](auto& o) { o.ttl_ms = 1; }), dead.sink());
  fill(plain, 1, 1, 0);
  CHECK(plain.expire(5) == 1);
  CHECK(plain.stats().dropped == 1);
  CHECK(dead.got.size() == 3);
}

TEST_CASE("queue: overflow reject refuses, drop-oldest evicts, dead letters never evict") {
  queue refusing("r", options_with([](auto& o) { o.max_length = 2; }), nullptr);
  fill(refusing, 1, 2);
  CHECK(refusing.enqueue(message(3), 0) == errc::queue_full);
  CHECK(refusing.stats().rejected_full == 1);

  queue bounded_bytes("b", options_with([](auto& o) { o.max_bytes = 25; }), nullptr);
  CHECK(bounded_bytes.enqueue(message(1, 10), 0) == errc::ok);
  CHECK(bounded_bytes.enqueue(message(2, 10), 0) == errc::ok);
  CHECK(bounded_bytes.enqueue(message(3, 10), 0) == errc::queue_full);
  CHECK(bounded_bytes.enqueue(message(4, 26), 0) == errc::queue_full);  // could never fit
  CHECK(bounded_bytes.bytes() == 20);

  dead_letters dead;
  queue evicting("e", options_with([](auto& o) {
                   o.max_length = 2;
                   o.overflow = "drop-oldest";
                   o.dead_letter = "dlq";
                 }),
                 dead.sink());
  fill(evicting, 1, 3);
  CHECK(evicting.ready_count() == 2);
  CHECK(dead.got == std::vector<std::pair<std::uint64_t, dead_letter_reason>>{
                        {1, dead_letter_reason::overflow}});
  // A dead letter arriving at a full drop-oldest queue is refused instead.
  CHECK(evicting.enqueue(message(9), 0, /*may_evict=*/false) == errc::queue_full);
  recording_consumer c;
  evicting.add_consumer(c, 10, false);
  evicting.dispatch(0);
  CHECK(c.message_ids() == std::vector<std::uint64_t>{2, 3});
}

TEST_CASE("queue: its messages count in the memory gauge until they leave it") {
  auto gauge = std::make_shared<broker::memory_gauge>();
  {
    queue q("jobs", options_with([](auto& o) { o.max_length = 3; }), nullptr, gauge);
    fill(q, 1, 3);
    CHECK(gauge->held() == q.bytes());
    CHECK(q.bytes() == 30);
    CHECK(q.enqueue(message(4), 0) == errc::queue_full);  // refused: not counted
    CHECK(gauge->held() == 30);
    recording_consumer c;
    q.add_consumer(c, 1, false);
    q.dispatch(0);
    REQUIRE(q.ack(c, c.got[0].id) == errc::ok);  // acked: gone
    CHECK(gauge->held() == 20);
    q.remove_consumer(c, 0);
    CHECK(q.expire(0) == 0);
  }
  CHECK(gauge->held() == 0);  // a deleted queue releases what it held
}

TEST_CASE("queue: purge drops the ready messages only, deletion tells the consumers") {
  queue q("jobs", {}, nullptr);
  recording_consumer c;
  q.add_consumer(c, 1, false);
  fill(q, 1, 3);
  q.dispatch(0);
  CHECK(q.purge() == 2);
  CHECK(q.unacked_count() == 1);
  CHECK(q.bytes() == 10);
  q.detach_consumers();
  CHECK(c.deleted);
  CHECK(q.consumer_count() == 0);
  CHECK(q.unacked_count() == 0);
  CHECK(q.bytes() == 0);
}

namespace {

// A queue_manager over its own trie and pool, without storage.
struct manager_fixture {
  explicit manager_fixture(const std::function<void(config::broker_config&)>& adjust = nullptr) {
    if (adjust) adjust(config);
    manager = std::make_unique<broker::queue_manager>(config, trie, pool, gauge, *log);
  }
  // What a publish to `topic` does to the bindings: each matching one enqueues a copy.
  void publish(std::string_view topic, std::uint64_t id) {
    std::vector<std::uint8_t> body(12, 'p');
    broker::outgoing_message m;
    m.body = body;
    m.message_id = id;
    for (const auto& route : trie.match(topic)) route.target->deliver_message(route.id, m);
  }
  config::broker_config config;
  routing::topic_trie trie{0};
  broker::message_pool pool;
  std::shared_ptr<broker::memory_gauge> gauge = std::make_shared<broker::memory_gauge>();
  std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>(
      "queue-test", std::make_shared<spdlog::sinks::null_sink_mt>());
  std::unique_ptr<broker::queue_manager> manager;
};

}  // namespace

TEST_CASE("queue_manager: find_or_create honours auto_create, names and max_queues") {
  manager_fixture off([](auto& c) { c.queues.auto_create = false; });
  std::shared_ptr<queue> q;
  CHECK(off.manager->find_or_create("jobs", q).code == errc::unknown_queue);
  CHECK(off.manager->find_or_create("bad name", q).code == errc::invalid_queue_name);

  manager_fixture two([](auto& c) { c.limits.max_queues = 2; });
  CHECK(!two.manager->find_or_create("a", q));
  CHECK(q->name() == "a");
  CHECK(!two.manager->find_or_create("b", q));
  CHECK(two.manager->find_or_create("c", q).code == errc::limit_exceeded);
  CHECK(!two.manager->find_or_create("a", q));  // existing: no new queue needed
  CHECK(two.manager->size() == 2);
}

TEST_CASE("queue_manager: create checks options and patterns before creating anything") {
  manager_fixture f;
  bool created = false;
  config::queue_options bad_bind;
  bad_bind.bind = {"ok/#", "bad/#/tail"};
  CHECK(f.manager->create("jobs", bad_bind, created).code == errc::invalid_pattern);
  CHECK(!created);
  CHECK(f.manager->find("jobs") == nullptr);
  CHECK(f.trie.size() == 0);
  config::queue_options durable;
  durable.durable = true;  // no storage was opened
  CHECK(f.manager->create("kept", durable, created).code == errc::storage_error);
  CHECK(f.manager->size() == 0);
  CHECK(!f.manager->create("jobs", {}, created));
  CHECK(created);
  CHECK(!f.manager->create("jobs", {}, created));  // again: nothing to do
  CHECK(!created);
}

TEST_CASE("queue_manager: bindings enqueue copies of matching publishes until unbound") {
  manager_fixture f;
  bool created = false;
  config::queue_options options;
  options.bind = {"sensors/+/temp"};
  REQUIRE(!f.manager->create("temps", options, created));
  REQUIRE(!f.manager->bind("temps", "alarms/#"));
  CHECK(!f.manager->bind("temps", "alarms/#"));  // bound already: no second copy
  auto temps = f.manager->find("temps");
  f.publish("sensors/kitchen/temp", 1);
  f.publish("sensors/kitchen/humidity", 2);
  f.publish("alarms/fire", 3);
  CHECK(temps->ready_count() == 2);
  CHECK(f.manager->unbind("temps", "alarms/#").code == errc::ok);
  CHECK(f.manager->unbind("temps", "alarms/#").code == errc::invalid_argument);
  f.publish("alarms/fire", 4);
  CHECK(temps->ready_count() == 2);
  // Deleting the queue takes its bindings out of the trie and tells its consumers.
  recording_consumer c;
  temps->add_consumer(c, 10, false);
  REQUIRE(!f.manager->remove("temps"));
  CHECK(c.deleted);
  CHECK(f.trie.size() == 0);
  CHECK(f.manager->remove("temps").code == errc::unknown_queue);
}

TEST_CASE("queue_manager: dead letters reach their queue, auto-created, reset and dispatched") {
  manager_fixture f;
  bool created = false;
  config::queue_options options;
  options.dead_letter = "jobs.dead";
  REQUIRE(!f.manager->create("jobs", options, created));
  auto jobs = f.manager->find("jobs");
  recording_consumer worker;
  jobs->add_consumer(worker, 10, false);
  REQUIRE(f.manager->enqueue(*jobs, message(7)) == errc::ok);
  f.manager->dispatch_pending();
  REQUIRE(worker.got.size() == 1);
  REQUIRE(jobs->nack(worker, worker.got[0].id, nack_action::dead_letter, 0) == errc::ok);
  auto dead = f.manager->find("jobs.dead");
  REQUIRE(dead != nullptr);  // created on the first dead letter
  recording_consumer inspector;
  dead->add_consumer(inspector, 10, false);
  f.manager->dispatch_pending();  // the dead-letter queue was scheduled
  REQUIRE(inspector.got.size() == 1);
  CHECK(inspector.got[0].message == 7);
  CHECK(inspector.got[0].count == 1);  // counting starts again in the new queue
  CHECK(jobs->stats().dead_lettered == 1);
}

TEST_CASE("queue_manager: dispatch is deferred until dispatch_pending") {
  manager_fixture f;
  std::shared_ptr<queue> q;
  REQUIRE(!f.manager->find_or_create("jobs", q));
  recording_consumer c;
  q->add_consumer(c, 10, false);
  REQUIRE(f.manager->enqueue(*q, message(1)) == errc::ok);
  REQUIRE(f.manager->enqueue(*q, message(2)) == errc::ok);
  CHECK(c.got.empty());  // marked dirty only
  f.manager->dispatch_pending();
  CHECK(c.message_ids() == std::vector<std::uint64_t>{1, 2});
  auto listed = f.manager->list();
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["name"] == "jobs");
  CHECK(listed[0]["unacked"] == 2);
  CHECK(listed[0]["consumers"] == 1);
}
