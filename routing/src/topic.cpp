// Topic grammar: validation of topic names and patterns and the reference
// matcher (docs/topics.md). No regex, no allocation.
#include "ipc/routing/topic.hpp"

#include <bit>
#include <cstdint>
#include <cstring>

namespace ipc::routing {
namespace {

// The length of the UTF-8 sequence a lead byte starts and the payload bits it
// carries; length 0 for a byte that cannot start a multi-byte sequence.
struct sequence_start {
  std::size_t length;
  std::uint32_t bits;
};

sequence_start read_lead(unsigned char lead) {
  if ((lead & 0xE0u) == 0xC0u) return {2, lead & 0x1Fu};
  if ((lead & 0xF0u) == 0xE0u) return {3, lead & 0x0Fu};
  if ((lead & 0xF8u) == 0xF0u) return {4, lead & 0x07u};
  return {0, 0};
}

// Decodes the multi-byte sequence at the front of `text`; returns its length or
// 0 if it is truncated, malformed, overlong, a surrogate or above U+10FFFF.
std::size_t decode_sequence(std::string_view text) {
  static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
  const auto [length, bits] = read_lead(static_cast<unsigned char>(text[0]));
  std::uint32_t code_point = bits;
  if (length == 0 || text.size() < length) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0u) != 0x80u) return 0;
    code_point = (code_point << 6) | (byte & 0x3Fu);
  }
  if (code_point < smallest[length]) return 0;                 // overlong
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;  // surrogate
  if (code_point > 0x10FFFF) return 0;                         // beyond Unicode
  return length;
}

// The checks topic names and patterns share, cheapest first.
topic_error check_name(std::string_view name, const name_limits& limits) {
  if (name.empty()) return topic_error::empty;
  if (name.size() > limits.max_length) return topic_error::too_long;
  if (name.find('\0') != std::string_view::npos) return topic_error::nul_character;
  if (!valid_utf8(name)) return topic_error::invalid_utf8;
  std::size_t levels = 1;
  for (const char c : name) levels += c == '/' ? 1 : 0;
  if (levels > limits.max_levels) return topic_error::too_many_levels;
  return topic_error::none;
}

bool is_wildcard_level(std::string_view level) { return level == "+" || level == "#"; }

}  // namespace

bool valid_utf8(std::string_view text) {
  // Eight ASCII bytes at a time first: most names and headers are ASCII.
  while (text.size() >= 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data(), 8);
    if ((word & 0x8080808080808080ull) != 0) break;
    text.remove_prefix(8);
  }
  while (!text.empty()) {
    if (static_cast<unsigned char>(text[0]) < 0x80) {
      text.remove_prefix(1);
      continue;
    }
    const auto length = decode_sequence(text);
    if (length == 0) return false;
    text.remove_prefix(length);
  }
  return true;
}

namespace {

constexpr std::uint64_t every_byte(unsigned char c) { return 0x0101010101010101ull * c; }

// The bytes of an ASCII word (no byte's high bit set) equal to `c`: each such byte's
// high bit. With every byte below 0x80, adding 0x7F to a byte never carries into the
// next, so the sum's high bit is set exactly where the byte differs from `c`.
std::uint64_t ascii_bytes_equal(std::uint64_t word, unsigned char c) {
  constexpr std::uint64_t low7 = every_byte(0x7F);
  return ~((word ^ every_byte(c)) + low7) & every_byte(0x80);
}

}  // namespace

topic_error check_topic(std::string_view topic, const name_limits& limits) {
  // Every publish comes through here: a name that is plain ASCII (no NUL) is looked at
  // eight bytes a word, counting its levels and finding wildcards; anything else takes
  // the full checks, which decide which error to report.
  if (topic.empty()) return topic_error::empty;
  if (topic.size() > limits.max_length) return topic_error::too_long;
  std::size_t levels = 1;
  std::uint64_t wildcard = 0, not_plain = 0;
  const auto look_at = [&](std::uint64_t word) {
    not_plain |= (word & every_byte(0x80)) | ascii_bytes_equal(word, 0);
    wildcard |= ascii_bytes_equal(word, '+') | ascii_bytes_equal(word, '#');
    // One bit per '/' byte, summed into the top byte by a multiplication (no popcount
    // instruction in the baseline x86-64 set).
    levels += static_cast<std::size_t>(((ascii_bytes_equal(word, '/') >> 7) * every_byte(1)) >> 56);
  };
  const std::size_t size = topic.size();
  std::size_t at = 0;
  for (; at + 8 <= size && not_plain == 0; at += 8) {
    std::uint64_t word;
    std::memcpy(&word, topic.data() + at, 8);
    look_at(word);
  }
  if (at < size && not_plain == 0) {
    // The last bytes: a word ending at the name's end, its bytes already looked at (or
    // before the name) replaced by 'a', which is plain and neither '/' nor a wildcard.
    std::uint64_t word = every_byte('a');
    if (size >= 8) {
      std::memcpy(&word, topic.data() + size - 8, 8);
      const std::size_t seen = 8 - (size - at);  // leading bytes of the word
      const std::uint64_t seen_mask = (std::uint64_t{1} << (8 * seen)) - 1;
      const std::uint64_t mask = std::endian::native == std::endian::little
                                     ? seen_mask
                                     : ~(~std::uint64_t{0} >> (8 * seen));
      word = (word & ~mask) | (every_byte('a') & mask);
    } else {
      std::memcpy(&word, topic.data(), size);
    }
    look_at(word);
  }
  if (not_plain != 0) {
    if (const auto error = check_name(topic, limits); error != topic_error::none) return error;
    wildcard = topic.find_first_of("+#") != std::string_view::npos ? 1 : 0;
  } else if (levels > limits.max_levels) {
    return topic_error::too_many_levels;
  }
  return wildcard != 0 ? topic_error::wildcard_in_topic : topic_error::none;
}

topic_error check_pattern(std::string_view pattern, const name_limits& limits) {
  if (const auto error = check_name(pattern, limits); error != topic_error::none) return error;
  level_reader levels(pattern);
  while (!levels.done()) {
    const auto level = levels.next();
    if (level == "#" && !levels.done()) return topic_error::misplaced_wildcard;
    if (!is_wildcard_level(level) && level.find_first_of("+#") != std::string_view::npos)
      return topic_error::misplaced_wildcard;
  }
  return topic_error::none;
}

std::string_view describe(topic_error error) {
  switch (error) {
    case topic_error::none: return "ok";
    case topic_error::empty: return "topic is empty";
    case topic_error::too_long: return "topic is longer than limits.max_topic_length";
    case topic_error::too_many_levels: return "topic has more levels than limits.max_topic_levels";
    case topic_error::nul_character: return "topic contains a NUL character";
    case topic_error::invalid_utf8: return "topic is not valid UTF-8";
    case topic_error::wildcard_in_topic:
      return "wildcards '+' and '#' are only allowed in subscription patterns";
    case topic_error::misplaced_wildcard:
      return "'+' must be a whole level and '#' must be the whole last level";
  }
  return "unknown topic error";
}

bool topic_matches(std::string_view pattern, std::string_view topic) {
  const bool system_topic = topic.starts_with('$');
  level_reader wanted(pattern);
  level_reader given(topic);
  for (bool first = true;; first = false) {
    const auto want = wanted.next();
    if (want == "#") return !(first && system_topic);
    if (given.done()) return false;
    const auto have = given.next();
    if (want == "+") {
      if (first && system_topic) return false;
    } else if (want != have) {
      return false;
    }
    if (wanted.done()) return given.done();
  }
}

bool has_wildcard(std::string_view pattern) {
  return pattern.find_first_of("+#") != std::string_view::npos;
}

}  // namespace ipc::routing
