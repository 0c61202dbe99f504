// permissions: allow lists (when restricted) and deny lists over topics and queues.
#include "access/permissions.hpp"

#include <vector>

#include "ipc/routing/topic.hpp"

namespace ipc::broker {
namespace {

std::vector<std::string_view> levels(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto slash = text.find('/', start);
    out.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool wildcard(std::string_view level) { return level == "+" || level == "#"; }

// The '$' rule: a first-level wildcard never matches a level starting with '$'.
bool dollar_blocked(std::string_view pattern_level, std::string_view other_level) {
  return wildcard(pattern_level) && !wildcard(other_level) && other_level.starts_with('$');
}

bool any_match(const std::vector<std::string>& patterns, std::string_view topic) {
  for (const auto& p : patterns)
    if (routing::topic_matches(p, topic)) return true;
  return false;
}

bool any_queue(const std::vector<std::string>& patterns, std::string_view queue) {
  for (const auto& p : patterns)
    if (queue_pattern_matches(p, queue)) return true;
  return false;
}

}  // namespace

bool pattern_covers(std::string_view outer, std::string_view inner) {
  auto o = levels(outer), in = levels(inner);
  std::size_t i = 0;
  for (;; ++i) {
    if (i == o.size()) return i == in.size();
    if (o[i] == "#") return !(i == 0 && !in.empty() && dollar_blocked("#", in[0]));
    if (i == in.size()) return false;
    if (in[i] == "#") return false;  // only '#' covers '#'
    if (o[i] == "+") {
      if (i == 0 && dollar_blocked("+", in[0])) return false;
      continue;
    }
    if (in[i] == "+" || o[i] != in[i]) return false;
  }
}

bool patterns_intersect(std::string_view a, std::string_view b) {
  auto x = levels(a), y = levels(b);
  for (std::size_t i = 0;; ++i) {
    bool x_end = i == x.size(), y_end = i == y.size();
    if (x_end && y_end) return true;
    if (x_end) return y[i] == "#";  // "a/#" also matches "a"
    if (y_end) return x[i] == "#";
    if (i == 0 && (dollar_blocked(x[0], y[0]) || dollar_blocked(y[0], x[0]))) return false;
    if (x[i] == "#" || y[i] == "#") return true;
    if (x[i] == "+" || y[i] == "+") continue;
    if (x[i] != y[i]) return false;
  }
}

bool queue_pattern_matches(std::string_view pattern, std::string_view queue) {
  if (pattern.ends_with('*')) return queue.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == queue;
}

permissions::permissions(const config::user& user)
    : restricted_(user.restricted),
      admin_(user.restricted ? user.allow.admin : true),
      allow_(user.allow),
      deny_(user.deny) {
  if (user.deny.admin) admin_ = false;
  monitor_ = (user.restricted ? user.allow.monitor : true) && !user.deny.monitor;
}

bool permissions::may_publish(std::string_view topic) const {
  if (restricted_ && !any_match(allow_.publish, topic)) return false;
  return !any_match(deny_.publish, topic);
}

bool permissions::may_subscribe(std::string_view pattern) const {
  if (restricted_) {
    bool covered = false;
    for (const auto& p : allow_.subscribe) covered = covered || pattern_covers(p, pattern);
    if (!covered) return false;
  }
  for (const auto& d : deny_.subscribe)
    if (patterns_intersect(d, pattern)) return false;
  return true;
}

bool permissions::may_send(std::string_view queue) const {
  if (restricted_ && !any_queue(allow_.send, queue)) return false;
  return !any_queue(deny_.send, queue);
}

bool permissions::may_consume(std::string_view queue) const {
  if (restricted_ && !any_queue(allow_.consume, queue)) return false;
  return !any_queue(deny_.consume, queue);
}

}  // namespace ipc::broker
