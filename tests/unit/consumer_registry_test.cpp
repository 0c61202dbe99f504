// The native front-end's consumer_registry without sockets: tags, ACK and NACK through
// them, CANCEL that waits for settlement, removal, a queue deleted under a consumer, and
// detaching everything when the connection ends.
#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/message_pool.hpp"
#include "frontends/native/consumer_registry.hpp"
#include "queues/queue.hpp"

using namespace ipc::broker;

namespace {

struct owner final : consumer_owner {
  struct delivery {
    std::uint32_t cid;
    std::uint64_t tag;
    std::uint64_t message;
  };
  void deliver_from_queue(registered_consumer& c, std::uint64_t id,
                          const stored_message& m) override {
    got.push_back({c.cid(), registry->tag(c, id), m.id});
  }
  bool ready_for_more() const override { return true; }
  void consumer_queue_deleted(registered_consumer& c) override { deleted.push_back(c.cid()); }

  consumer_registry* registry = nullptr;
  std::vector<delivery> got;
  std::vector<std::uint32_t> deleted;
};

struct fixture {
  fixture() { session.registry = &registry; }
  std::shared_ptr<queue> make_queue(const std::string& name, std::uint64_t messages) {
    auto q = std::make_shared<queue>(name, ipc::config::queue_options{}, nullptr);
    for (std::uint64_t id = 1; id <= messages; ++id) {
      stored_message m;
      m.id = id;
      m.body = pool.acquire();
      m.stored_bytes = 1;
      REQUIRE(q->enqueue(std::move(m), 0) == errc::ok);
    }
    return q;
  }
  void dispatch(queue& q) { q.dispatch(0); }

  message_pool pool;
  owner session;
  std::set<std::string> scheduled;
  consumer_registry registry{session, [this](queue& q) { scheduled.insert(q.name()); }};
};

}  // namespace

TEST_CASE("consumer_registry: tags count from 1 per connection, no-ack deliveries get 0") {
  fixture f;
  auto jobs = f.make_queue("jobs", 2);
  auto events = f.make_queue("events", 2);
  f.registry.add(1, jobs, 10, false);
  f.registry.add(2, events, 10, true);
  CHECK(f.registry.contains(1));
  CHECK(f.registry.count() == 2);
  CHECK(f.scheduled == std::set<std::string>{"jobs", "events"});
  f.dispatch(*jobs);
  f.dispatch(*events);
  REQUIRE(f.session.got.size() == 4);
  CHECK(f.session.got[0].tag == 1);
  CHECK(f.session.got[1].tag == 2);
  CHECK(f.session.got[2].tag == 0);  // no-ack: settled already
  CHECK(f.session.got[3].tag == 0);
  CHECK(f.registry.ack(0, 0) == errc::unknown_delivery);
}

TEST_CASE("consumer_registry: ACK and NACK settle through the tag, once") {
  fixture f;
  auto jobs = f.make_queue("jobs", 3);
  f.registry.add(7, jobs, 10, false);
  f.dispatch(*jobs);
  REQUIRE(f.session.got.size() == 3);
  f.scheduled.clear();
  CHECK(f.registry.ack(1, 0) == errc::ok);
  CHECK(f.scheduled == std::set<std::string>{"jobs"});  // credit came back
  CHECK(f.registry.ack(1, 0) == errc::unknown_delivery);
  CHECK(f.registry.nack(2, nack_action::requeue, 0) == errc::ok);
  CHECK(f.registry.nack(2, nack_action::requeue, 0) == errc::unknown_delivery);
  CHECK(f.registry.nack(3, nack_action::drop, 0) == errc::ok);
  CHECK(jobs->unacked_count() == 0);
  CHECK(jobs->ready_count() == 1);  // message 2, requeued
  CHECK(jobs->stats().acked == 1);
}

TEST_CASE("consumer_registry: CANCEL waits for the last unacked delivery to be settled") {
  fixture f;
  auto jobs = f.make_queue("jobs", 4);
  f.registry.add(1, jobs, 2, false);
  f.dispatch(*jobs);
  REQUIRE(f.session.got.size() == 2);
  CHECK(f.registry.cancel(1, 0));
  CHECK_FALSE(f.registry.contains(1));
  CHECK(f.registry.count() == 1);      // still holds a place while settling
  CHECK(jobs->consumer_count() == 0);  // but gets no more
  f.dispatch(*jobs);
  CHECK(f.session.got.size() == 2);
  CHECK(f.registry.ack(1, 0) == errc::ok);
  CHECK(f.registry.count() == 1);
  CHECK(f.registry.nack(2, nack_action::requeue, 0) == errc::ok);
  CHECK(f.registry.count() == 0);  // settled: gone
  CHECK(jobs->ready_count() == 3);
  CHECK_FALSE(f.registry.cancel(1, 0));  // no such consumer any more
  // Without unacked deliveries a CANCEL takes effect at once.
  f.registry.add(2, jobs, 0, true);
  CHECK(f.registry.cancel(2, 0));
  CHECK(f.registry.count() == 0);
}

TEST_CASE("consumer_registry: removal returns unacked deliveries and drops their tags") {
  fixture f;
  auto jobs = f.make_queue("jobs", 2);
  f.registry.add(1, jobs, 10, false);
  f.dispatch(*jobs);
  CHECK(f.registry.remove(1, 0));
  CHECK_FALSE(f.registry.remove(1, 0));
  CHECK(jobs->ready_count() == 2);
  CHECK(f.registry.ack(1, 0) == errc::unknown_delivery);
}

TEST_CASE("consumer_registry: a deleted queue retires its consumer until the batch ends") {
  fixture f;
  auto jobs = f.make_queue("jobs", 1);
  auto other = f.make_queue("other", 1);
  f.registry.add(1, jobs, 10, false);
  f.registry.add(2, other, 10, false);
  f.dispatch(*jobs);
  jobs->detach_consumers();  // what queue.delete does
  CHECK(f.session.deleted == std::vector<std::uint32_t>{1});
  CHECK_FALSE(f.registry.contains(1));
  CHECK(f.registry.ack(1, 0) == errc::unknown_delivery);  // its tags went with it
  f.registry.end_batch();
  CHECK(f.registry.count() == 1);
  // The connection ends: every consumer leaves its queue, unacked deliveries go back.
  f.dispatch(*other);
  REQUIRE(other->unacked_count() == 1);
  f.registry.detach_all(0);
  CHECK(f.registry.count() == 0);
  CHECK(other->consumer_count() == 0);
  CHECK(other->ready_count() == 1);
}
