// Routing table tests (DESIGN rule 8): every test runs with the match cache on,
// tiny (forcing eviction) and off; a randomized test checks the trie against
// the brute-force matcher topic_matches().
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ipc/routing/topic.hpp"
#include "ipc/routing/topic_trie.hpp"

using namespace ipc::routing;

namespace {

// Each TEST_CASE calling this runs once per cache setting.
std::size_t cache_setting() {
  std::size_t entries = 0;
  SUBCASE("match cache on") { entries = 4096; }
  SUBCASE("match cache tiny") { entries = 4; }
  SUBCASE("match cache off") { entries = 0; }
  return entries;
}

route r(std::uint32_t id) { return route{nullptr, id}; }

// The ids of a match result, sorted, for order-independent comparison.
std::vector<std::uint32_t> ids(const std::vector<route>& routes) {
  std::vector<std::uint32_t> out;
  out.reserve(routes.size());
  for (const auto& each : routes) out.push_back(each.id);
  std::sort(out.begin(), out.end());
  return out;
}

using id_list = std::vector<std::uint32_t>;

}  // namespace

TEST_CASE("an empty trie matches nothing") {
  topic_trie trie(cache_setting());
  CHECK(trie.match("a/b").empty());
  CHECK_FALSE(trie.has_match("a/b"));
  CHECK(trie.size() == 0);
  CHECK(trie.patterns().empty());
}

TEST_CASE("literal insert, match and erase") {
  topic_trie trie(cache_setting());
  CHECK(trie.insert("sport/tennis", r(1)));
  CHECK(ids(trie.match("sport/tennis")) == id_list{1});
  CHECK(trie.has_match("sport/tennis"));
  CHECK(trie.match("sport").empty());
  CHECK(trie.match("sport/tennis/x").empty());
  CHECK(trie.erase("sport/tennis", r(1)));
  CHECK(trie.match("sport/tennis").empty());
  CHECK_FALSE(trie.has_match("sport/tennis"));
  CHECK(trie.size() == 0);
}

TEST_CASE("duplicates are refused and absent entries are not erased") {
  topic_trie trie(cache_setting());
  for (const char* pattern : {"a/b", "a/+", "a/#"}) {
    CAPTURE(pattern);
    CHECK(trie.insert(pattern, r(1)));
    CHECK_FALSE(trie.insert(pattern, r(1)));
    CHECK_FALSE(trie.erase(pattern, r(2)));  // pattern present, route absent
  }
  CHECK(trie.size() == 3);
  CHECK(ids(trie.match("a/b")) == id_list{1, 1, 1});
  CHECK_FALSE(trie.erase("x/y", r(1)));
  CHECK_FALSE(trie.erase("x/+", r(1)));
  CHECK_FALSE(trie.erase("a/+/c", r(1)));
  CHECK(trie.erase("a/+", r(1)));
  CHECK_FALSE(trie.erase("a/+", r(1)));
  CHECK(trie.size() == 2);
}

TEST_CASE("several routes per pattern, told apart by target and id") {
  topic_trie trie(cache_setting());
  int first_target = 0, second_target = 0;  // only their addresses are used
  const route a{reinterpret_cast<route_target*>(&first_target), 7};
  const route b{reinterpret_cast<route_target*>(&second_target), 7};
  CHECK(trie.insert("orders/+", a));
  CHECK(trie.insert("orders/+", b));
  CHECK(trie.insert("orders/+", r(8)));
  CHECK(trie.insert("orders/new", a));
  CHECK(trie.match("orders/new").size() == 4);
  CHECK(trie.match("orders/old").size() == 3);
  CHECK(trie.erase("orders/+", a));
  const auto& left = trie.match("orders/old");
  CHECK(left.size() == 2);
  CHECK(std::count(left.begin(), left.end(), a) == 0);
  CHECK(std::count(left.begin(), left.end(), b) == 1);
}

TEST_CASE("a route under several matching patterns is returned once per pattern") {
  topic_trie trie(cache_setting());
  for (const char* pattern : {"a/b", "a/+", "a/#", "#", "+/b", "+/+", "a/b/#"}) {
    REQUIRE(trie.insert(pattern, r(1)));
  }
  CHECK(trie.match("a/b").size() == 7);
  CHECK(trie.match("a/c").size() == 4);  // a/+, a/#, #, +/+
  CHECK(trie.match("a").size() == 2);    // a/#, #
}

TEST_CASE("the trie agrees with topic_matches on the MQTT examples") {
  const char* patterns[] = {"sport/tennis/player1/#",
                            "sport/#",
                            "#",
                            "sport/tennis/+",
                            "sport/+",
                            "+/+",
                            "/+",
                            "+",
                            "+/tennis/#",
                            "+/monitor/Clients",
                            "$SYS/#",
                            "$SYS/monitor/+",
                            "a/+/b",
                            "a//b",
                            "/#",
                            "a/+"};
  const char* topics[] = {"sport",
                          "sport/",
                          "sport/tennis",
                          "sport/tennis/player1",
                          "sport/tennis/player1/ranking",
                          "/finance",
                          "finance",
                          "/",
                          "$SYS",
                          "$SYS/monitor/Clients",
                          "a//b",
                          "a/b",
                          "a/",
                          "a/$SYS"};
  topic_trie trie(cache_setting());
  for (std::uint32_t i = 0; i < std::size(patterns); ++i) REQUIRE(trie.insert(patterns[i], r(i)));
  for (const char* topic : topics) {
    CAPTURE(topic);
    id_list expected;
    for (std::uint32_t i = 0; i < std::size(patterns); ++i) {
      if (topic_matches(patterns[i], topic)) expected.push_back(i);
    }
    CHECK(ids(trie.match(topic)) == expected);
    CHECK(trie.has_match(topic) == !expected.empty());
  }
}

TEST_CASE("the '$' rule: a leading wildcard does not match '$' topics") {
  topic_trie trie(cache_setting());
  trie.insert("#", r(1));
  trie.insert("+/monitor/Clients", r(2));
  trie.insert("$SYS/#", r(3));
  trie.insert("$SYS/monitor/+", r(4));
  CHECK(ids(trie.match("$SYS/monitor/Clients")) == id_list{3, 4});
  CHECK(ids(trie.match("app/monitor/Clients")) == id_list{1, 2});
  CHECK(trie.match("$other").empty());
  CHECK_FALSE(trie.has_match("$other"));
}

TEST_CASE("erase updates results already matched (and cached)") {
  topic_trie trie(cache_setting());
  trie.insert("a/+", r(1));
  trie.insert("a/b", r(2));
  trie.insert("#", r(3));
  CHECK(ids(trie.match("a/b")) == id_list{1, 2, 3});
  CHECK(trie.erase("a/+", r(1)));
  CHECK(ids(trie.match("a/b")) == id_list{2, 3});
  CHECK(trie.erase("a/b", r(2)));
  CHECK(ids(trie.match("a/b")) == id_list{3});
  CHECK(trie.erase("#", r(3)));
  CHECK(trie.match("a/b").empty());
  CHECK_FALSE(trie.has_match("a/b"));
}

TEST_CASE("insert after a matched (and cached) topic includes the new route") {
  topic_trie trie(cache_setting());
  CHECK(trie.match("x/y").empty());
  CHECK_FALSE(trie.has_match("x/y"));
  trie.insert("x/#", r(3));
  CHECK(ids(trie.match("x/y")) == id_list{3});
  trie.insert("x/y", r(4));
  CHECK(ids(trie.match("x/y")) == id_list{3, 4});
  trie.insert("x/z", r(5));
  trie.insert("+/z", r(6));
  CHECK(ids(trie.match("x/y")) == id_list{3, 4});
  CHECK(trie.has_match("x/y"));
}

TEST_CASE("the cache is bounded and counts hits and misses") {
  const auto capacity = cache_setting();
  topic_trie trie(capacity);
  trie.insert("t/+", r(1));
  for (int i = 0; i < 10000; ++i) {
    REQUIRE(ids(trie.match("t/" + std::to_string(i))) == id_list{1});
    REQUIRE(trie.stats().entries <= capacity);
  }
  CHECK(trie.stats().entries == std::min<std::size_t>(capacity, 10000));
  trie.match("t/9999");  // the newest entry survives eviction
  const auto stats = trie.stats();
  CHECK(stats.misses == (capacity == 0 ? 0 : 10000));
  CHECK(stats.hits == (capacity == 0 ? 0 : 1));
}

TEST_CASE("the same topic matched again stays exact across changes and evictions") {
  topic_trie trie(cache_setting());
  trie.insert("s/+", r(1));
  CHECK(ids(trie.match("s/x")) == id_list{1});
  CHECK(ids(trie.match("s/x")) == id_list{1});  // the last topic again
  trie.insert("s/x", r(2));
  CHECK(ids(trie.match("s/x")) == id_list{1, 2});
  CHECK(trie.erase("s/+", r(1)));
  CHECK(ids(trie.match("s/x")) == id_list{2});
  for (int i = 0; i < 8; ++i) trie.match("s/" + std::to_string(i));  // evicts s/x when tiny
  trie.insert("#", r(3));
  CHECK(ids(trie.match("s/x")) == id_list{2, 3});
  CHECK(ids(trie.match("s/x")) == id_list{2, 3});
  CHECK(ids(trie.match("s/7")) == id_list{3});
}

TEST_CASE("patterns lists every pattern with its route count, sorted") {
  topic_trie trie(cache_setting());
  trie.insert("b/c", r(1));
  trie.insert("b/c", r(2));
  trie.insert("#", r(1));
  trie.insert("a/+/d", r(1));
  trie.insert("a/+/d", r(3));
  trie.insert("a/#", r(1));
  trie.insert("/+", r(1));
  trie.insert("+/", r(1));
  trie.insert("+", r(4));
  using entry = std::pair<std::string, std::size_t>;
  const auto listing = [&trie] {
    std::vector<entry> out;
    for (const auto& [pattern, routes] : trie.patterns()) out.emplace_back(pattern, routes);
    return out;
  };
  CHECK(listing() ==
        std::vector<entry>{
            {"#", 1}, {"+", 1}, {"+/", 1}, {"/+", 1}, {"a/#", 1}, {"a/+/d", 2}, {"b/c", 2}});
  CHECK(trie.size() == 9);
  trie.erase("a/+/d", r(1));
  trie.erase("a/+/d", r(3));
  trie.erase("b/c", r(1));
  CHECK(listing() ==
        std::vector<entry>{{"#", 1}, {"+", 1}, {"+/", 1}, {"/+", 1}, {"a/#", 1}, {"b/c", 1}});
}

TEST_CASE("erasing everything leaves an empty trie") {
  topic_trie trie(cache_setting());
  const char* patterns[] = {"a/b/c/d", "a/+/c/#", "+/+/+/+", "a/b/#", "#", "+", "a//+"};
  for (const char* pattern : patterns) trie.insert(pattern, r(1));
  CHECK(trie.match("a/b/c/d").size() == 5);
  for (const char* pattern : patterns) CHECK(trie.erase(pattern, r(1)));
  CHECK(trie.size() == 0);
  CHECK(trie.patterns().empty());
  CHECK(trie.match("a/b/c/d").empty());
  CHECK_FALSE(trie.has_match("a"));
}

namespace {

// Random names over a small alphabet of levels so that patterns and topics collide often.
struct name_source {
  std::mt19937 rng{20240607};  // fixed seed: failures reproduce

  std::string pick(std::initializer_list<const char*> levels, std::size_t count) {
    std::string name;
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) name += '/';
      name += *(levels.begin() + rng() % levels.size());
    }
    return name.empty() ? "a" : name;  // a name has at least one byte
  }
  std::string topic() { return pick({"a", "b", "c", "", "$s"}, 1 + rng() % 4); }
  std::string pattern() {
    auto name = pick({"a", "b", "+", "", "$s"}, 1 + rng() % 4);
    if (rng() % 4 == 0) name = (rng() % 3 == 0) ? "#" : name + "/#";
    return name;
  }
};

using entry_list = std::vector<std::pair<std::string, route>>;

id_list brute_force(const entry_list& entries, const std::string& topic) {
  id_list out;
  for (const auto& [pattern, each] : entries) {
    if (topic_matches(pattern, topic)) out.push_back(each.id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("randomized: the trie agrees with brute-force topic_matches") {
  topic_trie trie(cache_setting());
  name_source names;
  entry_list entries;
  const auto insert_at_random = [&] {  // one draw after another: same sequence on every compiler
    const auto pattern = names.pattern();
    const auto each = r(names.rng() % 16);
    REQUIRE(check_pattern(pattern, name_limits{}) == topic_error::none);
    const bool absent =
        std::find(entries.begin(), entries.end(), std::pair{pattern, each}) == entries.end();
    CHECK(trie.insert(pattern, each) == absent);
    if (absent) entries.emplace_back(pattern, each);
  };
  const auto check_topic_at_random = [&] {
    const auto topic = names.topic();
    CAPTURE(topic);
    REQUIRE(check_topic(topic, name_limits{}) == topic_error::none);
    const auto expected = brute_force(entries, topic);
    CHECK(ids(trie.match(topic)) == expected);
    CHECK(trie.has_match(topic) == !expected.empty());
  };
  for (int i = 0; i < 1000; ++i) insert_at_random();
  for (int i = 0; i < 1000; ++i) check_topic_at_random();
  for (int step = 0; step < 3000; ++step) {
    const auto choice = names.rng() % 8;
    if (choice < 2) {
      insert_at_random();
    } else if (choice < 4 && !entries.empty()) {
      const auto at = entries.begin() + static_cast<long>(names.rng() % entries.size());
      CHECK(trie.erase(at->first, at->second));
      entries.erase(at);
    } else {
      check_topic_at_random();
    }
    REQUIRE(trie.size() == entries.size());
  }
}
