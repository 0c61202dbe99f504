// libFuzzer target: the topic grammar, topic_matches and the topic trie (docs/topics.md)
// on arbitrary bytes: "PATTERN\nTOPIC". check_topic must agree with its byte-at-a-time
// definition on both parts, and the trie (with its cache) with topic_matches for every
// valid pair. Run by scripts/fuzz.sh.
#include <cstdlib>
#include <string_view>

#include "ipc/routing/topic.hpp"
#include "ipc/routing/topic_trie.hpp"
#include "topic_reference.hpp"

using namespace ipc::routing;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto newline = input.find('\n');
  std::string_view pattern = input.substr(0, newline);
  std::string_view topic = newline == std::string_view::npos ? "" : input.substr(newline + 1);
  name_limits limits{4096, 128};
  for (const name_limits& checked : {limits, name_limits{64, 3}})
    for (const auto name : {pattern, topic, input})
      if (check_topic(name, checked) != ipc::test::check_topic_bytewise(name, checked))
        std::abort();
  bool pattern_ok = check_pattern(pattern, limits) == topic_error::none;
  bool topic_ok = check_topic(topic, limits) == topic_error::none;
  (void)describe(check_topic(pattern, limits));
  if (!pattern_ok || !topic_ok) return 0;
  bool expected = topic_matches(pattern, topic);
  for (std::size_t cache : {std::size_t{0}, std::size_t{4}}) {
    topic_trie trie(cache);
    trie.insert(pattern, {nullptr, 1});
    trie.insert("#", {nullptr, 2});
    for (int round = 0; round < 2; ++round) {  // the second round hits the cache
      bool found = false;
      for (const auto& r : trie.match(topic)) found = found || r.id == 1;
      if (found != expected || trie.has_match(topic) != (expected || !topic.starts_with('$')))
        std::abort();
    }
    trie.erase(pattern, {nullptr, 1});
    for (const auto& r : trie.match(topic))
      if (r.id == 1) std::abort();
  }
  return 0;
}
