// One named queue (SPEC §4): ready messages, consumers with credit served round-robin,
// unacknowledged deliveries, redelivery, expiry, overflow and dead-lettering. Sans-I/O:
// consumers are an interface and time comes from the caller.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/errc.hpp"
#include "core/memory_gauge.hpp"
#include "core/message_pool.hpp"
#include "ipc/config/config.hpp"
#include "queues/ready_list.hpp"
#include "queues/stored_message.hpp"

namespace ipc::broker {

class queue;

// What a queue delivers to (a consumer attached through a session).
class queue_consumer {
 public:
  // Sends DELIVER for `delivery` (unique within the queue); never re-enters the queue.
  virtual void deliver(queue& from, std::uint64_t delivery, const stored_message& message) = 0;
  // Whether its connection can take more output now (else it is skipped until it can).
  virtual bool ready_for_more() const = 0;
  // The queue was deleted under it.
  virtual void queue_deleted(queue& from) = 0;
  // Whether it takes messages off the machine (an uplink's spool, docs/uplinks.md §5):
  // a queue whose consumers all are answers requests only when nothing local can.
  virtual bool remote() const { return false; }

 protected:
  ~queue_consumer() = default;
};

// Where a durable queue records what happens to its messages (the queue store).
class queue_journal {
 public:
  // `message` was accepted: record it and set message.segment.
  virtual void stored(queue& q, stored_message& message) = 0;
  virtual void delivered(queue& q, const stored_message& message) = 0;
  // The message left the queue (acked, dropped, dead-lettered, purged).
  virtual void removed(queue& q, std::uint64_t id, std::uint32_t segment) = 0;
  // The queue is being deleted: forget the message without recording anything.
  virtual void forgotten(std::uint32_t segment) = 0;

 protected:
  ~queue_journal() = default;
};

enum class dead_letter_reason { expired, rejected, max_deliveries, overflow };
// What a negative acknowledgement asks for (docs/protocol.md §4.10.5).
enum class nack_action { requeue, dead_letter, drop };
// The reason's name in logs and in the ipc-death-reason header: expired, rejected,
// max_deliveries, max_length (overflow: evicted by drop-oldest).
std::string_view reason_name(dead_letter_reason reason);

struct queue_stats {
  std::uint64_t enqueued = 0, delivered = 0, redelivered = 0, acked = 0;
  std::uint64_t expired = 0, dead_lettered = 0, dropped = 0, rejected_full = 0;
};

class queue {
 public:
  // Where dead letters go (set by the queue manager); may be empty (then they are dropped).
  using dead_letter_sink = std::function<void(queue& from, stored_message&&, dead_letter_reason)>;

  // The bytes of its messages count in `gauge` (the broker's memory bound) when given.
  queue(std::string name, config::queue_options options, dead_letter_sink sink,
        std::shared_ptr<memory_gauge> gauge = nullptr);
  ~queue() {
    if (gauge_) gauge_->release(bytes_);
  }
  queue(const queue&) = delete;
  queue& operator=(const queue&) = delete;

  const std::string& name() const { return name_; }
  const config::queue_options& options() const { return options_; }
  // New limits apply to what comes next; nothing held is dropped.
  void set_options(config::queue_options options) {
    options_ = std::move(options);
    ready_.set_max_priority(options_.max_priority);
  }

  // Durable queues record through `journal` under `store_id` (their id in the catalog).
  void set_journal(queue_journal* journal, std::uint32_t store_id) {
    journal_ = journal;
    store_id_ = store_id;
  }
  std::uint32_t store_id() const { return store_id_; }
  bool durable() const { return journal_ != nullptr; }
  // Forgets every stored message in the journal and stops recording (before deletion).
  void detach_journal();
  // Puts back a message recovered from storage (in id order, with no limit checks).
  void restore(stored_message&& message);
  // Visits every message held, ready and unacked (compaction copies some forward).
  template <typename F>
  void for_each_message(F&& visit) {
    ready_.for_each(visit);
    for (auto& [delivery, entry] : unacked_) visit(entry.message);
    for (auto& m : scheduled_) visit(m);
  }

  // Takes ownership of `message` unless refused (queue_full under overflow=reject).
  // `may_evict` false refuses instead of dropping the oldest: dead letters never evict,
  // so queues that dead-letter into each other cannot bounce messages forever.
  errc enqueue(stored_message&& message, std::uint64_t now_ms, bool may_evict = true);
  // Delivers ready messages to consumers with credit, round-robin, while it can.
  void dispatch(std::uint64_t now_ms);

  // prefetch: unacked deliveries allowed at once; no_ack: settled when delivered.
  void add_consumer(queue_consumer& consumer, std::uint32_t prefetch, bool no_ack);
  // Stops deliveries to `consumer` (CANCEL); its unacked deliveries can still be settled.
  void stop_delivering(queue_consumer& consumer);
  // Detaches `consumer`; its unacked messages go back to the head, in order.
  void remove_consumer(queue_consumer& consumer, std::uint64_t now_ms);
  errc ack(queue_consumer& consumer, std::uint64_t delivery);
  errc nack(queue_consumer& consumer, std::uint64_t delivery, nack_action action,
            std::uint64_t now_ms);

  // Expires ready messages whose ttl has passed; returns how many.
  std::size_t expire(std::uint64_t now_ms);
  // Delayed messages (visible_at_ms later than the enqueue): when the first is due (0 for
  // none), and moving those due at `now_ms` among the ready ones; returns how many.
  std::uint64_t next_visible() const {
    return scheduled_.empty() ? 0 : scheduled_.front().visible_at_ms;
  }
  std::size_t promote(std::uint64_t now_ms);
  std::size_t purge();      // drops every ready message; returns how many
  void detach_consumers();  // tells consumers the queue is gone (on delete)

  std::size_t ready_count() const { return ready_.size(); }
  std::size_t scheduled_count() const { return scheduled_.size(); }
  std::size_t unacked_count() const { return unacked_.size(); }
  std::size_t consumer_count() const { return consumers_.size(); }
  bool remote_consumers_only() const {
    for (const auto& c : consumers_)
      if (!c.target->remote()) return false;
    return !consumers_.empty();
  }
  std::uint64_t bytes() const { return bytes_; }
  const queue_stats& stats() const { return stats_; }

 private:
  struct consumer_state {
    queue_consumer* target;
    std::uint32_t prefetch;
    std::uint32_t in_flight = 0;
    bool no_ack;
  };
  struct unacked_entry {
    stored_message message;
    queue_consumer* consumer;
  };

  bool over_limits(std::uint64_t extra_bytes, std::size_t extra_count) const;
  void apply_ttl(stored_message& message, std::uint64_t now_ms) const;
  consumer_state* next_consumer();
  consumer_state* find(queue_consumer& consumer);
  void requeue_front(stored_message&& message, std::uint64_t now_ms);
  void dead_letter(stored_message&& message, dead_letter_reason reason);
  void hold_bytes(std::uint32_t n) {
    bytes_ += n;
    if (gauge_) gauge_->add(n);
  }
  void drop_bytes(std::uint32_t n) {
    bytes_ -= n;
    if (gauge_) gauge_->release(n);
  }
  void release(const stored_message& message) {
    drop_bytes(message.stored_bytes);
    if (journal_ != nullptr && message.segment != 0)
      journal_->removed(*this, message.id, message.segment);
  }

  std::string name_;
  config::queue_options options_;
  dead_letter_sink sink_;
  queue_journal* journal_ = nullptr;
  std::uint32_t store_id_ = 0;
  ready_list ready_;
  // Delayed messages: a binary min-heap on (visible_at_ms, id), no timer of their own.
  std::vector<stored_message> scheduled_;
  std::map<std::uint64_t, unacked_entry> unacked_;  // by delivery: redelivered in order
  std::vector<consumer_state> consumers_;
  std::size_t next_ = 0;  // round-robin position
  std::uint64_t last_delivery_ = 0;
  std::uint64_t bytes_ = 0;              // stored body bytes, ready + unacked
  std::shared_ptr<memory_gauge> gauge_;  // shared: a consumer may hold the queue past the core
  queue_stats stats_;
};

}  // namespace ipc::broker
