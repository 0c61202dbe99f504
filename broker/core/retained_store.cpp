// retained_store: one record per topic, limits, wildcard lookup, expiry by deadline.
#include "core/retained_store.hpp"

#include "ipc/routing/topic.hpp"

namespace ipc::broker {

std::string retained_store::room_for(std::string_view topic, std::size_t bytes,
                                     std::uint64_t max_count, std::uint64_t max_bytes) const {
  const entry* old = find(topic);
  std::uint64_t count = entries_.size() + (old == nullptr ? 1 : 0);
  std::uint64_t total = bytes_ + bytes - (old == nullptr ? 0 : old->record.bytes().size());
  if (count > max_count)
    return "too many retained messages (limits.max_retained: " + std::to_string(max_count) + ")";
  if (total > max_bytes)
    return "retained messages over limits.max_retained_bytes (" + std::to_string(max_bytes) + ")";
  return {};
}

std::optional<retained_store::entry> retained_store::put(std::string_view topic, entry e) {
  auto previous = remove(topic);
  bytes_ += e.record.bytes().size();
  if (e.expires_at_ms != 0) deadlines_.emplace(e.expires_at_ms, std::string(topic));
  entries_.emplace(std::string(topic), std::move(e));
  return previous;
}

std::optional<retained_store::entry> retained_store::remove(std::string_view topic) {
  auto found = entries_.find(topic);
  if (found == entries_.end()) return std::nullopt;
  entry old = std::move(found->second);
  if (old.expires_at_ms != 0) {
    auto [first, last] = deadlines_.equal_range(old.expires_at_ms);
    for (auto it = first; it != last; ++it) {
      if (it->second != found->first) continue;
      deadlines_.erase(it);
      break;
    }
  }
  entries_.erase(found);
  bytes_ -= old.record.bytes().size();
  return old;
}

const retained_store::entry* retained_store::find(std::string_view topic) const {
  auto found = entries_.find(topic);
  return found == entries_.end() ? nullptr : &found->second;
}

void retained_store::for_each_match(
    std::string_view pattern, std::uint64_t now_ms,
    const std::function<void(const std::string&, const entry&)>& visit) const {
  if (!routing::has_wildcard(pattern)) {
    auto found = entries_.find(pattern);
    if (found != entries_.end() &&
        (found->second.expires_at_ms == 0 || found->second.expires_at_ms > now_ms))
      visit(found->first, found->second);
    return;
  }
  for (const auto& [topic, e] : entries_)
    if ((e.expires_at_ms == 0 || e.expires_at_ms > now_ms) &&
        routing::topic_matches(pattern, topic))
      visit(topic, e);
}

void retained_store::for_each(const std::function<void(const std::string&, entry&)>& visit) {
  for (auto& [topic, e] : entries_) visit(topic, e);
}

void retained_store::expire(std::uint64_t now_ms,
                            const std::function<void(const std::string&, entry&)>& gone) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now_ms) {
    std::string topic = deadlines_.begin()->second;
    auto old = remove(topic);  // takes its deadline too
    if (old) gone(topic, *old);
  }
}

}  // namespace ipc::broker
