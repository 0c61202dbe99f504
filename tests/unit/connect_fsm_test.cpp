// The client's connect_fsm without sockets: the HELLO per credentials, WELCOME or ERROR
// fed whole and at every split point, garbage, bytes after WELCOME kept, and the backoff.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "connect_fsm.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"

using namespace ipc;
using detail::backoff;
using detail::connect_fsm;

namespace {

protocol::hello_frame decode_hello(const protocol::byte_buffer& bytes, std::string& storage) {
  protocol::frame_reader reader(protocol::max_handshake_frame);
  auto space = reader.prepare();
  REQUIRE(space.size() >= bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  reader.commit(bytes.size());
  protocol::raw_frame frame;
  protocol::errc error{};
  REQUIRE(reader.next(frame, error) == protocol::read_status::frame);
  storage.assign(frame.body.begin(), frame.body.end());
  protocol::hello_frame hello;
  protocol::raw_frame kept{frame.type,
                           {reinterpret_cast<const std::uint8_t*>(storage.data()), storage.size()}};
  REQUIRE(protocol::decode(kept, hello) == protocol::errc::ok);
  return hello;
}

// The HELLO a connect_fsm with `options` opens with, decoded.
protocol::hello_frame hello_of(const client_options& options, std::string& storage) {
  connect_fsm fsm(options);
  protocol::byte_buffer out;
  fsm.hello(out);
  return decode_hello(out, storage);
}

// Feeds `bytes` to the fsm in pieces of `piece` bytes; returns the final state.
connect_fsm::state feed(connect_fsm& fsm, const protocol::byte_buffer& bytes, std::size_t piece) {
  std::size_t at = 0;
  while (at < bytes.size() && fsm.current() == connect_fsm::state::awaiting_welcome) {
    auto space = fsm.prepare();
    std::size_t n = std::min({piece, space.size(), bytes.size() - at});
    std::memcpy(space.data(), bytes.data() + at, n);
    at += n;
    fsm.commit(n);
  }
  return fsm.current();
}

protocol::byte_buffer welcome(std::uint64_t id, std::uint32_t max_payload) {
  protocol::byte_buffer out;
  std::pair<std::string_view, std::string_view> props[] = {{"server", "ipcd/test"},
                                                           {"user", "alice"}};
  protocol::encode_welcome(out, id, max_payload, props);
  return out;
}

}  // namespace

TEST_CASE("connect_fsm: the HELLO carries the configured credentials") {
  client_options options;
  options.client_name = "tester";
  std::string storage;
  std::string_view value;
  auto hello = hello_of(options, storage);
  CHECK(hello.mechanism == "anonymous");
  REQUIRE(hello.properties.find("client_name", value));
  CHECK(value == "tester");
  options.user = "alice";
  options.password = "pw";
  hello = hello_of(options, storage);
  CHECK(hello.mechanism == "password");
  REQUIRE(hello.properties.find("password", value));
  CHECK(value == "pw");
  options.token = "tok";  // a token wins over a password
  hello = hello_of(options, storage);
  CHECK(hello.mechanism == "token");
  REQUIRE(hello.properties.find("token", value));
  CHECK(value == "tok");
  CHECK_FALSE(hello.properties.find("password", value));
}

TEST_CASE("connect_fsm: WELCOME at every split point makes it ready") {
  client_options options;
  auto bytes = welcome(42, 1 << 20);
  for (std::size_t piece = 1; piece <= bytes.size(); ++piece) {
    connect_fsm fsm(options);
    REQUIRE(feed(fsm, bytes, piece) == connect_fsm::state::ready);
    CHECK(fsm.connection_id() == 42);
    CHECK(fsm.max_payload() == 1u << 20);
    CHECK(fsm.take_reader() != nullptr);
  }
}

TEST_CASE("connect_fsm: bytes after WELCOME stay in the reader it hands over") {
  client_options options;
  auto bytes = welcome(7, 1024);
  protocol::encode_ping(bytes, 99);  // the broker's next frame, in the same read
  connect_fsm fsm(options);
  REQUIRE(feed(fsm, bytes, bytes.size()) == connect_fsm::state::ready);
  auto reader = fsm.take_reader();
  protocol::raw_frame frame;
  protocol::errc error{};
  REQUIRE(reader->next(frame, error) == protocol::read_status::frame);
  CHECK(frame.type == protocol::frame_type::ping);
}

TEST_CASE("connect_fsm: an ERROR or garbage fails with the reason") {
  client_options options;
  protocol::byte_buffer refused;
  protocol::encode_error(refused, protocol::errc::auth_failed, 0, true, "authentication failed");
  for (std::size_t piece : {std::size_t{1}, std::size_t{3}, refused.size()}) {
    connect_fsm fsm(options);
    REQUIRE(feed(fsm, refused, piece) == connect_fsm::state::failed);
    CHECK(fsm.error() == make_error_code(protocol::errc::auth_failed));
    CHECK(fsm.message() == "authentication failed");
  }
  connect_fsm garbage(options);
  protocol::byte_buffer http{'H', 'T', 'T', 'P', '/', '1', '.', '1', ' ', '2', '0', '0'};
  CHECK(feed(garbage, http, http.size()) == connect_fsm::state::failed);
  CHECK(garbage.error() == make_error_code(protocol::errc::frame_too_large));
  connect_fsm wrong_frame(options);  // a frame other than WELCOME or ERROR first
  protocol::byte_buffer ok;
  protocol::encode_ok(ok, 1);
  CHECK(feed(wrong_frame, ok, ok.size()) == connect_fsm::state::failed);
  CHECK(wrong_frame.error() == make_error_code(protocol::errc::malformed_frame));
}

TEST_CASE("backoff doubles from min to max and starts again after reset") {
  using std::chrono::milliseconds;
  backoff delays(milliseconds(100), milliseconds(500));
  CHECK(delays.next() == milliseconds(100));
  CHECK(delays.next() == milliseconds(200));
  CHECK(delays.next() == milliseconds(400));
  CHECK(delays.next() == milliseconds(500));
  CHECK(delays.next() == milliseconds(500));
  delays.reset();
  CHECK(delays.next() == milliseconds(100));
}

TEST_CASE("connect_fsm: shared memory is asked for only when told, and taken only when asked") {
  client_options options;
  std::string storage;
  std::string_view value;
  CHECK_FALSE(hello_of(options, storage).properties.find("shm", value));
  connect_fsm asking(options, true);
  protocol::byte_buffer out;
  asking.hello(out);
  auto hello = decode_hello(out, storage);
  REQUIRE(hello.properties.find("shm", value));
  CHECK(value == "1");
  REQUIRE(hello.properties.find("shm_token", value));  // it can open a named segment
  CHECK(value == "1");

  protocol::byte_buffer agreed;
  std::pair<std::string_view, std::string_view> props[] = {
      {"server", "ipcd/test"}, {"shm", "1"}, {"shm_token", "Local\\ipcd-shm-0"}};
  protocol::encode_welcome(agreed, 3, 1024, props);
  REQUIRE(feed(asking, agreed, 1) == connect_fsm::state::ready);
  CHECK(asking.shared_memory());
  CHECK(asking.shm_token() == "Local\\ipcd-shm-0");  // handed to the transport as it is
  connect_fsm not_asking(options);  // a broker's shm=1 without our asking is ignored
  REQUIRE(feed(not_asking, agreed, agreed.size()) == connect_fsm::state::ready);
  CHECK_FALSE(not_asking.shared_memory());
  connect_fsm declined(options, true);  // a WELCOME without it: stay on the socket
  auto plain = welcome(4, 1024);
  REQUIRE(feed(declined, plain, plain.size()) == connect_fsm::state::ready);
  CHECK_FALSE(declined.shared_memory());
  CHECK(declined.shm_refusal().empty());  // the listener does not allow it

  protocol::byte_buffer refused;  // allowed, but the broker could not make the rings
  std::pair<std::string_view, std::string_view> refused_props[] = {
      {"server", "ipcd/test"}, {"shm_error", "memfd_create: Too many open files"}};
  protocol::encode_welcome(refused, 5, 1024, refused_props);
  connect_fsm refused_fsm(options, true);
  REQUIRE(feed(refused_fsm, refused, 1) == connect_fsm::state::ready);
  CHECK_FALSE(refused_fsm.shared_memory());
  CHECK(refused_fsm.shm_refusal() == "memfd_create: Too many open files");
  connect_fsm unasked(options);  // a reason for a switch not asked for is ignored
  REQUIRE(feed(unasked, refused, refused.size()) == connect_fsm::state::ready);
  CHECK(unasked.shm_refusal().empty());
}
