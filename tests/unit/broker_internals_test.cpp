// Sans-I/O broker pieces: the session state machine, output coalescing, the body pool.
#include <doctest/doctest.h>

#include "core/log_limiter.hpp"
#include "core/memory_gauge.hpp"
#include "core/message.hpp"
#include "core/message_pool.hpp"
#include "frontends/native/session_fsm.hpp"
#include "frontends/output_queue.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"

using namespace ipc;
using broker::body_ref;
using broker::memory_gauge;
using broker::message_pool;
using broker::output_queue;
using broker::session_fsm;
using broker::session_state;
using protocol::errc;
using protocol::frame_type;

namespace {
protocol::hello_frame hello(std::string_view mechanism, std::uint16_t min = 1,
                            std::uint16_t max = 1) {
  protocol::hello_frame h;
  h.min_version = min;
  h.max_version = max;
  h.mechanism = mechanism;
  return h;
}
std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }
}  // namespace

TEST_CASE("session_fsm admits only HELLO first, then never again") {
  session_fsm fsm;
  CHECK(fsm.state() == session_state::awaiting_hello);
  CHECK(fsm.admit(frame_type::publish) == errc::handshake_required);
  CHECK(fsm.admit(frame_type::ping) == errc::handshake_required);
  CHECK(fsm.admit(frame_type::hello) == errc::ok);
  auto result = fsm.on_hello(hello("anonymous"));
  CHECK(result.error == errc::ok);
  CHECK(fsm.state() == session_state::open);
  CHECK(fsm.admit(frame_type::hello) == errc::handshake_required);
  CHECK(fsm.admit(frame_type::publish) == errc::ok);
  CHECK(fsm.admit(frame_type::admin) == errc::ok);
  for (auto broker_only :
       {frame_type::welcome, frame_type::message, frame_type::deliver, frame_type::ok,
        frame_type::error, frame_type::response, frame_type::admin_result})
    CHECK(fsm.admit(broker_only) == errc::unknown_frame_type);
  fsm.close();
  CHECK(fsm.admit(frame_type::publish) == errc::shutting_down);
}

TEST_CASE("session_fsm negotiates the version (mechanisms are the authenticator's)") {
  {
    session_fsm fsm;
    CHECK(fsm.on_hello(hello("anonymous", 1, 5)).error == errc::ok);  // a range containing 1
  }
  {
    session_fsm fsm;
    CHECK(fsm.on_hello(hello("anonymous", 2, 3)).error == errc::unsupported_version);
    CHECK(fsm.state() == session_state::closed);
  }
  {
    session_fsm fsm;
    CHECK(fsm.on_hello(hello("anonymous", 1, 0)).error == errc::unsupported_version);
  }
  {
    session_fsm fsm;
    CHECK(fsm.on_hello(hello("password")).error == errc::ok);
  }
}

TEST_CASE("output_queue coalesces small appends and keeps body references in order") {
  message_pool pool;
  auto gauge = std::make_shared<memory_gauge>();
  output_queue queue(gauge);
  queue.append(bytes("ab"));
  queue.append(bytes("cd"));
  auto body = pool.acquire();
  body.get()->buffer() = bytes("BODY");
  queue.append(body);
  queue.append(bytes("ef"));
  CHECK(queue.pending_bytes() == 2 + 2 + 4 + 2);
  output_queue::batch batch;
  queue.take(batch);
  CHECK(queue.empty());
  CHECK(batch.bytes == 10);
  REQUIRE(batch.segments.size() == 2);  // "abcd"+BODY, then "ef"
  CHECK(batch.segments[0].scratch_end - batch.segments[0].scratch_begin == 4);
  CHECK(batch.segments[0].body.bytes().size() == 4);
  CHECK(!batch.segments[1].body);
  std::string flat(batch.scratch.begin(), batch.scratch.end());
  CHECK(flat == "abcdef");
  // Releasing the batch returns the body to the pool once the last reference goes.
  body.reset();
  CHECK(pool.idle() == 0);
  CHECK(gauge->held() == 10);  // written or not, a batch is held until released
  queue.release(batch);
  CHECK(gauge->held() == 0);
  CHECK(pool.idle() == 1);
}

TEST_CASE("output_queue reuses its buffers across batches") {
  auto gauge = std::make_shared<memory_gauge>();
  output_queue queue(gauge);
  output_queue::batch batch;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 100; ++i) queue.append(bytes("0123456789"));
    queue.take(batch);
    CHECK(batch.bytes == 1000);
    CHECK(batch.segments.size() == 1);  // all coalesced into one iovec
    CHECK(gauge->held() == 1000);       // the previous batch was released by take()
  }
  std::uint8_t* at = queue.extend(3);
  at[0] = 'x';
  CHECK(queue.pending_bytes() == 3);
  queue.clear();
  CHECK(queue.empty());
  CHECK(gauge->held() == 1000);
  queue.release(batch);
  CHECK(gauge->held() == 0);
}

TEST_CASE("memory_gauge: on past the limit, off at 90 % of it, and a new limit applies at once") {
  memory_gauge gauge;
  int flips = 0;
  gauge.on_change([&] { ++flips; });
  gauge.add(5000);
  CHECK_FALSE(gauge.alarm());  // no limit: never on
  gauge.set_limit(1000);
  CHECK(gauge.alarm());
  CHECK(flips == 1);
  gauge.release(4000);  // 1000: at the limit, still above the low mark
  CHECK(gauge.alarm());
  gauge.release(99);  // 901
  CHECK(gauge.alarm());
  gauge.release(1);  // 900: the low mark
  CHECK_FALSE(gauge.alarm());
  CHECK(flips == 2);
  gauge.add(100);  // 1000: at the limit is not over it
  CHECK_FALSE(gauge.alarm());
  gauge.add(1);
  CHECK(gauge.alarm());
  CHECK(gauge.alarms() == 2);
  gauge.set_limit(0);  // switched off: the alarm clears
  CHECK_FALSE(gauge.alarm());
  gauge.release(5000);  // more than held: clamps at 0
  CHECK(gauge.held() == 0);
}

TEST_CASE("message_pool recycles bodies and bounds what it keeps") {
  message_pool pool(2, 1024);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    auto c = pool.acquire();
    a.get()->buffer().assign(10, 1);
    c.get()->buffer().assign(4096, 1);  // too large to keep
    auto copy = a;                      // two references to one body
    a.reset();
    CHECK(pool.idle() == 0);
  }
  // a (via copy) and b come back; c's 4 KiB buffer is over the 1 KiB it may keep.
  CHECK(pool.idle() == 2);
  auto again = pool.acquire();
  CHECK(pool.idle() == 1);
  CHECK(again.bytes().empty());  // cleared, capacity kept
  {
    message_pool small(1, 1024);
    auto x = small.acquire();
    auto y = small.acquire();
    x.reset();
    y.reset();
    CHECK(small.idle() == 1);  // never more than max_free idle bodies
  }
}

TEST_CASE("log_limiter lets a burst through per period and reports what it held back") {
  using ipc::broker::log_limiter;
  log_limiter limiter(3, std::chrono::seconds(1));
  auto t0 = log_limiter::clock::time_point{} + std::chrono::hours(1);
  std::uint64_t suppressed = 99;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += limiter.allow(t0, suppressed) ? 1 : 0;
  CHECK(allowed == 3);
  CHECK(suppressed == 0);  // the lines let through so far followed nothing held back
  CHECK_FALSE(limiter.allow(t0 + std::chrono::milliseconds(999), suppressed));
  REQUIRE(limiter.allow(t0 + std::chrono::seconds(1), suppressed));
  CHECK(suppressed == 98);
  CHECK(log_limiter::note(suppressed) == " (98 more like it not logged)");
  CHECK(log_limiter::note(0).empty());
  REQUIRE(limiter.allow(t0 + std::chrono::seconds(1), suppressed));
  CHECK(suppressed == 0);
}

TEST_CASE("a record built from a PUBLISH's fields in one piece equals one built field by field") {
  const std::pair<std::string_view, std::string_view> headers[] = {{"k", "v"}, {"ipc-ttl", "5"}};
  for (const std::string_view reply_to : {"", "re/ply"}) {
    for (const std::size_t header_count : {0, 2}) {
      CAPTURE(reply_to);
      CAPTURE(header_count);
      protocol::byte_buffer frame_bytes;
      const auto payload = bytes("payload");
      protocol::encode_publish(frame_bytes, 9, "a/b", reply_to, {{headers, header_count}, nullptr},
                               payload);
      protocol::frame_reader reader(1 << 20);
      auto space = reader.prepare();
      REQUIRE(space.size() >= frame_bytes.size());
      std::copy(frame_bytes.begin(), frame_bytes.end(), space.begin());
      reader.commit(frame_bytes.size());
      protocol::raw_frame frame;
      errc error = errc::ok;
      REQUIRE(reader.next(frame, error) == protocol::read_status::frame);
      protocol::publish_frame publish;
      REQUIRE(protocol::decode(frame, publish) == errc::ok);
      broker::message_in by_field{
          publish.topic, publish.reply_to, publish.headers, publish.payload, {}};
      broker::message_in in_one = by_field;
      in_one.wire_fields = publish.record_fields;  // as session::on_publish passes them
      REQUIRE(broker::record_size(in_one) == broker::record_size(by_field));
      std::vector<std::uint8_t> expected(broker::record_size(by_field)), got(expected.size());
      broker::encode_record_at(expected.data(), 1234, 5678, by_field);
      broker::encode_record_at(got.data(), 1234, 5678, in_one);
      CHECK(got == expected);
    }
  }
}
