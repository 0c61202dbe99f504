// session: attach and detach, the loops (read, write, handshake watchdog, keepalive),
// the error tier, frame dispatch, and the output side (queueing, slow consumers).
#include "frontends/native/session.hpp"

#include <cstring>

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/native/wire_codes.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using protocol::frame_type;

namespace {
// After a fatal error, how long the broker waits for the error frame to be written.
constexpr auto close_linger = std::chrono::seconds(2);
}  // namespace

session::session(broker_core& core, std::unique_ptr<transport::stream> stream, std::uint64_t id,
                 std::string listener)
    : core_(core),
      stream_(std::move(stream)),
      id_(id),
      listener_(std::move(listener)),
      reader_(protocol::max_handshake_frame),
      writer_(core, *stream_, *this),
      out_(writer_.queue()),
      deadline_(stream_->get_executor()),
      keepalive_(stream_->get_executor()),
      resume_(stream_->get_executor()),
      consumers_(*this, [&core](queue& q) { core.queues().schedule(q); }) {}

session::~session() = default;

void session::start() {
  auto refused = core_.attach(shared_from_this(), state_);
  spawn(&session::read_loop, true);
  spawn(&session::write_loop, true);
  spawn(&session::handshake_watchdog, false);
  if (refused) {
    core_.log().warn("connection from {} refused: {}", peer().address, refused.message);
    return close_with_error(wire_code(refused.code), refused.message);
  }
  if (core_.limits().keepalive_ms != 0) spawn(&session::keepalive_loop, false);
}

void session::spawn(asio::awaitable<void> (session::*loop)(), bool counted) {
  // The error tier (docs/architecture.md §4): an exception escaping a loop is a broken
  // invariant of this connection only. It is logged with the connection id, the session
  // stops, and once both counted loops have ended it leaves the core.
  auto self = shared_from_this();
  if (counted) ++loops_running_;
  asio::co_spawn(
      stream_->get_executor(), [self, loop] { return (self.get()->*loop)(); },
      [self, counted](std::exception_ptr error) {
        if (error) self->on_unexpected(error);
        if (counted) self->on_loop_end();
      });
}

void session::on_unexpected(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    core_.log().error("connection {} ({}): internal error: {}; closing", id_, peer().address,
                      loggable(e.what()));
  } catch (...) {
    core_.log().error("connection {} ({}): internal error; closing", id_, peer().address);
  }
  ++core_.counters().internal_errors;
  if (!stopped_ && !draining_) close_reason_ = "internal";
  stop();
}

void session::on_loop_end() {
  if (--loops_running_ != 0 || state_ == nullptr) return;
  consumers_.detach_all(queue_manager::now_ms());  // unacked deliveries go back
  auto* state = std::exchange(state_, nullptr);
  core_.detach(*state);
}

void session::stop() {
  if (stopped_) return;
  stopped_ = true;
  fsm_.close();
  stream_->close();
  writer_.cancel();
  deadline_.cancel();
  keepalive_.cancel();
  resume_.cancel();
}

void session::memory_alarm(bool on) {
  if (on || !reading_paused_) return;
  reading_paused_ = false;
  resume_.cancel();
}

namespace {
// The close reason a fatal error stands for (client::close_reason).
const char* reason_of_error(protocol::errc code) {
  using protocol::errc;
  switch (code) {
    case errc::auth_failed: return "auth";
    case errc::slow_consumer: return "slow_consumer";
    case errc::keepalive_timeout: return "keepalive";
    case errc::connection_killed: return "admin";
    case errc::shutting_down: return "shutdown";
    case errc::internal_error: return "internal";
    case errc::limit_exceeded: return "limit";
    default: return "protocol_error";
  }
}
}  // namespace

void session::close_with_error(protocol::errc code, std::string_view message) {
  if (stopped_ || draining_) return;
  close_reason_ = reason_of_error(code);
  draining_ = true;  // the read loop ends; the writer closes after the error is out
  send_error(code, 0, message, true);
  fsm_.close();
  deadline_.expires_after(close_linger);
  wake_writer();
}

void session::protocol_error(protocol::errc code, std::string_view message,
                             std::string_view context) {
  ++core_.counters().protocol_errors;
  std::string note;
  if (core_.log_allowed(noisy_event::protocol_error, note))
    core_.log().info("connection {} ({}): {}{}, closing{}", id_, peer().address, context,
                     loggable(message), note);
  close_with_error(code, message);
}

void session::close(errc code, std::string_view message) {
  close_with_error(wire_code(code), message);
}

asio::awaitable<void> session::handshake_watchdog() {
  const auto handshake_timeout = std::chrono::milliseconds(core_.limits().auth_timeout_ms);
  deadline_.expires_after(handshake_timeout);
  std::error_code ec;
  for (;;) {
    co_await deadline_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) co_return;
    if (deadline_.expiry() > asio::steady_timer::clock_type::now()) continue;  // re-armed
    if (draining_) {
      stop();  // the peer did not take the error frame in time
      co_return;
    }
    if (fsm_.state() == session_state::awaiting_hello || state_ == nullptr ||
        !state_->authenticated()) {
      core_.log().info("connection {} ({}): handshake not done within {} ms, closing", id_,
                       peer().address, handshake_timeout.count());
      close_with_error(protocol::errc::handshake_required, "no HELLO within the handshake timeout");
    } else {
      deadline_.expires_at(asio::steady_timer::time_point::max());
    }
  }
}

asio::awaitable<void> session::keepalive_loop() {
  // NATS' scheme: a PING after each interval in which nothing arrived; a client silent
  // for keepalive_max_missed intervals more is gone (a dead peer, a half-open TCP).
  const auto interval = std::chrono::milliseconds(core_.limits().keepalive_ms);
  std::uint64_t seen = counters_.bytes_in;
  std::uint32_t missed = 0;
  std::error_code ec;
  while (!stopped_ && !draining_) {
    keepalive_.expires_after(interval);
    co_await keepalive_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_ || draining_) break;
    if (fsm_.state() != session_state::open || state_ == nullptr || !state_->authenticated())
      continue;  // the handshake's watchdog covers this time
    if (counters_.bytes_in != seen || reading_paused_) {  // paused: we are not reading
      seen = counters_.bytes_in;
      missed = 0;
      continue;
    }
    if (++missed > core_.limits().keepalive_max_missed) {
      core_.log().info("connection {} ({}): no data for {} keepalive interval(s), closing", id_,
                       peer().address, missed);
      close_with_error(protocol::errc::keepalive_timeout, "no answer to keepalive PINGs");
      break;
    }
    frame_scratch_.clear();
    protocol::encode_ping(frame_scratch_, missed);
    queue_frame();
  }
}

asio::awaitable<void> session::read_loop() {
  std::error_code ec;
  while (!stopped_ && !draining_) {
    auto space = reader_.prepare();
    std::size_t n = co_await stream_->read_some(asio::buffer(space.data(), space.size()), ec);
    if (ec) {
      if (!stopped_ && ec != asio::error::eof && ec != asio::error::operation_aborted)
        core_.log().debug("connection {}: read failed: {}", id_, ec.message());
      if (!draining_) stop();
      break;
    }
    reader_.commit(n);
    counters_.bytes_in += n;
    core_.counters().bytes_in += n;
    handle_read_batch();
    while ((pending_auth_ || reading_paused_) && !stopped_ && !draining_) {
      if (pending_auth_) {
        co_await check_password();
      } else {
        resume_.expires_at(asio::steady_timer::time_point::max());
        co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        ec.clear();
      }
      handle_read_batch();  // the frames that came behind the HELLO or the paused publish
    }
  }
}

void session::handle_read_batch() {
  broker_core::read_batch batch(core_);  // one timestamp, one write per recipient
  protocol::raw_frame frame;
  protocol::errc error = protocol::errc::ok;
  while (!stopped_ && !draining_ && !pending_auth_ && !reading_paused_) {
    auto status = reader_.next(frame, error);
    if (status == protocol::read_status::need_more) break;
    if (status == protocol::read_status::error) {
      protocol_error(error, protocol::make_error_code(error).message());
      break;
    }
    handle_frame_safely(frame);
  }
  core_.queues().dispatch_pending();  // queues this batch changed deliver now
  consumers_.end_batch();
}

void session::handle_frame_safely(const protocol::raw_frame& frame) {
  // An exception while handling one frame ends this connection with an internal_error
  // ERROR and a log line; the broker and every other connection go on.
  try {
    handle_frame(frame);
  } catch (const std::exception& e) {
    core_.log().error("connection {} ({}): internal error handling {}: {}; closing", id_,
                      peer().address, protocol::frame_type_name(frame.type), loggable(e.what()));
    ++core_.counters().internal_errors;
    close_with_error(protocol::errc::internal_error,
                     "internal error: the broker closed this connection");
  }
}

void session::handle_frame(const protocol::raw_frame& frame) {
  // Most frames are PUBLISHes on an open session, which admit() lets through.
  if (frame.type == frame_type::publish && fsm_.state() == session_state::open)
    return on_publish(frame);
  protocol::errc admitted = fsm_.admit(frame.type);
  if (admitted != protocol::errc::ok) {
    return protocol_error(admitted, admitted == protocol::errc::handshake_required
                                        ? "the first frame must be HELLO, and only the first"
                                        : std::string(protocol::frame_type_name(frame.type)) +
                                              " is not a frame a client may send");
  }
  if (frame.type == frame_type::hello) {
    on_hello(frame);
  } else {
    handle_open_frame(frame);
  }
}

void session::handle_open_frame(const protocol::raw_frame& frame) {
  switch (frame.type) {
    case frame_type::publish: return on_publish(frame);
    case frame_type::subscribe: return on_subscribe(frame);
    case frame_type::unsubscribe: return on_unsubscribe(frame);
    case frame_type::admin: return on_admin(frame);
    case frame_type::ping: return on_ping(frame);
    case frame_type::pong: return;
    case frame_type::goodbye:
      if (protocol::decode_goodbye(frame) != protocol::errc::ok)
        return protocol_error(protocol::errc::malformed_frame, "malformed GOODBYE");
      return core_.goodbye(*state_);  // a clean close follows: no will
    case frame_type::send: return on_send(frame);
    case frame_type::consume: return on_consume(frame);
    case frame_type::cancel: return on_cancel(frame);
    case frame_type::ack: return on_ack(frame);
    case frame_type::nack: return on_nack(frame);
    case frame_type::request: return on_request(frame);
    default: return protocol_error(protocol::errc::unknown_frame_type, "unexpected frame");
  }
}

void session::queue_frame() {
  // Answers count against limits.max_pending_bytes like messages do: a client that sends
  // PINGs or admin requests and never reads must not grow the broker's memory. The final
  // fatal ERROR (while draining) is always queued.
  if (!draining_ && over_pending_limit(frame_scratch_.size())) return on_slow_consumer();
  out_.append(frame_scratch_);
  wake_writer();
}

void session::on_slow_consumer() {
  ++core_.counters().slow_consumers;
  core_.log().warn("connection {} ({}): slow consumer, {} bytes pending, closing", id_,
                   peer().address, pending_bytes());
  out_.clear();  // what was not yet handed to the writer is dropped with the connection
  close_with_error(protocol::errc::slow_consumer,
                   "slow consumer: pending output over limits.max_pending_bytes");
}

void session::wake_writer() { writer_.wake(state_); }

void session::write_deferred() noexcept {
  try {
    writer_.write_deferred();
  } catch (...) {
    on_unexpected(std::current_exception());
  }
}

void session::written(std::size_t bytes) {
  counters_.bytes_out += bytes;
  core_.counters().bytes_out += bytes;
  after_write();
}

bool session::over_pending_limit(std::size_t more) const {
  return pending_bytes() + more > core_.limits().max_pending_bytes;
}

void session::deliver_message(std::uint32_t sid, const outgoing_message& message) {
  if (stopped_ || draining_) return;
  std::size_t size = protocol::message_prefix_size + message.body.size();
  if (over_pending_limit(size)) {
    if (core_.limits().slow_consumer != "drop") return on_slow_consumer();
    // limits.slow_consumer = drop: this subscriber misses the message, and is counted.
    if (counters_.dropped++ == 0)
      core_.log().warn("connection {} ({}): slow consumer, dropping messages", id_, peer().address);
    ++core_.counters().slow_consumer_drops;
    return;
  }
  if (message.shared == nullptr) {
    std::uint8_t* at = out_.extend(size);
    protocol::write_message_prefix(at, sid, message.body.size());
    std::memcpy(at + protocol::message_prefix_size, message.body.data(), message.body.size());
  } else {
    protocol::write_message_prefix(out_.extend(protocol::message_prefix_size), sid,
                                   message.body.size());
    out_.append(*message.shared);
  }
  ++counters_.messages_out;
  ++core_.counters().messages_out;
  wake_writer();
}

bool session::ready_for_more() const {
  // Half the output limit: room for what is in flight, never a slow-consumer close.
  bool room = !stopped_ && !draining_ && pending_bytes() < core_.limits().max_pending_bytes / 2;
  if (!room) congested_ = true;  // resume after a write
  return room;
}

void session::after_write() {
  if (!congested_ || pending_bytes() >= core_.limits().max_pending_bytes / 2) return;
  congested_ = false;
  consumers_.for_each_live([this](registered_consumer& c) { core_.queues().schedule(c.source()); });
  core_.queues().dispatch_pending();
}

asio::awaitable<void> session::write_loop() {
  co_await writer_.run();
  stop();
}

}  // namespace ipc::broker
