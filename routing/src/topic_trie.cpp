// Subscription routing table: literal fast path, wildcard trie and the bounded
// match cache kept exact on every insert and erase (docs/topics.md).
#include "ipc/routing/topic_trie.hpp"

#include <algorithm>

namespace ipc::routing {
namespace {

bool add_route(std::vector<route>& routes, route r) {
  if (std::find(routes.begin(), routes.end(), r) != routes.end()) return false;
  routes.push_back(r);
  return true;
}

// Removes one copy of `r`; order is not kept. An emptied list gives back its memory.
bool remove_route(std::vector<route>& routes, route r) {
  const auto found = std::find(routes.begin(), routes.end(), r);
  if (found == routes.end()) return false;
  *found = routes.back();
  routes.pop_back();
  if (routes.empty()) std::vector<route>().swap(routes);
  return true;
}

}  // namespace

bool topic_trie::node::empty() const {
  return literal_children.empty() && !plus_child && hash_routes.empty() && end_routes.empty();
}

topic_trie::topic_trie(std::size_t cache_entries) : cache_capacity_(cache_entries) {}

bool topic_trie::insert(std::string_view pattern, route r) {
  bool inserted = false;
  if (has_wildcard(pattern)) {
    inserted = insert_wildcard(pattern, r);
  } else {
    auto found = literal_routes_.find(pattern);
    if (found == literal_routes_.end())
      found = literal_routes_.emplace(std::string(pattern), route_list{}).first;
    inserted = add_route(found->second, r);
  }
  if (!inserted) return false;
  ++size_;
  update_cache(pattern, [r](route_list& routes) { routes.push_back(r); });
  return true;
}

bool topic_trie::erase(std::string_view pattern, route r) {
  bool erased = false;
  if (has_wildcard(pattern)) {
    erased = erase_wildcard(root_, level_reader(pattern), r);
  } else if (auto found = literal_routes_.find(pattern); found != literal_routes_.end()) {
    erased = remove_route(found->second, r);
    if (found->second.empty()) literal_routes_.erase(found);
  }
  if (!erased) return false;
  --size_;
  update_cache(pattern, [r](route_list& routes) { remove_route(routes, r); });
  return true;
}

bool topic_trie::insert_wildcard(std::string_view pattern, route r) {
  node* at = &root_;
  level_reader levels(pattern);
  while (!levels.done()) {
    const auto level = levels.next();
    if (level == "#") return add_route(at->hash_routes, r);  // '#' is the last level
    std::unique_ptr<node>* child = &at->plus_child;
    if (level != "+") {
      auto found = at->literal_children.find(level);
      if (found == at->literal_children.end())
        found = at->literal_children.emplace(std::string(level), nullptr).first;
      child = &found->second;
    }
    if (!*child) *child = std::make_unique<node>();
    at = child->get();
  }
  return add_route(at->end_routes, r);
}

// Removes `r` below `at` and prunes every node the removal left empty.
bool topic_trie::erase_wildcard(node& at, level_reader rest, route r) {
  if (rest.done()) return remove_route(at.end_routes, r);
  const auto level = rest.next();
  if (level == "#") return remove_route(at.hash_routes, r);
  if (level == "+") {
    if (!at.plus_child || !erase_wildcard(*at.plus_child, rest, r)) return false;
    if (at.plus_child->empty()) at.plus_child.reset();
    return true;
  }
  const auto found = at.literal_children.find(level);
  if (found == at.literal_children.end() || !erase_wildcard(*found->second, rest, r)) return false;
  if (found->second->empty()) at.literal_children.erase(found);
  return true;
}

// Calls visit(routes) for every route list below `at` matching the rest of the
// topic; stops as soon as visit returns true and returns whether it did.
template <class Visit>
bool topic_trie::walk(const node& at, level_reader rest, bool system_topic, bool at_root,
                      Visit& visit) {
  const bool wildcards_apply = !(at_root && system_topic);  // the '$' rule
  if (wildcards_apply && visit(at.hash_routes)) return true;
  if (rest.done()) return visit(at.end_routes);
  const auto level = rest.next();
  const auto found = at.literal_children.find(level);
  if (found != at.literal_children.end() && walk(*found->second, rest, system_topic, false, visit))
    return true;
  return wildcards_apply && at.plus_child && walk(*at.plus_child, rest, system_topic, false, visit);
}

void topic_trie::collect(std::string_view topic, route_list& out) const {
  out.clear();
  if (const auto found = literal_routes_.find(topic); found != literal_routes_.end())
    out.assign(found->second.begin(), found->second.end());
  if (root_.empty()) return;  // no wildcard patterns: the literal lookup is the answer
  auto append = [&out](const route_list& routes) {
    out.insert(out.end(), routes.begin(), routes.end());
    return false;
  };
  walk(root_, level_reader(topic), topic.starts_with('$'), true, append);
}

const std::vector<route>& topic_trie::match(std::string_view topic) {
  if (cache_capacity_ == 0) {
    collect(topic, result_);
    return result_;
  }
  if (last_ != nullptr && std::string_view(last_->first) == topic) {
    ++hits_;
    return last_->second;
  }
  if (const auto found = cache_.find(topic); found != cache_.end()) {
    ++hits_;
    last_ = &*found;
    return found->second;
  }
  ++misses_;
  collect(topic, result_);
  return cache_store(topic);
}

bool topic_trie::has_match(std::string_view topic) {
  if (const auto found = cache_.find(topic); found != cache_.end()) return !found->second.empty();
  if (literal_routes_.contains(topic)) return true;  // literal lists are never empty
  if (root_.empty()) return false;
  auto any = [](const route_list& routes) { return !routes.empty(); };
  return walk(root_, level_reader(topic), topic.starts_with('$'), true, any);
}

// Stores result_ as the entry for `topic`, evicting the oldest entry when full.
const std::vector<route>& topic_trie::cache_store(std::string_view topic) {
  last_ = nullptr;  // the entry evicted below may be it (and emplace may throw)
  if (cache_.size() >= cache_capacity_) {
    cache_.erase(cache_.find(std::string_view(*cache_age_[cache_next_])));
  }
  const auto stored = cache_.emplace(std::string(topic), result_).first;
  last_ = &*stored;
  if (cache_age_.size() < cache_capacity_) {
    cache_age_.push_back(&stored->first);
  } else {
    cache_age_[cache_next_] = &stored->first;
    cache_next_ = (cache_next_ + 1) % cache_capacity_;
  }
  return stored->second;
}

// Keeps cached results exact: applies `update` to every entry `pattern` matches.
template <class Update>
void topic_trie::update_cache(std::string_view pattern, Update update) {
  if (!has_wildcard(pattern)) {  // a literal pattern matches only its own topic
    if (const auto found = cache_.find(pattern); found != cache_.end()) update(found->second);
    return;
  }
  for (auto& [topic, routes] : cache_) {
    if (topic_matches(pattern, topic)) update(routes);
  }
}

std::vector<topic_trie::pattern_count> topic_trie::patterns() const {
  std::vector<pattern_count> out;
  for (const auto& [pattern, routes] : literal_routes_) out.push_back({pattern, routes.size()});
  list_patterns(root_, std::string(), true, out);
  std::sort(out.begin(), out.end(),
            [](const pattern_count& a, const pattern_count& b) { return a.pattern < b.pattern; });
  return out;
}

void topic_trie::list_patterns(const node& at, const std::string& path, bool at_root,
                               std::vector<pattern_count>& out) {
  const auto below = [&](std::string_view level) {
    return at_root ? std::string(level) : path + '/' + std::string(level);
  };
  if (!at.hash_routes.empty()) out.push_back({below("#"), at.hash_routes.size()});
  if (!at.end_routes.empty()) out.push_back({path, at.end_routes.size()});
  if (at.plus_child) list_patterns(*at.plus_child, below("+"), false, out);
  for (const auto& [level, child] : at.literal_children)
    list_patterns(*child, below(level), false, out);
}

}  // namespace ipc::routing
