// The topic check defined a byte at a time: the oracle check_topic's word-at-a-time pass
// must agree with (tests/unit/topic_test.cpp and the topic fuzz target).
#pragma once

#include <algorithm>
#include <string_view>

#include "ipc/routing/topic.hpp"

namespace ipc::test {

inline routing::topic_error check_topic_bytewise(std::string_view topic,
                                                 const routing::name_limits& limits) {
  using routing::topic_error;
  if (topic.empty()) return topic_error::empty;
  if (topic.size() > limits.max_length) return topic_error::too_long;
  if (topic.find('\0') != std::string_view::npos) return topic_error::nul_character;
  if (!routing::valid_utf8(topic)) return topic_error::invalid_utf8;
  std::size_t levels = 1 + static_cast<std::size_t>(std::count(topic.begin(), topic.end(), '/'));
  if (levels > limits.max_levels) return topic_error::too_many_levels;
  if (topic.find_first_of("+#") != std::string_view::npos) return topic_error::wildcard_in_topic;
  return topic_error::none;
}

}  // namespace ipc::test
