// consumer_registry: consumers by cid, tags, cancellation that waits for settlement, and
// consumers retired by a queue deletion.
#include "frontends/native/consumer_registry.hpp"

#include <algorithm>

namespace ipc::broker {

void registered_consumer::queue_deleted(queue&) {
  if (registry_ != nullptr) registry_->queue_deleted(*this);
}

consumer_registry::~consumer_registry() {
  // The session detaches everything before it goes; what is left only needs freeing.
  for (auto& [cid, c] : live_) c->set_registry(nullptr);
}

registered_consumer& consumer_registry::add(std::uint32_t cid, std::shared_ptr<queue> source,
                                            std::uint32_t prefetch, bool no_ack) {
  auto consumer = std::make_unique<registered_consumer>(owner_, cid, source, no_ack);
  consumer->set_registry(this);
  source->add_consumer(*consumer, prefetch, no_ack);
  auto& added = *consumer;
  live_[cid] = std::move(consumer);
  schedule_(*source);
  return added;
}

std::uint64_t consumer_registry::tag(registered_consumer& consumer, std::uint64_t delivery) {
  if (consumer.no_ack()) return 0;
  std::uint64_t tag = ++last_tag_;
  tags_.emplace(tag, tag_entry{&consumer, delivery});
  return tag;
}

errc consumer_registry::ack(std::uint64_t tag, std::uint64_t now_ms) {
  auto found = tags_.find(tag);
  if (found == tags_.end()) return errc::unknown_delivery;
  auto entry = found->second;
  tags_.erase(found);
  entry.consumer->source().ack(*entry.consumer, entry.delivery);
  schedule_(entry.consumer->source());  // credit came back
  release_if_cancelled(entry.consumer, now_ms);
  return errc::ok;
}

errc consumer_registry::nack(std::uint64_t tag, nack_action action, std::uint64_t now_ms) {
  auto found = tags_.find(tag);
  if (found == tags_.end()) return errc::unknown_delivery;
  auto entry = found->second;
  tags_.erase(found);
  entry.consumer->source().nack(*entry.consumer, entry.delivery, action, now_ms);
  schedule_(entry.consumer->source());
  release_if_cancelled(entry.consumer, now_ms);
  return errc::ok;
}

bool consumer_registry::holds_unacked(const registered_consumer* consumer) const {
  return std::any_of(tags_.begin(), tags_.end(),
                     [&](const auto& entry) { return entry.second.consumer == consumer; });
}

bool consumer_registry::cancel(std::uint32_t cid, std::uint64_t now_ms) {
  auto found = live_.find(cid);
  if (found == live_.end()) return false;
  if (!holds_unacked(found->second.get())) return remove(cid, now_ms);
  found->second->source().stop_delivering(*found->second);  // kept until settled
  cancelled_.push_back(std::move(found->second));
  live_.erase(found);
  return true;
}

bool consumer_registry::remove(std::uint32_t cid, std::uint64_t now_ms) {
  auto found = live_.find(cid);
  if (found == live_.end()) return false;
  auto& consumer = *found->second;
  std::erase_if(tags_, [&](const auto& entry) { return entry.second.consumer == &consumer; });
  consumer.source().remove_consumer(consumer, now_ms);
  schedule_(consumer.source());
  live_.erase(found);
  return true;
}

void consumer_registry::release_if_cancelled(registered_consumer* consumer, std::uint64_t now_ms) {
  auto found = std::find_if(cancelled_.begin(), cancelled_.end(),
                            [&](const auto& c) { return c.get() == consumer; });
  if (found == cancelled_.end() || holds_unacked(consumer)) return;
  consumer->source().remove_consumer(*consumer, now_ms);
  cancelled_.erase(found);
}

void consumer_registry::queue_deleted(registered_consumer& consumer) {
  auto found = live_.find(consumer.cid());
  if (found == live_.end() || found->second.get() != &consumer) return;
  std::erase_if(tags_, [&](const auto& entry) { return entry.second.consumer == &consumer; });
  retired_.push_back(std::move(found->second));  // the queue is still iterating over it
  live_.erase(found);
  owner_.consumer_queue_deleted(consumer);
}

void consumer_registry::detach_all(std::uint64_t now_ms) {
  while (!live_.empty()) remove(live_.begin()->first, now_ms);
  for (auto& consumer : cancelled_) {
    consumer->source().remove_consumer(*consumer, now_ms);
    schedule_(consumer->source());
  }
  cancelled_.clear();
  tags_.clear();
}

void consumer_registry::for_each_live(
    const std::function<void(registered_consumer&)>& visit) const {
  for (const auto& [cid, consumer] : live_) visit(*consumer);
}

}  // namespace ipc::broker
