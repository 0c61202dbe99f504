// Topic grammar tests: every topic_error, UTF-8 edge cases, limits, and the
// matcher against the MQTT 3.1.1 §4.7 examples (docs/topics.md).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/routing/topic.hpp"
#include "topic_reference.hpp"

using namespace ipc::routing;
using namespace std::string_view_literals;
using namespace std::string_literals;

namespace {

const name_limits defaults{};

std::string levels_of(std::size_t count) {
  std::string name = "l";
  for (std::size_t i = 1; i < count; ++i) name += "/l";
  return name;
}

}  // namespace

TEST_CASE("valid topics, including empty levels and '$' topics") {
  for (const auto topic : {"a"sv, "sport/tennis/player1"sv, "/"sv, "a//b"sv, "/a"sv, "a/"sv, "//"sv,
                           "$SYS/broker/uptime"sv, "with space/and-dash_."sv,
                           "\xC3\xBC/\xE6\x97\xA5\xE6\x9C\xAC/\xF0\x9D\x84\x9E"sv}) {
    CAPTURE(topic);
    CHECK(check_topic(topic, defaults) == topic_error::none);
  }
}

TEST_CASE("invalid topics, one per error") {
  CHECK(check_topic("", defaults) == topic_error::empty);
  CHECK(check_topic(std::string(4097, 'a'), defaults) == topic_error::too_long);
  CHECK(check_topic(levels_of(129), defaults) == topic_error::too_many_levels);
  CHECK(check_topic("a\0b"sv, defaults) == topic_error::nul_character);
  CHECK(check_topic("\0"sv, defaults) == topic_error::nul_character);
  CHECK(check_topic("a/\xFF", defaults) == topic_error::invalid_utf8);
  for (const auto topic : {"a/+"sv, "+"sv, "#"sv, "a/#"sv, "a+b"sv, "sport#"sv}) {
    CAPTURE(topic);
    CHECK(check_topic(topic, defaults) == topic_error::wildcard_in_topic);
  }
}

TEST_CASE("every special byte is found at every place in and across the eight-byte words") {
  name_limits tight = defaults;
  tight.max_levels = 3;
  for (std::size_t length = 1; length <= 26; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      for (const char special : {'/', '+', '#', '\0', '\x80', '\xC3', '\x7F', '.'}) {
        std::string topic(length, 'x');
        topic[at] = special;
        for (const auto& candidate : {topic, topic + "/a/b", "a/" + topic, topic + "\xC3\xBC/+"}) {
          CAPTURE(candidate);
          CHECK(check_topic(candidate, defaults) ==
                ipc::test::check_topic_bytewise(candidate, defaults));
          CHECK(check_topic(candidate, tight) == ipc::test::check_topic_bytewise(candidate, tight));
        }
      }
    }
  }
}

TEST_CASE("a topic with non-ASCII bytes reports the same error as a plain one") {
  // Plain ASCII names take one fast pass; others the full checks: both must agree.
  const std::string u = "\xC3\xBC";  // ü
  CHECK(check_topic(u + "/+", defaults) == topic_error::wildcard_in_topic);
  CHECK(check_topic(u + levels_of(129), defaults) == topic_error::too_many_levels);
  CHECK(check_topic(u + levels_of(128).substr(1), defaults) == topic_error::none);
  CHECK(check_topic(u + "/#\0"s, defaults) == topic_error::nul_character);
  CHECK(check_topic("a/#\xFF", defaults) == topic_error::invalid_utf8);
  CHECK(check_topic(levels_of(129) + "\xFF", defaults) == topic_error::invalid_utf8);
  CHECK(check_topic(levels_of(129) + "/#", defaults) == topic_error::too_many_levels);
}

TEST_CASE("UTF-8 is checked past runs of ASCII of every length") {
  for (std::size_t run = 0; run < 20; ++run) {
    CAPTURE(run);
    const std::string ascii(run, 'a');
    CHECK(valid_utf8(ascii));
    CHECK(valid_utf8(ascii + "\xE6\x97\xA5" + ascii));
    CHECK_FALSE(valid_utf8(ascii + "\xFF" + ascii));
    CHECK_FALSE(valid_utf8(ascii + "\xE6\x97"));              // truncated at the end
    CHECK_FALSE(valid_utf8(ascii + "\xED\xA0\x80" + ascii));  // surrogate
  }
}

TEST_CASE("length and level limits are inclusive and configurable") {
  CHECK(check_topic(std::string(4096, 'a'), defaults) == topic_error::none);
  CHECK(check_topic(std::string(4097, 'a'), defaults) == topic_error::too_long);
  CHECK(check_topic(levels_of(128), defaults) == topic_error::none);
  CHECK(check_topic(levels_of(129), defaults) == topic_error::too_many_levels);
  CHECK(check_topic(std::string(127, '/'), defaults) == topic_error::none);  // 128 empty levels
  CHECK(check_topic(std::string(128, '/'), defaults) == topic_error::too_many_levels);

  const name_limits small{.max_length = 5, .max_levels = 2};
  CHECK(check_topic("abcde", small) == topic_error::none);
  CHECK(check_topic("abcdef", small) == topic_error::too_long);
  CHECK(check_topic("a/b", small) == topic_error::none);
  CHECK(check_topic("a/b/c", small) == topic_error::too_many_levels);
  CHECK(check_pattern("a/b/#", small) == topic_error::too_many_levels);
  CHECK(check_pattern("+/+/+/", small) == topic_error::too_long);  // length is checked first
}

TEST_CASE("UTF-8 boundaries are accepted") {
  for (const auto text :
       {"\x7F"sv, "\xC2\x80"sv, "\xDF\xBF"sv, "\xE0\xA0\x80"sv, "\xED\x9F\xBF"sv, "\xEE\x80\x80"sv,
        "\xEF\xBF\xBF"sv, "\xF0\x90\x80\x80"sv, "\xF4\x8F\xBF\xBF"sv}) {
    CAPTURE(text);
    CHECK(check_topic(text, defaults) == topic_error::none);
    CHECK(check_pattern(text, defaults) == topic_error::none);
  }
}

TEST_CASE("malformed UTF-8 is rejected") {
  for (const auto text : {
           "\x80"sv,                  // lone continuation byte
           "\xC3"sv,                  // truncated two-byte sequence
           "\xE6\x97"sv,              // truncated three-byte sequence
           "\xC2\x7F"sv,              // bad continuation byte
           "\xC0\xAF"sv,              // overlong '/'
           "\xC1\xBF"sv,              // overlong U+007F
           "\xE0\x80\xAF"sv,          // overlong '/' in three bytes
           "\xE0\x9F\xBF"sv,          // overlong U+07FF
           "\xF0\x80\x80\xAF"sv,      // overlong '/' in four bytes
           "\xF0\x8F\xBF\xBF"sv,      // overlong U+FFFF
           "\xED\xA0\x80"sv,          // surrogate U+D800
           "\xED\xBF\xBF"sv,          // surrogate U+DFFF
           "\xF4\x90\x80\x80"sv,      // U+110000
           "\xF5\x80\x80\x80"sv,      // lead byte beyond U+10FFFF
           "\xF8\x88\x80\x80\x80"sv,  // five-byte form
           "\xFE"sv, "\xFF"sv,        // never valid
           "ok/\xE2\x82"sv,           // truncated at the end of a longer name
       }) {
    CAPTURE(text);
    CHECK(check_topic(text, defaults) == topic_error::invalid_utf8);
    CHECK(check_pattern(text, defaults) == topic_error::invalid_utf8);
  }
}

TEST_CASE("valid patterns") {
  for (const auto pattern :
       {"sport/#"sv, "#"sv, "+/+"sv, "+"sv, "/+"sv, "+/tennis/#"sv, "a//+"sv, "$SYS/#"sv,
        "sport/tennis/player1"sv, "+/"sv, "/#"sv, "a/+/b/+/#"sv, "$SYS/monitor/+"sv}) {
    CAPTURE(pattern);
    CHECK(check_pattern(pattern, defaults) == topic_error::none);
  }
}

TEST_CASE("invalid patterns, one per error") {
  CHECK(check_pattern("", defaults) == topic_error::empty);
  CHECK(check_pattern(std::string(4097, '+'), defaults) == topic_error::too_long);
  CHECK(check_pattern(levels_of(129), defaults) == topic_error::too_many_levels);
  CHECK(check_pattern("a/\0/#"sv, defaults) == topic_error::nul_character);
  CHECK(check_pattern("+/\xC0\xAF", defaults) == topic_error::invalid_utf8);
  for (const auto pattern : {"sp+"sv, "a/#/b"sv, "a#"sv, "#/a"sv, "++"sv, "+a/b"sv, "a/b+"sv,
                             "##"sv, "a/+#"sv, "#/"sv, "sport/tennis#"sv, "a/#/#"sv}) {
    CAPTURE(pattern);
    CHECK(check_pattern(pattern, defaults) == topic_error::misplaced_wildcard);
  }
}

TEST_CASE("describe gives a distinct message for every error") {
  const topic_error all[] = {topic_error::none,
                             topic_error::empty,
                             topic_error::too_long,
                             topic_error::too_many_levels,
                             topic_error::nul_character,
                             topic_error::invalid_utf8,
                             topic_error::wildcard_in_topic,
                             topic_error::misplaced_wildcard};
  std::set<std::string_view> messages;
  for (const auto error : all) {
    CHECK_FALSE(describe(error).empty());
    messages.insert(describe(error));
  }
  CHECK(messages.size() == std::size(all));
}

TEST_CASE("level_reader splits on every '/' and keeps empty levels") {
  const auto split = [](std::string_view name) {
    std::vector<std::string_view> levels;
    for (level_reader reader(name); !reader.done();) levels.push_back(reader.next());
    return levels;
  };
  CHECK(split("a") == std::vector{"a"sv});
  CHECK(split("") == std::vector{""sv});
  CHECK(split("a//b") == std::vector{"a"sv, ""sv, "b"sv});
  CHECK(split("/a") == std::vector{""sv, "a"sv});
  CHECK(split("a/") == std::vector{"a"sv, ""sv});
  CHECK(split("/") == std::vector{""sv, ""sv});
}

TEST_CASE("has_wildcard") {
  CHECK(has_wildcard("a/+"));
  CHECK(has_wildcard("#"));
  CHECK_FALSE(has_wildcard("a/b"));
  CHECK_FALSE(has_wildcard("$SYS/x"));
}

namespace {

struct match_case {
  std::string_view pattern;
  std::string_view topic;
  bool expected;
};

// MQTT 3.1.1 §4.7.1.2, §4.7.1.3 and §4.7.2 examples, then empty levels and literals.
constexpr match_case match_table[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/tennis/player1/#", "sport/tennis/player2", false},
    {"sport/tennis/player1/#", "sport/tennis", false},
    {"sport/#", "sport", true},
    {"sport/#", "sports", false},
    {"#", "sport", true},
    {"#", "sport/tennis/player1", true},
    {"#", "/", true},
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player2", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"+", "finance", true},
    {"+/tennis/#", "sport/tennis/player1/ranking", true},
    {"+/tennis/#", "sport/tennis", true},
    {"+/tennis/#", "sport/golf", false},
    {"#", "$SYS/broker/uptime", false},
    {"#", "$SYS", false},
    {"+/monitor/Clients", "$SYS/monitor/Clients", false},
    {"+", "$", false},
    {"$SYS/#", "$SYS/monitor/Clients", true},
    {"$SYS/#", "$SYS", true},
    {"$SYS/monitor/+", "$SYS/monitor/Clients", true},
    {"$SYS/monitor/Clients", "$SYS/monitor/Clients", true},
    {"#", "a/$SYS", true},  // the '$' rule concerns the first level only
    {"+/$x", "a/$x", true},
    {"+/+", "$a/b", false},
    {"a/+/b", "a//b", true},
    {"a//b", "a//b", true},
    {"a//b", "a/b", false},
    {"a/+", "a/", true},
    {"a/#", "a/", true},
    {"+/+", "/", true},
    {"+", "/", false},
    {"/#", "/a/b", true},
    {"/#", "a/b", false},
    {"a", "a/", false},
    {"a/", "a", false},
    {"a/b", "a/b", true},
    {"a/b", "a/bc", false},
    {"a/b", "a", false},
    {"a/+/+", "a/b", false},
    {"a/+/#", "a/b", true},
};

}  // namespace

TEST_CASE("topic_matches follows the MQTT examples") {
  for (const auto& each : match_table) {  // no structured binding: CAPTURE is a lambda
    CAPTURE(each.pattern);
    CAPTURE(each.topic);
    REQUIRE(check_pattern(each.pattern, defaults) == topic_error::none);
    REQUIRE(check_topic(each.topic, defaults) == topic_error::none);
    CHECK(topic_matches(each.pattern, each.topic) == each.expected);
  }
}
