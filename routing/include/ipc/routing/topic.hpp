// Topic grammar (docs/topics.md, SPEC §3, MQTT 3.1.1/5 §4.7): validation of
// topic names and subscription patterns, and the structural matcher that
// defines what a pattern matches. The trie must agree with topic_matches().
#pragma once

#include <cstddef>
#include <string_view>

namespace ipc::routing {

enum class topic_error {
  none,
  empty,               // zero bytes (MQTT §4.7.3: at least one character)
  too_long,            // more bytes than name_limits::max_length
  too_many_levels,     // more '/'-separated levels than name_limits::max_levels
  nul_character,       // U+0000 (MQTT §1.5.3)
  invalid_utf8,        // malformed, overlong, surrogate or above U+10FFFF
  wildcard_in_topic,   // '+' or '#' in a publish topic
  misplaced_wildcard,  // '+' not a whole level, '#' not the whole last level
};

// Defaults mirror config::limits::max_topic_length / max_topic_levels.
struct name_limits {
  std::size_t max_length = 4096;  // bytes; MQTT allows 65535, NATS warns past 4 KiB
  std::size_t max_levels = 128;   // bounds trie depth and matcher recursion
};

// Checks a publish topic: no wildcards; empty levels ("a//b", "/a", "a/") are legal.
topic_error check_topic(std::string_view topic, const name_limits& limits);

// Checks a subscription pattern: '+' is a whole level, '#' the whole last level.
topic_error check_pattern(std::string_view pattern, const name_limits& limits);

// A short human message for error frames ("topic is not valid UTF-8").
std::string_view describe(topic_error error);

// True when `pattern` matches `topic`. '+' matches exactly one level (possibly
// empty); '#' matches the parent level and every remaining level ("a/#"
// matches "a" and "a/b/c"); a pattern whose first level is '+' or '#' does not
// match a topic whose first level starts with '$'. Inputs are assumed valid.
bool topic_matches(std::string_view pattern, std::string_view topic);

// True when `pattern` contains a wildcard level, i.e. it is not a literal topic.
bool has_wildcard(std::string_view pattern);

// True when `text` is valid UTF-8: no malformed, truncated or overlong sequence, no
// surrogate, nothing above U+10FFFF (U+0000 is allowed here; topics refuse it apart).
bool valid_utf8(std::string_view text);

// Reads a name level by level without allocating. An empty name has one empty
// level; "a/" has two levels, "a" and "".
class level_reader {
 public:
  explicit level_reader(std::string_view name) : rest_(name) {}

  bool done() const { return done_; }

  // The next level; call only while !done().
  std::string_view next() {
    const auto slash = rest_.find('/');
    if (slash == std::string_view::npos) {
      done_ = true;
      const auto last = rest_;
      rest_ = {};
      return last;
    }
    const auto level = rest_.substr(0, slash);
    rest_.remove_prefix(slash + 1);
    return level;
  }

 private:
  std::string_view rest_;
  bool done_ = false;
};

}  // namespace ipc::routing
