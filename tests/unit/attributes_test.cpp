// Message attributes (docs/protocol.md §4.1.1): the reserved ipc- headers, read and
// checked; records rewritten for retained delivery and dead-lettering; the retained store.
#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/retained_store.hpp"
#include "ipc/message/attributes.hpp"

using namespace ipc;
using namespace ipc::message_record;
using broker::retained_store;

namespace {

// An encoded header map and a view of it.
struct header_bytes {
  header_bytes(const header_bytes&) = delete;
  header_bytes& operator=(const header_bytes&) = delete;
  explicit header_bytes(std::vector<std::pair<std::string_view, std::string_view>> pairs)
      : pairs_(std::move(pairs)) {
    put_map(bytes, {pairs_, nullptr});
    byte_cursor in(bytes);
    view = read_map(in);
  }
  std::vector<std::pair<std::string_view, std::string_view>> pairs_;
  byte_buffer bytes;
  map_view view;
};

std::string problem_of(std::vector<std::pair<std::string_view, std::string_view>> pairs) {
  header_bytes h(std::move(pairs));
  attributes a;
  return read_attributes(h.view, a);
}

}  // namespace

TEST_CASE("attributes: retain and ttl are read, other headers are left alone") {
  header_bytes h({{"trace", "abc"}, {"ipc-retain", "1"}, {"IPC-TTL", "1500"}});
  attributes a;
  CHECK(read_attributes(h.view, a).empty());
  CHECK(a.retain);
  CHECK(a.ttl_ms == 1500);
  header_bytes off({{"ipc-retain", "false"}, {"z", "z"}});
  CHECK(read_attributes(off.view, a).empty());
  CHECK_FALSE(a.retain);
  header_bytes none({{"x", "y"}, {"z", "z"}});
  CHECK(read_attributes(none.view, a).empty());
  CHECK(a.ttl_ms == 0);
  CHECK(is_reserved("Ipc-anything"));
  CHECK_FALSE(is_reserved("ipc"));
  CHECK_FALSE(is_reserved("ipcx-ttl"));
}

TEST_CASE("attributes: bad values, unknown and broker-only keys are refused with why") {
  CHECK(problem_of({{"ipc-ttl", "0"}}).find("from 1 to") != std::string::npos);
  CHECK(problem_of({{"ipc-ttl", "-5"}}).find("'ipc-ttl'") != std::string::npos);
  CHECK(problem_of({{"ipc-ttl", "1.5"}}) != "");
  CHECK(problem_of({{"ipc-ttl", ""}}) != "");
  CHECK(problem_of({{"ipc-ttl", "31536000001"}}) != "");  // over a year
  CHECK(problem_of({{"ipc-ttl", "99999999999999999999999"}}) != "");
  CHECK(problem_of({{"ipc-ttl", "31536000000"}}).empty());
  CHECK(problem_of({{"ipc-retain", "yes"}}).find("1, 0, true or false") != std::string::npos);
  CHECK(problem_of({{"ipc-ttl", "5"}, {"ipc-ttl", "6"}}).find("twice") != std::string::npos);
  CHECK(problem_of({{"ipc-colour", "5"}}).find("unknown reserved header") != std::string::npos);
  CHECK(problem_of({{"ipc-priority", "256"}}).find("from 0 to 255") != std::string::npos);
  CHECK(problem_of({{"ipc-priority", "10"}}).empty());
  CHECK(problem_of({{"ipc-retained", "1"}}).find("set by the broker") != std::string::npos);
  CHECK(problem_of({{"ipc-death-reason", "x"}}).find("set by the broker") != std::string::npos);
}

TEST_CASE("message record: encoded in place after what the buffer holds, record_size bytes") {
  const std::vector<std::pair<std::string_view, std::string_view>> pairs{{"k", "v"}, {"key2", ""}};
  header_bytes encoded({{"a", "1"}, {"b", "2"}});
  const std::vector<std::uint8_t> payload{'x', 'y', 'z'};
  struct shape {
    map_source headers;
    std::string_view topic, reply_to;
    std::span<const std::uint8_t> payload;
  };
  for (const auto& s : {shape{{pairs, nullptr}, "a/b", "r", payload},
                        shape{{{}, &encoded.view}, "t", "", payload}, shape{{}, "t", "", {}}}) {
    byte_buffer record{0xEE, 0xEE};  // bytes already there stay
    encode_record(record, 7, 9, s.topic, s.reply_to, s.headers, s.payload);
    REQUIRE(record.size() == 2 + record_size(s.topic, s.reply_to, s.headers, s.payload.size()));
    CHECK(record[0] == 0xEE);
    // The same bytes as the field-by-field writers give.
    byte_buffer expected{0xEE, 0xEE};
    put_u64(expected, 7);
    put_u64(expected, 9);
    put_str16(expected, s.topic);
    put_str16(expected, s.reply_to);
    put_map(expected, s.headers);
    put_bytes32(expected, s.payload);
    CHECK(record == expected);
    fields f;
    REQUIRE(decode_record(std::span(record).subspan(2), f));
    CHECK(f.topic == s.topic);
    CHECK(f.reply_to == s.reply_to);
    CHECK(f.payload.size() == s.payload.size());
  }
}

TEST_CASE("attributes: a record rewritten keeps its fields and filters its headers") {
  header_bytes h({{"a", "1"}, {"ipc-ttl", "50"}, {"ipc-death-count", "2"}, {"b", "2"}});
  std::vector<std::uint8_t> payload{'p', 'q'};
  byte_buffer record;
  encode_record(record, 42, 123456789, "t/x", "re/ply", {{}, &h.view}, payload);
  fields f;
  REQUIRE(decode_record(record, f));
  const std::pair<std::string_view, std::string_view> added[] = {{"ipc-death-reason", "expired"}};
  byte_buffer out;
  encode_rewritten(out, f, kept_when_dead_lettered, added);
  fields g;
  REQUIRE(decode_record(out, g));
  CHECK(g.message_id == 42);
  CHECK(g.timestamp_ns == 123456789);
  CHECK(g.topic == "t/x");
  CHECK(g.reply_to == "re/ply");
  CHECK(std::vector<std::uint8_t>(g.payload.begin(), g.payload.end()) == payload);
  std::vector<std::string> keys;
  for (auto entry : g.headers) keys.emplace_back(entry.key);
  CHECK(keys == std::vector<std::string>{"a", "b", "ipc-death-reason"});
  CHECK(attributes_of(g.headers).ttl_ms == 0);
}

namespace {
retained_store::entry entry_of(std::size_t bytes, std::uint64_t id, std::uint64_t expires = 0) {
  static broker::message_pool pool;
  retained_store::entry e;
  e.record = pool.acquire();
  e.record.get()->buffer().assign(bytes, 'r');
  e.message_id = id;
  e.expires_at_ms = expires;
  return e;
}

std::vector<std::string> matches(const retained_store& store, std::string_view pattern,
                                 std::uint64_t now = 0) {
  std::vector<std::string> out;
  store.for_each_match(pattern, now, [&](const std::string& topic, const retained_store::entry&) {
    out.push_back(topic);
  });
  return out;
}
}  // namespace

TEST_CASE("retained_store: one per topic, replaced and cleared, bytes counted") {
  retained_store store;
  CHECK_FALSE(store.put("a/b", entry_of(10, 1)));
  auto old = store.put("a/b", entry_of(30, 2));
  REQUIRE(old);
  CHECK(old->message_id == 1);
  CHECK(store.count() == 1);
  CHECK(store.bytes() == 30);
  store.put("a/c", entry_of(5, 3));
  CHECK(store.bytes() == 35);
  CHECK(store.remove("a/b"));
  CHECK_FALSE(store.remove("a/b"));
  CHECK(store.count() == 1);
  CHECK(store.bytes() == 5);
}

TEST_CASE("retained_store: limits count a replacement as the difference") {
  retained_store store;
  store.put("a", entry_of(60, 1));
  CHECK(store.room_for("b", 40, 2, 100).empty());
  CHECK(store.room_for("b", 41, 2, 100).find("max_retained_bytes") != std::string::npos);
  CHECK(store.room_for("a", 100, 1, 100).empty());  // replaces the 60 bytes held
  store.put("b", entry_of(10, 2));
  CHECK(store.room_for("c", 1, 2, 1000).find("limits.max_retained") != std::string::npos);
  CHECK(store.room_for("a", 1, 2, 1000).empty());
}

TEST_CASE("retained_store: wildcards and the $ rule, expired entries are not matched") {
  retained_store store;
  store.put("home/kitchen/temp", entry_of(1, 1));
  store.put("home/hall/temp", entry_of(1, 2, 500));
  store.put("$SYS/broker/alarms/memory", entry_of(1, 3));
  CHECK(matches(store, "home/+/temp").size() == 2);
  CHECK(matches(store, "home/kitchen/temp") == std::vector<std::string>{"home/kitchen/temp"});
  CHECK(matches(store, "#").size() == 2);  // not the $SYS one
  CHECK(matches(store, "+/broker/#").empty());
  CHECK(matches(store, "$SYS/#").size() == 1);
  CHECK(matches(store, "home/#", 500) == std::vector<std::string>{"home/kitchen/temp"});
  std::vector<std::string> gone;
  store.expire(499,
               [&](const std::string& topic, retained_store::entry&) { gone.push_back(topic); });
  CHECK(gone.empty());
  store.expire(500,
               [&](const std::string& topic, retained_store::entry&) { gone.push_back(topic); });
  CHECK(gone == std::vector<std::string>{"home/hall/temp"});
  CHECK(store.count() == 2);
}

TEST_CASE("retained_store: a replaced message's deadline goes with it") {
  retained_store store;
  store.put("t", entry_of(1, 1, 100));
  store.put("t", entry_of(1, 2, 300));  // the deadline at 100 is no longer this topic's
  int expired = 0;
  store.expire(200, [&](const std::string&, retained_store::entry&) { ++expired; });
  CHECK(expired == 0);
  CHECK(store.count() == 1);
  store.put("t", entry_of(1, 3));  // no ttl now
  store.expire(1000, [&](const std::string&, retained_store::entry&) { ++expired; });
  CHECK(expired == 0);
  CHECK(store.count() == 1);
}
