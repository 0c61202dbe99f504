// One suite over every transport of the platform (DESIGN §1): the platform's local
// transport (Unix sockets, or named pipes on Windows) and TCP, through the transport
// library's listen() and connect() alone, with no broker.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_future.hpp>

#include "ipc/transport/shm_ring.hpp"
#include "ipc/transport/stream.hpp"
#include "local_url.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

using namespace ipc;

namespace {

struct local_transport {
  static std::string url(const test::temp_dir& dir) { return test::local_test_url(dir); }
  static constexpr bool has_pid = true;
#ifdef _WIN32
  static constexpr bool writes_now = false;  // a pipe write always goes through the port
#else
  static constexpr bool writes_now = true;
#endif
};
struct tcp_transport {
  static std::string url(const test::temp_dir&) { return "tcp://127.0.0.1:0"; }
  static constexpr bool has_pid = false;
  static constexpr bool writes_now = true;
};

// An io_context on its own thread; run(awaitable) runs a coroutine there and waits.
class io_thread {
 public:
  io_thread() : work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~io_thread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  template <class T>
  T run(asio::awaitable<T> body) {
    return asio::co_spawn(io_, std::move(body), asio::use_future).get();
  }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
};

std::unique_ptr<transport::acceptor> listen_on(io_thread& io, const std::string& text) {
  auto parsed = transport::parse_url(text);
  REQUIRE(parsed.value);
  transport::listen_error error;
  auto acceptor = transport::listen(io.io().get_executor(), *parsed.value, {}, error);
  REQUIRE_MESSAGE(acceptor, error.message);
  return acceptor;
}

// Reads exactly `size` bytes (or until an error).
asio::awaitable<std::string> read_exactly(transport::stream& s, std::size_t size,
                                          std::error_code& ec) {
  std::string out(size, '\0');
  std::size_t have = 0;
  while (have < size && !ec)
    have += co_await s.read_some(asio::buffer(out.data() + have, size - have), ec);
  out.resize(have);
  co_return out;
}

// Writes all of `payload` in one call (through a 4 KiB ring it waits for space many times).
asio::awaitable<void> write_all(transport::stream& s, const std::string& payload) {
  std::error_code ec;
  std::vector<asio::const_buffer> all{asio::buffer(payload)};
  co_await s.write(all, ec);
}

// The coroutines are plain functions, and what they write is a named vector: GCC 12
// rejects a braced list passed along a co_await ("array used as initializer").

// Echoes everything `s` reads, `chunk_size` bytes at most at a time, until it fails.
asio::awaitable<void> echo_stream(transport::stream& s, std::size_t chunk_size) {
  std::error_code ec;
  std::vector<char> chunk(chunk_size);
  for (;;) {
    auto n = co_await s.read_some(asio::buffer(chunk), ec);
    if (ec) co_return;
    std::vector<asio::const_buffer> out{asio::buffer(chunk.data(), n)};
    co_await s.write(out, ec);
    if (ec) co_return;
  }
}

// Echoes everything it reads on the first connection.
asio::awaitable<void> echo_server(transport::acceptor& acceptor) {
  std::error_code ec;
  auto s = co_await acceptor.accept(ec);
  if (s) co_await echo_stream(*s, 65536);
}

asio::awaitable<std::string> echo_client(transport::url where, const std::string& payload) {
  std::error_code ec;
  auto client = co_await transport::connect(where, ec);
  if (!client) co_return "connect failed: " + ec.message();
  // Writes and reads interleave, a piece smaller than a pipe's 64 KiB buffer at a time,
  // so that neither side waits for the other to read.
  std::string back;
  constexpr std::size_t piece_size = 16 * 1024;
  for (std::size_t at = 0; at < payload.size(); at += piece_size) {
    auto piece = std::string_view(payload).substr(at, piece_size);
    std::vector<asio::const_buffer> out{asio::buffer(piece.data(), piece.size())};
    co_await client->write(out, ec);
    back += co_await read_exactly(*client, piece.size(), ec);
    if (ec) co_return "failed: " + ec.message();
  }
  client->close();
  co_return back;
}

// Answers one byte with that byte plus one.
asio::awaitable<void> increment_one(std::shared_ptr<transport::stream> s,
                                    std::atomic<int>& served) {
  char byte = 0;
  std::error_code ec;
  co_await s->read_some(asio::buffer(&byte, 1), ec);
  if (ec) co_return;
  ++byte;
  std::vector<asio::const_buffer> out{asio::buffer(&byte, 1)};
  co_await s->write(out, ec);
  ++served;
}

asio::awaitable<void> increment_server(asio::io_context& io, transport::acceptor& acceptor,
                                       int count, std::atomic<int>& served) {
  for (int i = 0; i < count; ++i) {
    std::error_code ec;
    std::shared_ptr<transport::stream> s = co_await acceptor.accept(ec);
    if (!s) co_return;
    asio::co_spawn(io, increment_one(s, served), asio::detached);
  }
}

// Connects `count` clients first, then has each send a byte; counts the right answers.
asio::awaitable<int> increment_clients(transport::url where, int count) {
  std::vector<std::unique_ptr<transport::stream>> open;
  for (int i = 0; i < count; ++i) {
    std::error_code ec;
    auto s = co_await transport::connect(where, ec);
    if (!s) co_return -1;
    open.push_back(std::move(s));
  }
  int right = 0;
  for (int i = 0; i < count; ++i) {
    std::error_code ec;
    char byte = static_cast<char>(i);
    auto& s = *open[static_cast<std::size_t>(i)];
    std::vector<asio::const_buffer> out{asio::buffer(&byte, 1)};
    co_await s.write(out, ec);
    auto back = co_await read_exactly(s, 1, ec);
    if (!ec && back.size() == 1 && back[0] == static_cast<char>(i + 1)) ++right;
  }
  co_return right;
}

struct close_outcome {
  std::error_code read_error;
  transport::peer_info peer;
  bool connected = false;
};

asio::awaitable<close_outcome> close_and_read(transport::acceptor& acceptor, transport::url where) {
  close_outcome out;
  std::error_code ec;
  auto client = co_await transport::connect(where, ec);
  if (!client) co_return out;
  char byte = 'x';
  std::vector<asio::const_buffer> first{asio::buffer(&byte, 1)};
  co_await client->write(first, ec);
  auto server_side = co_await acceptor.accept(ec);
  if (!server_side) co_return out;
  out.connected = true;
  co_await read_exactly(*server_side, 1, ec);  // a first byte (pipes identify after it)
  out.peer = server_side->peer();
  client->close();
  char more = 0;
  co_await server_side->read_some(asio::buffer(&more, 1), out.read_error);
  co_return out;
}

struct write_now_outcome {
  std::size_t taken = 0;  // by write_now() calls until one took nothing
  int calls = 0;          // how many it made
  std::string received;   // what the other end read of the whole payload
  std::error_code error;
};

// `writer` offers all of `payload` to write_now() until the transport takes no more
// (nobody reads yet), write() sends the rest while `reader` reads it all.
asio::awaitable<write_now_outcome> write_now_then_write(transport::stream& writer,
                                                        transport::stream& reader,
                                                        const std::string& payload) {
  write_now_outcome out;
  for (;;) {
    std::vector<asio::const_buffer> rest{asio::buffer(payload) + out.taken};
    std::size_t n = writer.write_now(rest, out.error);
    ++out.calls;
    out.taken += n;
    if (n == 0 || out.error || out.taken == payload.size()) break;
  }
  if (out.error) co_return out;
  // The rest goes while the reader reads; its write must end before the streams do.
  auto rest = std::make_shared<std::string>(payload.substr(out.taken));
  auto written = std::make_shared<bool>(false);
  auto executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, write_all(writer, *rest),
                 [rest, written](std::exception_ptr) { *written = true; });
  out.received = co_await read_exactly(reader, payload.size(), out.error);
  asio::steady_timer wait(executor);
  for (int i = 0; i < 500 && !*written; ++i) {
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::use_awaitable);
  }
  if (!*written) out.error = std::make_error_code(std::errc::timed_out);
  co_return out;
}

asio::awaitable<write_now_outcome> write_now_on(transport::acceptor& acceptor, transport::url where,
                                                const std::string& payload) {
  std::error_code ec;
  auto client = co_await transport::connect(where, ec);
  if (!client) co_return write_now_outcome{0, 0, {}, ec};
  std::string greeting = "H";  // a pipe identifies its client after its first bytes
  std::vector<asio::const_buffer> hello{asio::buffer(greeting)};
  co_await client->write(hello, ec);
  auto server_side = co_await acceptor.accept(ec);
  if (!server_side) co_return write_now_outcome{0, 0, {}, ec};
  co_await read_exactly(*server_side, 1, ec);
  co_return co_await write_now_then_write(*server_side, *client, payload);
}

asio::awaitable<bool> try_connect(transport::url where, std::error_code& ec) {
  auto s = co_await transport::connect(where, ec);
  co_return s != nullptr;
}

}  // namespace

TEST_CASE_TEMPLATE("transport: bytes go both ways, in order, whole", T, local_transport,
                   tcp_transport) {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_on(io, T::url(dir));
  // 2 MiB each way: many reads and writes, none lost or reordered.
  std::string payload(2 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  asio::co_spawn(io.io(), echo_server(*acceptor), asio::detached);
  auto result = io.run(echo_client(acceptor->local_url(), payload));
  CHECK(result.size() == payload.size());
  CHECK(result == payload);
  acceptor->close();
}

TEST_CASE_TEMPLATE("transport: many clients at once, each its own stream", T, local_transport,
                   tcp_transport) {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_on(io, T::url(dir));
  constexpr int clients = 32;
  std::atomic<int> served{0};
  asio::co_spawn(io.io(), increment_server(io.io(), *acceptor, clients, served), asio::detached);
  CHECK(io.run(increment_clients(acceptor->local_url(), clients)) == clients);
  CHECK(served.load() == clients);
  acceptor->close();
}

TEST_CASE_TEMPLATE("transport: the peer closing ends reads, the peer is described", T,
                   local_transport, tcp_transport) {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_on(io, T::url(dir));
  auto outcome = io.run(close_and_read(*acceptor, acceptor->local_url()));
  REQUIRE(outcome.connected);
  CHECK(outcome.read_error);  // end of stream (or reset): never a byte
  CHECK(!outcome.peer.address.empty());
  if (T::has_pid) CHECK(outcome.peer.pid.has_value());
  acceptor->close();
}

TEST_CASE_TEMPLATE("transport: write_now takes what fits without waiting, write sends the rest", T,
                   local_transport, tcp_transport) {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_on(io, T::url(dir));
  std::string payload(16 * 1024 * 1024, '\0');  // more than any socket buffer
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  auto result = io.run(write_now_on(*acceptor, acceptor->local_url(), payload));
  CHECK_FALSE(result.error);
  CHECK(result.taken < payload.size());  // it returned when the buffer was full
  if (T::writes_now) {
    CHECK(result.taken > 0);
    CHECK(result.calls >= 2);  // the last one took nothing
  } else {
    CHECK(result.taken == 0);
  }
  CHECK(result.received.size() == payload.size());
  CHECK(result.received == payload);
  acceptor->close();
}

TEST_CASE_TEMPLATE("transport: connecting where nobody listens fails", T, local_transport,
                   tcp_transport) {
  test::temp_dir dir;
  io_thread io;
  transport::url where;
  {
    auto acceptor = listen_on(io, T::url(dir));
    where = acceptor->local_url();
    acceptor->close();
  }
  std::error_code ec;
  CHECK(!io.run(try_connect(where, ec)));
  CHECK(ec);
}

namespace {

// What went wrong on the I/O thread, for the test thread to report: assertions stay on
// the test thread (doctest's per-thread state on a thread that then exits has crashed the
// mingw build under Wine).
class problems {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    list_ += what + "\n";
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    return list_;
  }

 private:
  mutable std::mutex mutex_;
  std::string list_;
};
problems switch_problems;

// Shared memory (docs/shared-memory.md) at the stream level: as in the handshake, the
// client speaks first ('H': on a pipe the server learns the client's account from its
// first bytes); the server reads it, offers, and
// writes 'S', the token's length and the token (what the client needs besides the bytes:
// "" on Linux, a segment name on Windows) as the bytes before the switch; the client
// reads them and accepts.
asio::awaitable<std::unique_ptr<transport::stream>> accept_switched(transport::acceptor& acceptor,
                                                                    std::error_code& ec) {
  auto s = co_await acceptor.accept(ec);
  if (!s) co_return nullptr;
  if (co_await read_exactly(*s, 1, ec) != "H") {
    switch_problems.add("no greeting before the offer");
    co_return nullptr;
  }
  std::string token, error;
#ifdef _WIN32
  // A pipe's segment is named in the handshake: never offered to a client that cannot
  // open it by name.
  if (s->can_offer_shared_memory(false)) switch_problems.add("offered without a token");
#else
  if (!s->can_offer_shared_memory(false))  // the descriptors travel with the bytes
    switch_problems.add("not offered to a client that takes no token");
#endif
  if (!s->can_offer_shared_memory(true) || !s->offer_shared_memory(token, error) ||
      token.size() > 255) {
    switch_problems.add("no shared memory offered: " + error);
    ec = std::make_error_code(std::errc::not_supported);
    co_return nullptr;
  }
  std::string before = "S" + std::string(1, static_cast<char>(token.size())) + token;
  if (!s->switch_shared_memory_after(before.size()))
    switch_problems.add("the switch point was refused");
  std::vector<asio::const_buffer> out{asio::buffer(before)};
  co_await s->write(out, ec);
  co_return s;
}

asio::awaitable<std::unique_ptr<transport::stream>> connect_switched(transport::url where,
                                                                     std::error_code& ec) {
  transport::connect_options options;
  options.shm.enabled = true;
  auto s = co_await transport::connect(where, options, ec);
  if (!s) co_return nullptr;
  std::string greeting = "H";
  std::vector<asio::const_buffer> hello{asio::buffer(greeting)};
  co_await s->write(hello, ec);
  if (ec) co_return nullptr;
  auto marker = co_await read_exactly(*s, 2, ec);
  if (ec || marker.size() != 2 || marker[0] != 'S') co_return nullptr;
  auto token = co_await read_exactly(*s, static_cast<unsigned char>(marker[1]), ec);
  if (ec) co_return nullptr;
  std::string error;
  ec = s->accept_shared_memory(token, error);
  if (ec) {
    switch_problems.add("the switch failed: " + ec.message() + ": " + error);
    co_return nullptr;
  }
  co_return s;
}

asio::awaitable<void> shm_echo_server(transport::acceptor& acceptor) {
  std::error_code ec;
  auto s = co_await accept_switched(acceptor, ec);
  if (s) co_await echo_stream(*s, 3000);  // smaller than the ring: reads and writes interleave
}

struct shm_outcome {
  std::string echoed, after_close;
  bool on_shm = false;
  std::error_code end;
};

asio::awaitable<shm_outcome> shm_echo_client(transport::url where, const std::string& payload) {
  shm_outcome out;
  std::error_code ec;
  auto client = co_await connect_switched(where, ec);
  if (!client) co_return out;
  out.on_shm = client->on_shared_memory();
  asio::co_spawn(co_await asio::this_coro::executor, write_all(*client, payload), asio::detached);
  out.echoed = co_await read_exactly(*client, payload.size(), ec);
  out.end = ec;
  client->close();
  co_return out;
}

// The client writes, then closes at once; the server reads what was written, then the end.
asio::awaitable<void> write_and_leave(transport::url where) {
  std::error_code ec;
  auto client = co_await connect_switched(where, ec);
  if (!client) co_return;
  std::string last = "goodbye";
  std::vector<asio::const_buffer> bye{asio::buffer(last)};
  co_await client->write(bye, ec);
}

asio::awaitable<shm_outcome> read_after_peer_left(transport::acceptor& acceptor,
                                                  transport::url where) {
  shm_outcome out;
  std::error_code ec;
  asio::co_spawn(co_await asio::this_coro::executor, write_and_leave(where), asio::detached);
  auto server_side = co_await accept_switched(acceptor, ec);
  if (!server_side) co_return out;
  out.after_close = co_await read_exactly(*server_side, 7, ec);
  char more = 0;
  co_await server_side->read_some(asio::buffer(&more, 1), out.end);
  co_return out;
}

std::unique_ptr<transport::acceptor> listen_shm(
    io_thread& io, const test::temp_dir& dir,
    std::uint32_t ring_bytes = transport::shm::min_ring_bytes) {
  auto parsed = transport::parse_url(test::local_test_url(dir));
  REQUIRE(parsed.value);
  transport::listen_options options;
  options.shm = {true, ring_bytes, 0};
  transport::listen_error error;
  auto acceptor = transport::listen(io.io().get_executor(), *parsed.value, options, error);
  REQUIRE_MESSAGE(acceptor, error.message);
  return acceptor;
}

}  // namespace

TEST_CASE("transport: a local stream switched to shared memory carries bytes both ways") {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_shm(io, dir);
  std::string payload(3 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  asio::co_spawn(io.io(), shm_echo_server(*acceptor), asio::detached);
  auto result = io.run(shm_echo_client(acceptor->local_url(), payload));
  CHECK(result.on_shm);
  CHECK_FALSE(result.end);
  CHECK(result.echoed.size() == payload.size());
  CHECK(result.echoed == payload);
  CHECK_MESSAGE(switch_problems.text().empty(), switch_problems.text());
  acceptor->close();
}

namespace {
struct client_side {  // shared: the client's coroutine may outlive the test's on failure
  std::unique_ptr<transport::stream> stream;
  std::error_code ec;
  std::atomic<bool> done{false};
};

// A plain function, not a lambda: GCC 12 destroys a coroutine lambda's captures twice.
asio::awaitable<void> connect_into(std::shared_ptr<client_side> client, transport::url where) {
  client->stream = co_await connect_switched(where, client->ec);
  client->done = true;
}

asio::awaitable<write_now_outcome> write_now_on_shm(transport::acceptor& acceptor,
                                                    transport::url where,
                                                    const std::string& payload) {
  auto client = std::make_shared<client_side>();
  asio::co_spawn(co_await asio::this_coro::executor, connect_into(client, where), asio::detached);
  std::error_code ec;
  auto server_side = co_await accept_switched(acceptor, ec);
  asio::steady_timer wait(co_await asio::this_coro::executor);
  for (int i = 0; i < 500 && !client->done; ++i) {  // the client's side of the switch
    wait.expires_after(std::chrono::milliseconds(10));
    co_await wait.async_wait(asio::use_awaitable);
  }
  if (!server_side || !client->stream || !client->stream->on_shared_memory())
    co_return write_now_outcome{0, 0, {}, std::make_error_code(std::errc::not_connected)};
  co_return co_await write_now_then_write(*server_side, *client->stream, payload);
}
}  // namespace

TEST_CASE("transport: over shared memory, write_now takes what the ring holds") {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_shm(io, dir);
  std::string payload(64 * 1024, '\0');  // sixteen 4 KiB rings' worth
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 % 253);
  auto result = io.run(write_now_on_shm(*acceptor, acceptor->local_url(), payload));
  CHECK_FALSE(result.error);
  CHECK(result.taken == transport::shm::min_ring_bytes);  // the ring, then nothing
  CHECK(result.calls == 2);
  CHECK(result.received == payload);
  CHECK_MESSAGE(switch_problems.text().empty(), switch_problems.text());
  acceptor->close();
}

#ifndef _WIN32  // the ring phase is the same code on Windows, where this would take long
namespace {
struct flood_outcome {
  std::size_t read = 0;            // bytes the reader took in all
  std::size_t when_timer_ran = 0;  // bytes it had taken when its thread's timer ran
  bool timer_ran = false;
  std::error_code error;
};

// Reads `total` bytes 64 at a time from a peer that keeps the ring full, with a 5 ms timer
// armed on the same thread.
asio::awaitable<flood_outcome> read_flood(transport::stream& s, std::size_t total) {
  flood_outcome out;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(5));
  timer.async_wait([&out](std::error_code ec) {
    if (ec) return;  // cancelled below: this coroutine may be gone, `out` with it
    out.timer_ran = true;
    out.when_timer_ran = out.read;
  });
  char chunk[64];
  while (out.read < total && !out.error)
    out.read += co_await s.read_some(asio::buffer(chunk), out.error);
  if (!out.timer_ran) {  // it runs now that the reader yields, if not before
    timer.cancel();
    out.when_timer_ran = out.read;
  }
  co_return out;
}
}  // namespace

TEST_CASE("transport: over shared memory, a reader whose ring stays full still yields its thread") {
  // Bytes read from a ring without waiting are handed over after the thread ran what else
  // was ready, as a socket read's are: a peer that keeps its ring full must not hold up
  // every other connection and timer of the reader's thread.
  test::temp_dir dir;
  io_thread reader_io, writer_io;
  auto acceptor = listen_shm(reader_io, dir, 1024 * 1024);
  auto client = std::make_shared<client_side>();
  asio::co_spawn(writer_io.io(), connect_into(client, acceptor->local_url()), asio::detached);
  std::error_code ec;
  auto server_side = reader_io.run(accept_switched(*acceptor, ec));
  REQUIRE(server_side);
  REQUIRE(test::wait_until([&] { return client->done.load(); }));  // the client's side
  REQUIRE(client->stream);
  REQUIRE(client->stream->on_shared_memory());
  std::string payload(16 * 1024 * 1024, 'f');  // the writer, on its own thread, runs ahead
  auto written =
      asio::co_spawn(writer_io.io(), write_all(*client->stream, payload), asio::use_future);
  auto result = reader_io.run(read_flood(*server_side, payload.size()));
  written.get();
  CHECK_FALSE(result.error);
  CHECK(result.read == payload.size());
  CHECK(result.when_timer_ran < payload.size());  // the timer ran while the flood went on
  CHECK_MESSAGE(switch_problems.text().empty(), switch_problems.text());
  // Each stream ends on its own thread.
  asio::post(writer_io.io(), asio::use_future([client] { client->stream.reset(); })).get();
  asio::post(reader_io.io(), asio::use_future([&] { server_side.reset(); })).get();
  acceptor->close();
}
#endif

TEST_CASE("transport: over shared memory, bytes written before the peer left are read first") {
  test::temp_dir dir;
  io_thread io;
  auto acceptor = listen_shm(io, dir);
  auto result = io.run(read_after_peer_left(*acceptor, acceptor->local_url()));
  CHECK(result.after_close == "goodbye");
  CHECK(result.end == asio::error::eof);
  CHECK_MESSAGE(switch_problems.text().empty(), switch_problems.text());
  acceptor->close();
}
