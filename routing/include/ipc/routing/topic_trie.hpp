// Subscription routing table (docs/topics.md, DESIGN rule 8): a literal fast
// path, a trie of levels for wildcard patterns and a bounded topic→routes match
// cache that can be switched off. Modelled on nats-server's server/sublist.go.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ipc/routing/topic.hpp"

namespace ipc::routing {

class route_target;  // opaque here (defined by the broker); never dereferenced in routing

// One subscriber or queue binding. The trie compares routes, nothing more.
struct route {
  route_target* target = nullptr;
  std::uint32_t id = 0;
  friend bool operator==(const route&, const route&) = default;
};

// Not thread-safe: one owner calls it (docs/architecture.md says which).
class topic_trie {
 public:
  // 4096 mirrors config::limits::match_cache_entries (nats-server's slCacheMax
  // is 1024); 0 switches the match cache off.
  explicit topic_trie(std::size_t cache_entries = 4096);

  // `pattern` is already valid (check_pattern). Inserting an identical
  // (pattern, route) again is a no-op that returns false.
  bool insert(std::string_view pattern, route r);
  // False if (pattern, route) is absent.
  bool erase(std::string_view pattern, route r);

  // Every route whose pattern matches `topic`, once per pattern it was inserted
  // under, in no particular order. Valid until the next call on this trie.
  const std::vector<route>& match(std::string_view topic);
  // Whether anything is listening on `topic`; does not fill the cache.
  bool has_match(std::string_view topic);

  // Number of (pattern, route) entries.
  std::size_t size() const { return size_; }

  struct pattern_count {
    std::string pattern;
    std::size_t routes;
  };
  // Every pattern with its route count, sorted by pattern (admin listing).
  std::vector<pattern_count> patterns() const;

  // Counts match() calls only; they stay zero with the cache off.
  struct cache_stats {
    std::uint64_t hits = 0, misses = 0;
    std::size_t entries = 0;
  };
  cache_stats stats() const { return {hits_, misses_, cache_.size()}; }

 private:
  // Transparent hashing so a std::string_view looks up without allocating.
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
      return std::hash<std::string_view>{}(text);
    }
  };
  template <class Value>
  using string_map = std::unordered_map<std::string, Value, string_hash, std::equal_to<>>;
  using route_list = std::vector<route>;

  // One level of wildcard patterns. The root stands before the first level.
  struct node {
    string_map<std::unique_ptr<node>> literal_children;
    std::unique_ptr<node> plus_child;
    route_list hash_routes;  // patterns "<path to here>/#" (at the root: "#")
    route_list end_routes;   // patterns that end at this node
    bool empty() const;
  };

  bool insert_wildcard(std::string_view pattern, route r);
  static bool erase_wildcard(node& at, level_reader rest, route r);
  template <class Visit>
  static bool walk(const node& at, level_reader rest, bool system_topic, bool at_root,
                   Visit& visit);
  static void list_patterns(const node& at, const std::string& path, bool at_root,
                            std::vector<pattern_count>& out);
  void collect(std::string_view topic, route_list& out) const;
  template <class Update>
  void update_cache(std::string_view pattern, Update update);
  const route_list& cache_store(std::string_view topic);

  string_map<route_list> literal_routes_;  // the literal fast path
  node root_;                              // wildcard patterns only
  std::size_t size_ = 0;

  std::size_t cache_capacity_;
  string_map<route_list> cache_;               // topic → result of match(topic)
  std::vector<const std::string*> cache_age_;  // cache keys, a ring oldest-first from next
  std::size_t cache_next_ = 0;                 // the next entry to evict once full
  // The cache entry match() returned last: a publisher usually sends to one topic again
  // and again. Cache nodes do not move; the only erase (cache_store) clears it first.
  const std::pair<const std::string, route_list>* last_ = nullptr;
  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  route_list result_;  // reused by match() with the cache off
};

}  // namespace ipc::routing
