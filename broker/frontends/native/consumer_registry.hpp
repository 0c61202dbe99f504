// One native connection's queue consumers and delivery tags (docs/protocol.md §4.10):
// live consumers by cid, cancelled ones kept while they hold unacknowledged deliveries,
// consumers whose queue was deleted (kept to the end of the read batch, as the queue may
// still be iterating over them), and the tags that map ACK and NACK to a queue's
// deliveries. Sans-I/O: deliveries are forwarded to a consumer_owner (the session), and
// queues that changed are handed to a `schedule` callback for dispatch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/errc.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

class registered_consumer;
class consumer_registry;

// Where a registered consumer's queue events go.
class consumer_owner {
 public:
  virtual void deliver_from_queue(registered_consumer& consumer, std::uint64_t delivery,
                                  const stored_message& message) = 0;
  virtual bool ready_for_more() const = 0;
  // The consumer's queue was deleted under it (after the registry dropped its tags).
  virtual void consumer_queue_deleted(registered_consumer& consumer) = 0;

 protected:
  ~consumer_owner() = default;
};

// A consumer attached to a queue by one CONSUME.
class registered_consumer final : public queue_consumer {
 public:
  registered_consumer(consumer_owner& owner, std::uint32_t cid, std::shared_ptr<queue> source,
                      bool no_ack)
      : owner_(owner), cid_(cid), queue_(std::move(source)), no_ack_(no_ack) {}
  void deliver(queue&, std::uint64_t delivery, const stored_message& message) override {
    owner_.deliver_from_queue(*this, delivery, message);
  }
  bool ready_for_more() const override { return owner_.ready_for_more(); }
  void queue_deleted(queue& from) override;

  std::uint32_t cid() const { return cid_; }
  queue& source() const { return *queue_; }
  bool no_ack() const { return no_ack_; }
  void set_registry(consumer_registry* registry) { registry_ = registry; }

 private:
  consumer_owner& owner_;
  consumer_registry* registry_ = nullptr;
  std::uint32_t cid_;
  std::shared_ptr<queue> queue_;
  bool no_ack_;
};

class consumer_registry {
 public:
  using scheduler = std::function<void(queue&)>;
  consumer_registry(consumer_owner& owner, scheduler schedule)
      : owner_(owner), schedule_(std::move(schedule)) {}
  ~consumer_registry();
  consumer_registry(const consumer_registry&) = delete;
  consumer_registry& operator=(const consumer_registry&) = delete;

  bool contains(std::uint32_t cid) const { return live_.contains(cid); }
  // Consumers holding a place: live and cancelled ones (limits.max_subscriptions).
  std::size_t count() const { return live_.size() + cancelled_.size(); }

  // Attaches a new consumer `cid` to `source` with credit `prefetch`; the caller checked
  // that `cid` is free.
  registered_consumer& add(std::uint32_t cid, std::shared_ptr<queue> source, std::uint32_t prefetch,
                           bool no_ack);
  // The tag for a delivery to `consumer`: 0 for a no-ack consumer (settled already),
  // else a new one, counting from 1 on this connection.
  std::uint64_t tag(registered_consumer& consumer, std::uint64_t delivery);
  // ACK and NACK of a tag: unknown_delivery when it names no unacknowledged delivery.
  errc ack(std::uint64_t tag, std::uint64_t now_ms);
  errc nack(std::uint64_t tag, nack_action action, std::uint64_t now_ms);
  // CANCEL: false when there is no consumer `cid`. One without unacknowledged deliveries
  // leaves at once; one with some stops receiving and leaves when the last is settled.
  bool cancel(std::uint32_t cid, std::uint64_t now_ms);
  // Removes consumer `cid` at once: its unacknowledged deliveries go back to the queue.
  bool remove(std::uint32_t cid, std::uint64_t now_ms);
  // The read batch ended: consumers retired by a queue deletion are freed.
  void end_batch() { retired_.clear(); }
  // Every consumer leaves its queue (the connection ends); unacked deliveries requeued.
  void detach_all(std::uint64_t now_ms);
  // Visits the live consumers (to reschedule their queues, or to check permissions).
  void for_each_live(const std::function<void(registered_consumer&)>& visit) const;

 private:
  friend class registered_consumer;
  void queue_deleted(registered_consumer& consumer);
  bool holds_unacked(const registered_consumer* consumer) const;
  void release_if_cancelled(registered_consumer* consumer, std::uint64_t now_ms);
  struct tag_entry {
    registered_consumer* consumer;
    std::uint64_t delivery;  // the queue's id of the delivery
  };

  consumer_owner& owner_;
  scheduler schedule_;
  std::unordered_map<std::uint32_t, std::unique_ptr<registered_consumer>> live_;  // by cid
  std::vector<std::unique_ptr<registered_consumer>> cancelled_;  // settling, by CANCEL
  std::vector<std::unique_ptr<registered_consumer>> retired_;    // queue deleted
  std::unordered_map<std::uint64_t, tag_entry> tags_;            // unacked deliveries by tag
  std::uint64_t last_tag_ = 0;
};

}  // namespace ipc::broker
