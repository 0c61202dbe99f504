// Protocol codec: every frame round-trips; the reader is fed byte by byte, at every
// split point and whole (DESIGN rule 9); malformed input gives the documented errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"

using namespace ipc::protocol;

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string text_of(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

struct copied_frame {
  frame_type type;
  std::vector<std::uint8_t> body;
};

// Feeds `input` in chunks of the given sizes (the last repeats), returns every frame.
std::vector<copied_frame> feed(const byte_buffer& input, std::size_t chunk,
                               std::size_t first_chunk = 0, errc* error_out = nullptr) {
  frame_reader reader(1024 * 1024, 64);
  std::vector<copied_frame> frames;
  std::size_t at = 0;
  bool first = true;
  while (at < input.size()) {
    std::size_t want = first && first_chunk ? first_chunk : chunk;
    first = false;
    auto space = reader.prepare();
    std::size_t n = std::min({want, space.size(), input.size() - at});
    std::copy_n(input.begin() + static_cast<std::ptrdiff_t>(at), n, space.begin());
    reader.commit(n);
    at += n;
    raw_frame frame;
    errc error{};
    read_status status;
    while ((status = reader.next(frame, error)) == read_status::frame)
      frames.push_back({frame.type, {frame.body.begin(), frame.body.end()}});
    if (status == read_status::error) {
      if (error_out) *error_out = error;
      break;
    }
  }
  return frames;
}

byte_buffer sample_stream() {
  byte_buffer out;
  std::pair<std::string_view, std::string_view> props[] = {{"client_name", "t"}, {"user", "u"}};
  encode_hello(out, "anonymous", props);
  encode_subscribe(out, 7, 3, "a/+/c");
  std::pair<std::string_view, std::string_view> hdrs[] = {{"k", "v"}};
  encode_publish(out, 9, "a/b/c", "inbox/1", {hdrs, nullptr}, bytes_of("payload bytes"));
  encode_ping(out, 42);
  encode_admin(out, 5, "status", "{}");
  encode_publish(out, 0, "x", "", {}, bytes_of(std::string(300, 'z')));
  return out;
}

}  // namespace

TEST_CASE("hello round-trips with its properties") {
  byte_buffer out;
  std::pair<std::string_view, std::string_view> props[] = {{"client_name", "demo"}};
  encode_hello(out, "anonymous", props);
  auto frames = feed(out, out.size());
  REQUIRE(frames.size() == 1);
  hello_frame hello;
  REQUIRE(decode({frames[0].type, frames[0].body}, hello) == errc::ok);
  CHECK(hello.min_version == 1);
  CHECK(hello.max_version == 1);
  CHECK(hello.mechanism == "anonymous");
  std::string_view name;
  CHECK(hello.properties.find("client_name", name));
  CHECK(name == "demo");
  CHECK(hello.properties.size() == 1);
}

TEST_CASE("publish, message body and prefixes round-trip") {
  byte_buffer out;
  std::pair<std::string_view, std::string_view> hdrs[] = {{"a", "1"}, {"bb", "22"}};
  encode_publish(out, 11, "t/1", "r/2", {hdrs, nullptr}, bytes_of("hello"));
  publish_frame publish;
  auto frames = feed(out, 1);
  REQUIRE(frames.size() == 1);
  REQUIRE(decode({frames[0].type, frames[0].body}, publish) == errc::ok);
  CHECK(publish.id == 11);
  CHECK(publish.topic == "t/1");
  CHECK(publish.reply_to == "r/2");
  CHECK(text_of(publish.payload) == "hello");
  CHECK(publish.headers.size() == 2);
  CHECK(publish.headers.content_bytes() == 6);

  // The broker copies the encoded headers through unchanged into a message body.
  byte_buffer body;
  encode_message_body(body, 99, 1234, publish.topic, publish.reply_to, {{}, &publish.headers},
                      publish.payload);
  byte_buffer message(message_prefix_size);
  write_message_prefix(message.data(), 17, body.size());
  message.insert(message.end(), body.begin(), body.end());
  auto delivered = feed(message, 3);
  REQUIRE(delivered.size() == 1);
  message_frame m;
  REQUIRE(decode({delivered[0].type, delivered[0].body}, m) == errc::ok);
  CHECK(m.sid == 17);
  CHECK(m.body.message_id == 99);
  CHECK(m.body.timestamp_ns == 1234);
  CHECK(m.body.topic == "t/1");
  std::string_view value;
  CHECK(m.body.headers.find("bb", value));
  CHECK(value == "22");
  CHECK(text_of(m.body.payload) == "hello");
}

TEST_CASE("a request round-trips every field, with headers and without") {
  byte_buffer out;
  std::pair<std::string_view, std::string_view> hdrs[] = {{"ipc-correlation", "c-7"}};
  encode_request(out, 21, request_target::topic, "svc/echo", 1500, {hdrs, nullptr},
                 bytes_of("ask"));
  encode_request(out, 22, request_target::queue, "jobs", 0, {}, bytes_of(""));
  auto frames = feed(out, 1);
  REQUIRE(frames.size() == 2);
  request_frame r;
  REQUIRE(decode({frames[0].type, frames[0].body}, r) == errc::ok);
  CHECK(r.id == 21);
  CHECK(r.target_kind == request_target::topic);
  CHECK(r.target == "svc/echo");
  CHECK(r.timeout_ms == 1500);
  std::string_view value;
  CHECK(r.headers.find("ipc-correlation", value));
  CHECK(value == "c-7");
  CHECK(r.headers.size() == 1);
  CHECK(text_of(r.payload) == "ask");
  REQUIRE(decode({frames[1].type, frames[1].body}, r) == errc::ok);
  CHECK(r.id == 22);
  CHECK(r.target_kind == request_target::queue);
  CHECK(r.target == "jobs");
  CHECK(r.timeout_ms == 0);
  CHECK(r.headers.size() == 0);
  CHECK(r.payload.empty());
}

TEST_CASE("deliver and response prefixes frame the shared body") {
  byte_buffer body;
  encode_message_body(body, 1, 2, "q", "", {}, bytes_of("x"));
  byte_buffer deliver(deliver_prefix_size);
  write_deliver_prefix(deliver.data(), 4, 5, 6, body.size());
  deliver.insert(deliver.end(), body.begin(), body.end());
  byte_buffer response(response_prefix_size);
  write_response_prefix(response.data(), 8, body.size());
  response.insert(response.end(), body.begin(), body.end());
  auto frames = feed(deliver, 64);
  auto more = feed(response, 64);
  REQUIRE(frames.size() == 1);
  REQUIRE(more.size() == 1);
  deliver_frame d;
  REQUIRE(decode({frames[0].type, frames[0].body}, d) == errc::ok);
  CHECK(d.cid == 4);
  CHECK(d.delivery_tag == 5);
  CHECK(d.delivery_count == 6);
  response_frame r;
  REQUIRE(decode({more[0].type, more[0].body}, r) == errc::ok);
  CHECK(r.id == 8);
  CHECK(text_of(r.body.payload) == "x");
}

TEST_CASE("every other frame type round-trips") {
  byte_buffer out;
  encode_welcome(out, 77, 1024, {});
  encode_error(out, errc::invalid_topic, 3, true, "bad topic");
  encode_ok(out, 4, 5);
  encode_unsubscribe(out, 6, 7);
  encode_send(out, 8, "jobs", "", {}, bytes_of("j"));
  encode_consume(out, 9, 10, "jobs", 11, consume_flag_no_ack);
  encode_cancel(out, 12, 13);
  encode_ack(out, 14);
  encode_nack(out, 15, nack_disposition::dead_letter);
  encode_request(out, 16, request_target::queue, "svc", 500, {}, bytes_of("q"));
  encode_admin_result(out, 17, 0, "{\"a\":1}");
  encode_pong(out, 18);
  auto frames = feed(out, 5);
  REQUIRE(frames.size() == 12);
  auto view = [&](std::size_t i) { return raw_frame{frames[i].type, frames[i].body}; };
  welcome_frame w;
  REQUIRE(decode(view(0), w) == errc::ok);
  CHECK(w.connection_id == 77);
  CHECK(w.max_payload == 1024);
  error_frame e;
  REQUIRE(decode(view(1), e) == errc::ok);
  CHECK(e.code == static_cast<std::uint16_t>(errc::invalid_topic));
  CHECK(e.ref == 3);
  CHECK(e.fatal);
  CHECK(e.message == "bad topic");
  ok_frame ok;
  REQUIRE(decode(view(2), ok) == errc::ok);
  CHECK(ok.value == 5);
  unsubscribe_frame u;
  REQUIRE(decode(view(3), u) == errc::ok);
  CHECK(u.sid == 7);
  send_frame s;
  REQUIRE(decode(view(4), s) == errc::ok);
  CHECK(s.queue == "jobs");
  consume_frame c;
  REQUIRE(decode(view(5), c) == errc::ok);
  CHECK(c.prefetch == 11);
  CHECK(c.flags == consume_flag_no_ack);
  cancel_frame cancel;
  REQUIRE(decode(view(6), cancel) == errc::ok);
  CHECK(cancel.cid == 13);
  ack_frame a;
  REQUIRE(decode(view(7), a) == errc::ok);
  CHECK(a.delivery_tag == 14);
  nack_frame n;
  REQUIRE(decode(view(8), n) == errc::ok);
  CHECK(n.disposition == nack_disposition::dead_letter);
  request_frame r;
  REQUIRE(decode(view(9), r) == errc::ok);
  CHECK(r.target_kind == request_target::queue);
  CHECK(r.timeout_ms == 500);
  admin_result_frame ar;
  REQUIRE(decode(view(10), ar) == errc::ok);
  CHECK(ar.body == "{\"a\":1}");
  ping_frame p;
  REQUIRE(decode(view(11), p) == errc::ok);
  CHECK(p.token == 18);
}

TEST_CASE("a stream of frames decodes the same whole, byte by byte and at every split") {
  byte_buffer input = sample_stream();
  auto whole = feed(input, input.size());
  REQUIRE(whole.size() == 6);
  CHECK(whole[0].type == frame_type::hello);
  CHECK(whole[5].type == frame_type::publish);
  auto same = [&](const std::vector<copied_frame>& frames) {
    if (frames.size() != whole.size()) return false;
    for (std::size_t i = 0; i < frames.size(); ++i)
      if (frames[i].type != whole[i].type || frames[i].body != whole[i].body) return false;
    return true;
  };
  CHECK(same(feed(input, 1)));
  for (std::size_t split = 1; split < input.size(); ++split)
    CHECK_MESSAGE(same(feed(input, input.size(), split)), "split at " << split);
}

TEST_CASE("framing errors") {
  SUBCASE("zero length is malformed") {
    errc error{};
    auto frames = feed({0, 0, 0, 0}, 4, 0, &error);
    CHECK(frames.empty());
    CHECK(error == errc::malformed_frame);
  }
  SUBCASE("a length over the maximum fails as soon as the prefix arrives") {
    frame_reader reader(1000, 64);
    auto space = reader.prepare();
    std::uint8_t prefix[] = {0xFF, 0xFF, 0xFF, 0xF0};
    std::copy(std::begin(prefix), std::end(prefix), space.begin());
    reader.commit(4);
    raw_frame frame;
    errc error{};
    CHECK(reader.next(frame, error) == read_status::error);
    CHECK(error == errc::frame_too_large);
    CHECK(reader.capacity() <= 64);  // nothing was allocated for the claimed size
    CHECK(reader.next(frame, error) == read_status::error);  // and it stays failed
  }
  SUBCASE("unknown frame type") {
    errc error{};
    feed({0, 0, 0, 1, 0x7F}, 5, 0, &error);
    CHECK(error == errc::unknown_frame_type);
  }
  SUBCASE("a partial frame is not an error yet") {
    byte_buffer out;
    encode_ping(out, 1);
    out.pop_back();
    errc error = errc::ok;
    CHECK(feed(out, 1, 0, &error).empty());
    CHECK(error == errc::ok);
  }
}

TEST_CASE("body decoding rejects truncation, trailing bytes and bad enums") {
  byte_buffer out;
  encode_publish(out, 1, "a", "", {}, bytes_of("xyz"));
  auto frames = feed(out, out.size());
  REQUIRE(frames.size() == 1);
  auto body = frames[0].body;
  publish_frame p;
  for (std::size_t cut = 0; cut < body.size(); ++cut) {
    std::vector<std::uint8_t> shorter(body.begin(),
                                      body.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK(decode({frame_type::publish, shorter}, p) == errc::malformed_frame);
  }
  auto longer = body;
  longer.push_back(0);
  CHECK(decode({frame_type::publish, longer}, p) == errc::malformed_frame);
  CHECK(decode({frame_type::subscribe, body}, p) == errc::malformed_frame);  // wrong type

  byte_buffer nack;
  encode_nack(nack, 1, nack_disposition::drop);
  nack.back() = 9;
  auto nack_frames = feed(nack, nack.size());
  nack_frame n;
  CHECK(decode({nack_frames[0].type, nack_frames[0].body}, n) == errc::malformed_frame);

  byte_buffer hello;
  encode_hello(hello, "anonymous", {});
  hello[5] = 'X';  // the magic
  auto hello_frames = feed(hello, hello.size());
  hello_frame h;
  CHECK(decode({hello_frames[0].type, hello_frames[0].body}, h) == errc::malformed_frame);
}

TEST_CASE("a map whose entries run past the body is malformed") {
  // subscribe-shaped body is fine; build a publish whose header count lies.
  byte_buffer out;
  std::pair<std::string_view, std::string_view> hdrs[] = {{"k", "v"}};
  encode_publish(out, 1, "a", "", {hdrs, nullptr}, bytes_of("p"));
  auto frames = feed(out, out.size());
  auto body = frames[0].body;
  // id(4) topic(2+1) reply(2) -> map count at offset 9
  body[9] = 0;
  body[10] = 200;
  publish_frame p;
  CHECK(decode({frame_type::publish, body}, p) == errc::malformed_frame);
}

TEST_CASE("reader memory stays bounded by the frame limit") {
  frame_reader reader(4096, 1024);
  byte_buffer out;
  for (int i = 0; i < 100; ++i)
    encode_publish(out, 0, "t", "", {}, bytes_of(std::string(3000, 'p')));
  std::size_t at = 0, frames = 0;
  while (at < out.size()) {
    auto space = reader.prepare();
    std::size_t n = std::min(space.size(), out.size() - at);
    std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(at), n, space.begin());
    reader.commit(n);
    at += n;
    raw_frame frame;
    errc error{};
    while (reader.next(frame, error) == read_status::frame) ++frames;
    CHECK(reader.capacity() <= 4096 + 4 + 1024);
  }
  CHECK(frames == 100);
}

TEST_CASE("error codes have names and messages") {
  CHECK(errc_name(static_cast<std::uint16_t>(errc::no_responders)) == "no_responders");
  CHECK(errc_name(9999) == "unknown");
  std::error_code ec = errc::slow_consumer;
  CHECK(ec.category().name() == std::string("ipc"));
  CHECK(ec.message().find("slow consumer") != std::string::npos);
  for (std::uint16_t code = 0; code <= max_errc_value; ++code) CHECK(errc_name(code) != "unknown");
}

TEST_CASE("reader memory starts small, grows while reads fill it, and shrinks when idle") {
  frame_reader reader(1024 * 1024, 64 * 1024, 1024);
  CHECK(reader.capacity() == 0);  // nothing before the first read
  CHECK(reader.prepare().size() == 1024);
  // A busy peer: every read fills what it is offered, so reads double up to 64 KiB.
  byte_buffer stream;
  for (int i = 0; i < 2000; ++i)
    encode_publish(stream, 0, "t", "", {}, bytes_of(std::string(100, 'p')));
  std::size_t at = 0, frames = 0, largest = 0;
  raw_frame frame;
  errc error{};
  while (at < stream.size()) {
    auto space = reader.prepare();
    largest = std::max(largest, space.size());
    std::size_t n = std::min(space.size(), stream.size() - at);
    std::copy_n(stream.begin() + static_cast<std::ptrdiff_t>(at), n, space.begin());
    reader.commit(n);
    at += n;
    while (reader.next(frame, error) == read_status::frame) ++frames;
  }
  CHECK(frames == 2000);
  CHECK(largest >= 64 * 1024);
  CHECK(reader.capacity() >= 64 * 1024);
  // Then lone PINGs (small reads) that leave the buffer empty: a burst's pause keeps the
  // buffer; several small reads in a row bring it back to 1 KiB.
  byte_buffer ping;
  encode_ping(ping, 1);
  for (std::uint32_t i = 1; i <= frame_reader::small_reads_to_shrink; ++i) {
    auto space = reader.prepare();
    std::copy(ping.begin(), ping.end(), space.begin());
    reader.commit(ping.size());
    REQUIRE(reader.next(frame, error) == read_status::frame);
    CHECK(reader.next(frame, error) == read_status::need_more);
    if (i < frame_reader::small_reads_to_shrink) CHECK(reader.capacity() >= 64 * 1024);
  }
  CHECK(reader.capacity() == 0);
  CHECK(reader.prepare().size() == 1024);
  CHECK(reader.capacity() <= 2 * 1024);
}
