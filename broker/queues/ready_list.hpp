// A queue's ready messages by priority (queue option max_priority, docs/protocol.md
// §4.12.2): one FIFO per level, the highest level served first. A plain queue has one
// level, so it costs a plain queue one extra comparison per message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "queues/stored_message.hpp"

namespace ipc::broker {

class ready_list {
 public:
  ready_list() : levels_(1) {}

  // Priorities 0..max_priority each get a level; a message's level is its priority,
  // capped at max_priority. Messages already held move to their new level, in id order.
  void set_max_priority(std::uint8_t max_priority) {
    if (max_priority + 1u == levels_.size()) return;
    std::vector<std::deque<stored_message>> old(max_priority + 1u);
    old.swap(levels_);
    for (auto& level : old)
      for (auto& m : level) insert_in_order(std::move(m));
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }

  // At the tail of its level (a new message).
  void push_back(stored_message&& m) {
    level_of(m).push_back(std::move(m));
    ++size_;
  }
  // At its place by id within its level (a message returned to the queue).
  void insert_in_order(stored_message&& m) {
    auto& level = level_of(m);
    auto at = level.begin();
    while (at != level.end() && at->id < m.id) ++at;
    level.insert(at, std::move(m));
    ++size_;
  }

  // The next message to deliver: the head of the highest non-empty level.
  stored_message& front() { return top().front(); }
  stored_message pop_front() { return take(top()); }
  // The message to evict first: the oldest of the lowest non-empty level.
  stored_message pop_lowest() {
    for (auto& level : levels_)
      if (!level.empty()) return take(level);
    return {};
  }

  // Removes from the head of each level the messages `expired(m)` says are; visits each.
  template <typename Expired, typename Visit>
  void remove_expired_heads(Expired expired, Visit visit) {
    for (auto& level : levels_) {
      while (!level.empty() && expired(level.front())) visit(take(level));
    }
  }

  template <typename F>
  void for_each(F&& visit) {
    for (auto& level : levels_)
      for (auto& m : level) visit(m);
  }
  template <typename F>
  void for_each(F&& visit) const {
    for (const auto& level : levels_)
      for (const auto& m : level) visit(m);
  }
  void clear() {
    for (auto& level : levels_) level.clear();
    size_ = 0;
  }

 private:
  std::deque<stored_message>& level_of(const stored_message& m) {
    return levels_[m.priority < levels_.size() ? m.priority : levels_.size() - 1];
  }
  std::deque<stored_message>& top() {
    for (auto level = levels_.rbegin(); level != levels_.rend(); ++level)
      if (!level->empty()) return *level;
    return levels_.front();  // empty: callers check empty() first
  }
  stored_message take(std::deque<stored_message>& level) {
    stored_message m = std::move(level.front());
    level.pop_front();
    --size_;
    return m;
  }

  std::vector<std::deque<stored_message>> levels_;
  std::size_t size_ = 0;
};

}  // namespace ipc::broker
