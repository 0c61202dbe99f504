// client_core: connection establishment, read/write loops, answers and reconnection.
#include "client_core.hpp"

#include "connect_fsm.hpp"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace ipc::detail {

namespace {
// The request timer stays armed, this far ahead when no request is open. Asio (1.22) puts
// a timer that waits for ever (the writer's idle wait) in its heap like any other and
// tells the kernel (timerfd_settime) whenever it becomes the earliest: with a finite
// timer always ahead of it, the writer's waits cost no system call.
constexpr auto idle_timer_horizon = std::chrono::hours(1);
}  // namespace

using protocol::errc;
using protocol::frame_type;

client_core::client_core(asio::any_io_executor executor, client_options options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      wake_(executor_),
      request_timer_(executor_) {
  wake_.expires_at(asio::steady_timer::time_point::max());
  if (options_.url.empty()) options_.url = default_url();
  auto parsed = transport::parse_url(options_.url);
  if (parsed.value)
    url_ = *parsed.value;
  else
    url_error_ = parsed.error;
}

std::uint32_t client_core::next_id() {
  if (++last_id_ == 0) ++last_id_;  // 0 means "no answer wanted"
  return last_id_;
}

void client_core::set_state(connection_state state, std::error_code ec) {
  state_ = state;
  if (options_.on_state) options_.on_state(state, ec);
}

void client_core::connect(unique_function<void(std::error_code)> done) {
  if (!url_error_.empty()) return done(make_error_code(errc::invalid_argument));
  if (state_ == connection_state::connected) return done({});
  if (connecting_) return done(asio::error::already_started);
  closed_ = false;
  asio::co_spawn(executor_, run_connection(shared_from_this(), std::move(done)), asio::detached);
}

asio::awaitable<void> client_core::run_connection(self_ptr self,
                                                  unique_function<void(std::error_code)> done) {
  connecting_ = true;
  set_state(connection_state::connecting);
  std::error_code ec;
  std::shared_ptr<transport::stream> stream;
  std::unique_ptr<protocol::frame_reader> reader;
  for (;;) {
    {
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(executor_, options_.connect_timeout);
      transport::connect_options connection{options_.tls_ca,
                                            options_.tls_cert,
                                            options_.tls_key,
                                            {ask_shared_memory(), 0, options_.shm_spin_us}};
      auto outcome = co_await (transport::connect(url_, connection, ec) ||
                               timer.async_wait(asio::use_awaitable));
      if (outcome.index() == 1)
        ec = make_error_code(errc::timeout);
      else
        stream = std::move(std::get<0>(outcome));
    }
    bool shm_failed = false;
    if (!ec && stream) ec = co_await handshake(*stream, reader, shm_failed);
    // A segment this process cannot take (docs/shared-memory.md §5: another session, a
    // restricted token): unix:// and npipe:// connect once more and stay on the socket
    // from then on; shm:// insists, and fails.
    if (!shm_failed || shm_declined_ || url_.kind == transport::scheme::shm || closed_) break;
    shm_declined_ = true;
    stream->close();
    stream.reset();
    ec.clear();
  }
  if (closed_ && !ec) ec = asio::error::operation_aborted;
  connecting_ = false;
  if (ec) {
    if (stream) stream->close();
    if (!closed_) set_state(connection_state::disconnected, ec);
    done(ec);
    co_return;
  }
  stream_ = stream;
  reader_ = std::move(reader);  // only now: a failed attempt never touches the live reader
  in_flight_.clear();
  in_flight_held_ = write_deferred_ = false;
  auto gen = ++generation_;
  ever_connected_ = true;
  last_broker_error_ = {};
  set_state(connection_state::connected);
  asio::co_spawn(executor_, read_loop(self, stream, gen), asio::detached);
  asio::co_spawn(executor_, write_loop(self, stream, gen), asio::detached);
  resubscribe();
  if (request_timer_at_ == std::chrono::steady_clock::time_point::max())
    arm_request_timer(std::chrono::steady_clock::now() + idle_timer_horizon);
  done({});
}

asio::awaitable<std::error_code> client_core::handshake(
    transport::stream& stream, std::unique_ptr<protocol::frame_reader>& reader, bool& shm_failed) {
  // The rules are connect_fsm's; this only reads and writes.
  connect_fsm fsm(options_, ask_shared_memory());
  protocol::byte_buffer hello;
  fsm.hello(hello);
  std::error_code ec;
  std::vector<asio::const_buffer> buffers(1, asio::buffer(hello));
  co_await stream.write(buffers, ec);
  // A broker refusing us (e.g. limits.max_connections) may have sent its ERROR and closed
  // before our HELLO went out: read what it said before reporting the write failure.
  std::error_code write_error = ec;
  while (fsm.current() == connect_fsm::state::awaiting_welcome) {
    auto space = fsm.prepare();
    std::size_t n = co_await stream.read_some(asio::buffer(space.data(), space.size()), ec);
    if (ec) co_return write_error ? write_error : ec;
    fsm.commit(n);
  }
  if (fsm.current() == connect_fsm::state::failed) {
    last_error_message_ = fsm.message();
    co_return fsm.error();
  }
  if (fsm.shared_memory()) {
    std::string why;
    if (auto failed = stream.accept_shared_memory(fsm.shm_token(), why)) {
      last_error_message_ = "the broker's switch to shared memory failed: " + why;
      shm_failed = true;
      co_return failed;
    }
  } else if (url_.kind == transport::scheme::shm) {
    last_error_message_ = "the broker did not switch to shared memory: ";
    if (!fsm.shm_refusal().empty())
      last_error_message_ += fsm.shm_refusal();
    else
      last_error_message_ += "its listener at " + transport::local_url_of(url_).to_string() +
                             " does not allow it (listener option \"shm\")";
    co_return make_error_code(errc::not_implemented);
  }
  connection_id_ = fsm.connection_id();
  max_payload_ = fsm.max_payload();
  reader = fsm.take_reader();
  co_return std::error_code{};
}

bool client_core::ask_shared_memory() const {
  return url_.kind == transport::scheme::shm || ((url_.kind == transport::scheme::unix_socket ||
                                                  url_.kind == transport::scheme::named_pipe) &&
                                                 options_.shared_memory && !shm_declined_);
}

asio::awaitable<void> client_core::read_loop([[maybe_unused]] self_ptr self,  // keeps us alive

                                             std::shared_ptr<transport::stream> stream,
                                             std::uint64_t gen) {
  std::error_code ec;
  protocol::raw_frame frame;
  errc error = errc::ok;
  // Frames that arrived with the WELCOME are already buffered: parse before reading.
  while (gen == generation_) {
    auto status = reader_->next(frame, error);
    if (status == protocol::read_status::frame) {
      // What handlers queue (a reply, the next request) is written once all the frames
      // this read brought are handled, at once rather than by waking the writer.
      struct input_scope {
        bool& flag;
        explicit input_scope(bool& f) : flag(f) { flag = true; }
        ~input_scope() { flag = false; }
      } scope(handling_input_);
      handle_frame(frame);
      continue;
    }
    write_deferred(*stream);
    if (status == protocol::read_status::error) {
      lost(gen, make_error_code(error));
      co_return;
    }
    auto space = reader_->prepare();
    std::size_t n = co_await stream->read_some(asio::buffer(space.data(), space.size()), ec);
    if (gen != generation_) co_return;
    if (ec) {
      lost(gen, ec);
      co_return;
    }
    reader_->commit(n);
  }
}

asio::awaitable<void> client_core::write_loop([[maybe_unused]] self_ptr self,  // keeps us alive

                                              std::shared_ptr<transport::stream> stream,
                                              std::uint64_t gen) {
  std::error_code ec;
  std::vector<asio::const_buffer> buffers(1);
  while (gen == generation_) {
    if (!in_flight_held_) {
      if (out_.empty()) {
        writer_waiting_ = true;
        co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        writer_waiting_ = false;
        continue;
      }
      std::swap(out_, in_flight_);
      in_flight_written_ = 0;
    }
    in_flight_held_ = false;  // the rest of what write_deferred() began, or all of it
    buffers[0] = asio::buffer(in_flight_) + in_flight_written_;
    co_await stream->write(buffers, ec);
    if (gen != generation_) co_return;
    in_flight_.clear();
    if (saying_goodbye_ && (ec || out_.empty())) {
      finish_close();
      co_return;
    }
    if (ec) {
      lost(gen, ec);
      co_return;
    }
  }
}

void client_core::wake_waiting_writer() {
  if (!saying_goodbye_) {
    if (handling_input_) {
      write_deferred_ = true;  // read_loop writes it once this read's frames are handled
      return;
    }
    // Shared memory with spinning, the broker polling its ring: what was queued outside a
    // handler goes into the ring now, not at the writer's next turn (a round through the
    // event loop between a publish and its first byte on the way).
    if (stream_ && stream_->writes_at_once()) {
      write_deferred_ = true;
      return write_deferred(*stream_);
    }
  }
  start_writer();
}

void client_core::start_writer() {
  if (writer_waiting_) {
    writer_waiting_ = false;
    wake_.cancel();
  }
}

void client_core::write_deferred(transport::stream& stream) {
  if (!std::exchange(write_deferred_, false) || !writer_waiting_ || out_.empty()) return;
  if (!saying_goodbye_) {
    std::swap(out_, in_flight_);
    std::error_code ec;
    write_now_buffers_[0] = asio::buffer(in_flight_);
    std::size_t n = stream.write_now(write_now_buffers_, ec);
    if (!ec && n == in_flight_.size()) {
      in_flight_.clear();
      return;
    }
    in_flight_held_ = true;  // the writer sends the rest (and meets the error, if any)
    in_flight_written_ = n;
  }
  start_writer();
}

void client_core::handle_frame(const protocol::raw_frame& frame) {
  switch (frame.type) {
    case frame_type::message: {
      protocol::message_frame m;
      if (protocol::decode(frame, m) != errc::ok)
        return lost(generation_, make_error_code(errc::malformed_frame));
      if (found_subscription_ == nullptr || found_sid_ != m.sid) {
        auto found = subscriptions_.find(m.sid);
        if (found == subscriptions_.end()) return;  // unsubscribed meanwhile
        found_sid_ = m.sid;
        found_subscription_ = found->second.get();
      }
      return run_handler(*found_subscription_, message(m.body, m.sid));
    }
    case frame_type::ok: {
      protocol::ok_frame ok;
      if (protocol::decode(frame, ok) == errc::ok) answer(ok.ref, {}, &frame);
      return;
    }
    case frame_type::admin_result: {
      protocol::admin_result_frame result;
      if (protocol::decode(frame, result) == errc::ok) answer(result.id, {}, &frame);
      return;
    }
    case frame_type::pong: {
      protocol::ping_frame pong;
      if (protocol::decode(frame, pong) == errc::ok)
        answer(static_cast<std::uint32_t>(pong.token), {}, &frame);
      return;
    }
    case frame_type::ping: {
      protocol::ping_frame ping;
      if (protocol::decode(frame, ping) == errc::ok) protocol::encode_pong(out_, ping.token);
      wake_writer();
      return;
    }
    case frame_type::deliver: return dispatch_delivery(frame);
    case frame_type::response: {
      protocol::response_frame response;
      if (protocol::decode(frame, response) == errc::ok) answer(response.id, {}, &frame);
      return;
    }
    case frame_type::error: return handle_error_frame(frame);
    default: return;  // frames of later features this client does not use
  }
}

void client_core::handle_error_frame(const protocol::raw_frame& frame) {
  protocol::error_frame e;
  if (protocol::decode(frame, e) != errc::ok) return;
  auto ec = make_error_code(static_cast<errc>(e.code));
  last_error_message_ = std::string(e.message);
  if (e.ref != 0 && pending_.contains(e.ref)) return answer(e.ref, ec, &frame);
  if (e.fatal) {
    last_broker_error_ = ec;
  } else if (options_.on_error) {
    options_.on_error(ec, e.message);
  }
}

void client_core::answer(std::uint32_t id, std::error_code ec, const protocol::raw_frame* frame) {
  auto found = pending_.find(id);
  if (found == pending_.end()) return;
  // Moved out before the call: a handler must not run where the map keeps it (an Asio
  // handler may still use its own storage after resuming its coroutine).
  auto done = std::move(found->second.done);
  if (found->second.deadline != std::chrono::steady_clock::time_point::max()) --deadlines_;
  pending_.erase(found);
  done(ec, frame);
}

void client_core::fail_pending(std::error_code ec) {
  auto pending = std::move(pending_);
  pending_.clear();
  deadlines_ = 0;
  request_timer_at_ = std::chrono::steady_clock::time_point::max();
  request_timer_.cancel();  // armed again by the next connection: no work left behind
  for (auto& [id, waiting] : pending) waiting.done(ec, nullptr);
}

void client_core::expect_by(std::uint32_t id, std::chrono::steady_clock::time_point deadline) {
  // One timer for every request: armed at the earliest deadline, never re-armed for a
  // later one and never cancelled by an answer, so that a request costs no timer system
  // call; when it fires it times out what is due and waits for the next deadline.
  auto found = pending_.find(id);
  if (found == pending_.end()) return;
  if (found->second.deadline == std::chrono::steady_clock::time_point::max()) ++deadlines_;
  found->second.deadline = deadline;
  if (deadline < request_timer_at_) arm_request_timer(deadline);
}

void client_core::arm_request_timer(std::chrono::steady_clock::time_point deadline) {
  request_timer_at_ = deadline;
  request_timer_.expires_at(deadline);
  std::weak_ptr<client_core> weak = shared_from_this();
  request_timer_.async_wait([weak](std::error_code e) {
    auto self = weak.lock();
    if (e || !self) return;  // re-armed for an earlier deadline, or gone
    if (self->request_timer_at_ == std::chrono::steady_clock::time_point::max()) return;
    self->on_request_timer();  // (max: cancelled by fail_pending after it had fired)
  });
}

void client_core::on_request_timer() {
  request_timer_at_ = std::chrono::steady_clock::time_point::max();
  auto now = std::chrono::steady_clock::now();
  std::vector<std::uint32_t> due;
  if (deadlines_ != 0)
    for (const auto& [id, waiting] : pending_)
      if (waiting.deadline <= now) due.push_back(id);
  for (auto id : due) answer(id, make_error_code(errc::timeout), nullptr);
  // The callbacks may have sent requests (and armed the timer) or closed the client.
  if (closed_ || state_ != connection_state::connected ||
      request_timer_at_ != std::chrono::steady_clock::time_point::max())
    return;
  auto next = now + idle_timer_horizon;
  if (deadlines_ != 0)
    for (const auto& [id, waiting] : pending_) next = std::min(next, waiting.deadline);
  arm_request_timer(next);
}

void client_core::lost(std::uint64_t gen, std::error_code ec) {
  if (gen != generation_) return;
  ++generation_;
  if (stream_) stream_->close();
  stream_.reset();
  out_.clear();
  in_flight_.clear();  // never resent on the next connection
  in_flight_held_ = write_deferred_ = false;
  start_writer();  // the old writer sees the new generation and ends
  std::error_code reason = last_broker_error_ ? last_broker_error_ : ec;
  fail_pending(make_error_code(errc::not_connected));
  if (closed_) return;
  set_state(connection_state::disconnected, reason);
  if (!closed_ && options_.auto_reconnect && ever_connected_)  // on_state may have closed us
    asio::co_spawn(executor_, reconnect_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> client_core::reconnect_loop(self_ptr self) {
  backoff delays(options_.reconnect_min, options_.reconnect_max);
  asio::steady_timer timer(executor_);
  while (!closed_ && state_ != connection_state::connected) {
    timer.expires_after(delays.next());
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (closed_ || state_ == connection_state::connected) co_return;
    if (connecting_) continue;  // the application is connecting: see how that ends
    bool done_called = false;
    std::error_code result;
    co_await run_connection(self, [&](std::error_code e) {
      done_called = true;
      result = e;
    });
    if (done_called && !result) co_return;
  }
}

std::error_code client_core::publish(std::string_view topic, std::string_view payload,
                                     const headers& hdrs, std::string_view reply_to,
                                     std::uint32_t id) {
  if (state_ != connection_state::connected) return make_error_code(errc::not_connected);
  if (payload.size() > max_payload_) return make_error_code(errc::payload_too_large);
  if (topic.empty() || topic.size() > 65535 || reply_to.size() > 65535)
    return make_error_code(errc::invalid_topic);
  if (out_.size() > options_.max_pending_bytes) return make_error_code(errc::limit_exceeded);
  std::span<const std::uint8_t> bytes{reinterpret_cast<const std::uint8_t*>(payload.data()),
                                      payload.size()};
  if (hdrs.empty()) {  // most messages
    protocol::encode_publish(out_, id, topic, reply_to, {}, bytes);
  } else {
    std::error_code ec;
    auto pairs = header_pairs(hdrs, ec);
    if (ec) return ec;
    protocol::encode_publish(out_, id, topic, reply_to, {pairs, nullptr}, bytes);
  }
  wake_writer();
  return {};
}

void client_core::subscribe(std::string pattern, message_handler handler,
                            unique_function<void(std::error_code, std::uint32_t)> done) {
  if (state_ != connection_state::connected) return done(make_error_code(errc::not_connected), 0);
  if (pattern.empty() || pattern.size() > 65535)
    return done(make_error_code(errc::invalid_pattern), 0);
  std::uint32_t sid = ++last_sid_;
  subscriptions_.emplace(
      sid, std::make_shared<subscription_entry>(subscription_entry{pattern, std::move(handler)}));
  call([&](protocol::byte_buffer& out,
           std::uint32_t id) { protocol::encode_subscribe(out, id, sid, pattern); },
       [this, sid, done = std::move(done)](std::error_code ec, const protocol::raw_frame*) mutable {
         if (ec) erase_entry(subscriptions_, sid);
         done(ec, ec ? 0 : sid);
       });
}

void client_core::resubscribe() {
  for (const auto& [cid, entry] : consumers_) {
    std::uint8_t flags = entry->options.no_ack ? protocol::consume_flag_no_ack : 0;
    call(
        [&](protocol::byte_buffer& out, std::uint32_t id) {
          protocol::encode_consume(out, id, cid, entry->queue, entry->options.prefetch, flags);
        },
        [this](std::error_code ec, const protocol::raw_frame*) {
          if (ec && ec != make_error_code(errc::not_connected) && options_.on_error)
            options_.on_error(ec, "re-consume after reconnect failed");
        });
  }
  for (const auto& [sid, entry] : subscriptions_) {
    call([&](protocol::byte_buffer& out,
             std::uint32_t id) { protocol::encode_subscribe(out, id, sid, entry->pattern); },
         [this](std::error_code ec, const protocol::raw_frame*) {
           if (ec && ec != make_error_code(errc::not_connected) && options_.on_error)
             options_.on_error(ec, "re-subscribe after reconnect failed");
         });
  }
}

void client_core::unsubscribe(std::uint32_t sid) {
  if (!erase_entry(subscriptions_, sid)) return;
  if (state_ != connection_state::connected) return;
  protocol::encode_unsubscribe(out_, 0, sid);
  wake_writer();
}

void client_core::close() {
  if (closed_) return;
  closed_ = true;
  if (options_.will && state_ == connection_state::connected && stream_) {
    // A clean goodbye (docs/protocol.md §3.5): the broker drops the will. The writer
    // closes once GOODBYE is written, or after a second.
    saying_goodbye_ = true;
    protocol::encode_goodbye(out_);
    wake_writer();
    goodbye_deadline_ = std::make_unique<asio::steady_timer>(executor_, std::chrono::seconds(1));
    goodbye_deadline_->async_wait([self = shared_from_this()](std::error_code) {
      if (self->saying_goodbye_) self->finish_close();
    });
    return;
  }
  finish_close();
}

void client_core::finish_close() {
  saying_goodbye_ = false;
  if (goodbye_deadline_) goodbye_deadline_->cancel();
  ++generation_;
  if (stream_) stream_->close();
  stream_.reset();
  out_.clear();
  in_flight_.clear();
  in_flight_held_ = write_deferred_ = false;
  wake_.cancel();
  fail_pending(asio::error::operation_aborted);
  erase_entries(subscriptions_);
  erase_entries(consumers_);
  set_state(connection_state::closed);
}

}  // namespace ipc::detail
