// queue: enqueue with overflow, round-robin dispatch by credit, ack/nack, redelivery,
// expiry and dead-lettering, delayed messages.
#include "queues/queue.hpp"

#include <algorithm>

namespace ipc::broker {

std::string_view reason_name(dead_letter_reason reason) {
  switch (reason) {
    case dead_letter_reason::expired: return "expired";
    case dead_letter_reason::rejected: return "rejected";
    case dead_letter_reason::max_deliveries: return "max_deliveries";
    case dead_letter_reason::overflow: return "max_length";  // RabbitMQ's maxlen
  }
  return "?";
}

queue::queue(std::string name, config::queue_options options, dead_letter_sink sink,
             std::shared_ptr<memory_gauge> gauge)
    : name_(std::move(name)),
      options_(std::move(options)),
      sink_(std::move(sink)),
      gauge_(std::move(gauge)) {
  ready_.set_max_priority(options_.max_priority);
}

namespace {
// The heap order of delayed messages: the earliest due on top, then the oldest.
bool later(const stored_message& a, const stored_message& b) {
  return a.visible_at_ms != b.visible_at_ms ? a.visible_at_ms > b.visible_at_ms : a.id > b.id;
}
}  // namespace

bool queue::over_limits(std::uint64_t extra_bytes, std::size_t extra_count) const {
  std::size_t count = ready_.size() + unacked_.size() + scheduled_.size() + extra_count;
  if (options_.max_length != 0 && count > options_.max_length) return true;
  return bytes_ + extra_bytes > options_.max_bytes;
}

errc queue::enqueue(stored_message&& message, std::uint64_t now_ms, bool may_evict) {
  if (message.stored_bytes > options_.max_bytes) {
    ++stats_.rejected_full;
    return errc::queue_full;  // could never fit, whatever is dropped
  }
  while (over_limits(message.stored_bytes, 1)) {
    if (!may_evict || options_.overflow != "drop-oldest" || ready_.empty()) {
      ++stats_.rejected_full;
      return errc::queue_full;
    }
    // The least urgent first: the oldest of the lowest priority.
    dead_letter(ready_.pop_lowest(), dead_letter_reason::overflow);
  }
  bool delayed = message.visible_at_ms > now_ms;  // the queue ttl counts from when it shows
  if (!delayed) {
    message.visible_at_ms = 0;
    apply_ttl(message, now_ms);
  }
  hold_bytes(message.stored_bytes);
  if (journal_ != nullptr) journal_->stored(*this, message);
  ++stats_.enqueued;
  if (delayed) {
    scheduled_.push_back(std::move(message));
    std::push_heap(scheduled_.begin(), scheduled_.end(), later);
  } else {
    ready_.push_back(std::move(message));
  }
  return errc::ok;
}

void queue::apply_ttl(stored_message& message, std::uint64_t now_ms) const {
  // The queue's ttl and the message's own (ipc-ttl): whichever ends first.
  if (options_.ttl_ms != 0 &&
      (message.expires_at_ms == 0 || now_ms + options_.ttl_ms < message.expires_at_ms))
    message.expires_at_ms = now_ms + options_.ttl_ms;
}

std::size_t queue::promote(std::uint64_t now_ms) {
  std::size_t count = 0;
  while (!scheduled_.empty() && scheduled_.front().visible_at_ms <= now_ms) {
    std::pop_heap(scheduled_.begin(), scheduled_.end(), later);
    stored_message message = std::move(scheduled_.back());
    scheduled_.pop_back();
    message.visible_at_ms = 0;
    apply_ttl(message, now_ms);
    ready_.push_back(std::move(message));
    ++count;
  }
  return count;
}

void queue::restore(stored_message&& message) {
  hold_bytes(message.stored_bytes);
  if (message.visible_at_ms != 0) {  // still delayed (its ipc-deliver-at is ahead)
    scheduled_.push_back(std::move(message));
    std::push_heap(scheduled_.begin(), scheduled_.end(), later);
    return;
  }
  ready_.push_back(std::move(message));
}

void queue::detach_journal() {
  if (journal_ == nullptr) return;
  for_each_message([&](stored_message& m) {
    if (m.segment != 0) journal_->forgotten(m.segment);
    m.segment = 0;
  });
  journal_ = nullptr;
}

queue::consumer_state* queue::next_consumer() {
  if (options_.single_active_consumer) {
    // Only the longest-attached consumer receives; the others wait their turn.
    if (consumers_.empty()) return nullptr;
    auto& active = consumers_.front();
    bool has_credit = active.no_ack || active.in_flight < active.prefetch;
    return has_credit && active.target->ready_for_more() ? &active : nullptr;
  }
  for (std::size_t tried = 0; tried < consumers_.size(); ++tried) {
    std::size_t index = (next_ + tried) % consumers_.size();
    auto& candidate = consumers_[index];
    bool has_credit = candidate.no_ack || candidate.in_flight < candidate.prefetch;
    if (has_credit && candidate.target->ready_for_more()) {
      next_ = index + 1;
      return &candidate;
    }
  }
  return nullptr;
}

void queue::dispatch(std::uint64_t now_ms) {
  while (!ready_.empty()) {
    consumer_state* consumer = next_consumer();
    if (consumer == nullptr) return;
    stored_message message = ready_.pop_front();
    if (message.expires_at_ms != 0 && message.expires_at_ms <= now_ms) {
      ++stats_.expired;
      dead_letter(std::move(message), dead_letter_reason::expired);
      continue;
    }
    if (++message.delivery_count > 1) ++stats_.redelivered;
    ++stats_.delivered;
    std::uint64_t delivery = ++last_delivery_;
    if (consumer->no_ack) {
      consumer->target->deliver(*this, delivery, message);
      release(message);
      ++stats_.acked;
      continue;
    }
    if (journal_ != nullptr && message.segment != 0) journal_->delivered(*this, message);
    auto& entry = unacked_.emplace(delivery, unacked_entry{std::move(message), consumer->target})
                      .first->second;
    ++consumer->in_flight;
    consumer->target->deliver(*this, delivery, entry.message);
  }
}

void queue::add_consumer(queue_consumer& consumer, std::uint32_t prefetch, bool no_ack) {
  consumers_.push_back({&consumer, prefetch, 0, no_ack});
}

void queue::stop_delivering(queue_consumer& consumer) {
  std::erase_if(consumers_, [&](const consumer_state& s) { return s.target == &consumer; });
  if (next_ > consumers_.size()) next_ = 0;
}

queue::consumer_state* queue::find(queue_consumer& consumer) {
  for (auto& state : consumers_)
    if (state.target == &consumer) return &state;
  return nullptr;
}

void queue::requeue_front(stored_message&& message, std::uint64_t now_ms) {
  (void)now_ms;
  if (options_.max_deliveries != 0 && message.delivery_count >= options_.max_deliveries)
    return dead_letter(std::move(message), dead_letter_reason::max_deliveries);
  // Back among the ready messages in id order, so requeues keep the original order
  // whatever order they come back in (usually at the very front: the scan is short).
  ready_.insert_in_order(std::move(message));
}

void queue::remove_consumer(queue_consumer& consumer, std::uint64_t now_ms) {
  std::vector<stored_message> returned;
  for (auto it = unacked_.begin(); it != unacked_.end();) {
    if (it->second.consumer != &consumer) {
      ++it;
      continue;
    }
    returned.push_back(std::move(it->second.message));
    it = unacked_.erase(it);
  }
  for (auto& message : returned) requeue_front(std::move(message), now_ms);
  std::erase_if(consumers_, [&](const consumer_state& s) { return s.target == &consumer; });
  if (next_ > consumers_.size()) next_ = 0;
}

errc queue::ack(queue_consumer& consumer, std::uint64_t delivery) {
  auto found = unacked_.find(delivery);
  if (found == unacked_.end() || found->second.consumer != &consumer) return errc::unknown_delivery;
  release(found->second.message);
  unacked_.erase(found);
  if (auto* state = find(consumer)) --state->in_flight;
  ++stats_.acked;
  return errc::ok;
}

errc queue::nack(queue_consumer& consumer, std::uint64_t delivery, nack_action action,
                 std::uint64_t now_ms) {
  auto found = unacked_.find(delivery);
  if (found == unacked_.end() || found->second.consumer != &consumer) return errc::unknown_delivery;
  stored_message message = std::move(found->second.message);
  unacked_.erase(found);
  if (auto* state = find(consumer)) --state->in_flight;
  switch (action) {
    case nack_action::requeue: requeue_front(std::move(message), now_ms); break;
    case nack_action::dead_letter:
      dead_letter(std::move(message), dead_letter_reason::rejected);
      break;
    case nack_action::drop:
      release(message);
      ++stats_.dropped;
      break;
  }
  return errc::ok;
}

std::size_t queue::expire(std::uint64_t now_ms) {
  std::size_t count = 0;
  ready_.remove_expired_heads(
      [now_ms](const stored_message& m) {
        return m.expires_at_ms != 0 && m.expires_at_ms <= now_ms;
      },
      [&](stored_message&& message) {
        ++stats_.expired;
        dead_letter(std::move(message), dead_letter_reason::expired);
        ++count;
      });
  return count;
}

std::size_t queue::purge() {
  std::size_t count = ready_.size();
  ready_.for_each([&](const stored_message& message) { release(message); });
  ready_.clear();
  stats_.dropped += count;
  return count;
}

void queue::detach_consumers() {
  auto consumers = std::move(consumers_);
  consumers_.clear();
  for (auto& [delivery, entry] : unacked_) release(entry.message);
  unacked_.clear();
  for (auto& state : consumers) state.target->queue_deleted(*this);
}

void queue::dead_letter(stored_message&& message, dead_letter_reason reason) {
  if (!sink_ || options_.dead_letter.empty()) {
    release(message);
    ++stats_.dropped;
    return;
  }
  // The copy in the dead-letter queue is recorded before this queue's settlement, so a
  // crash between the two duplicates the message rather than losing it.
  drop_bytes(message.stored_bytes);
  std::uint64_t id = message.id;
  std::uint32_t segment = message.segment;
  message.segment = 0;
  ++stats_.dead_lettered;
  sink_(*this, std::move(message), reason);
  if (journal_ != nullptr && segment != 0) journal_->removed(*this, id, segment);
}

}  // namespace ipc::broker
