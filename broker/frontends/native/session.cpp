// session: the read loop, the write loop, the watchdog and frame dispatch.
#include "frontends/native/session.hpp"

#include <atomic>

#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <nlohmann/json.hpp>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "ipc/protocol/encoder.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using protocol::errc;
using protocol::frame_type;

namespace {
// Client-chosen text (user names, topics) in log lines: control characters replaced, so
// a name cannot forge a line; long text cut.
std::string loggable(std::string_view text) {
  std::string out(text.substr(0, 256));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() > 256) out += "...";
  return out;
}

// Password checks waiting or running at once, in this process; more are refused at once
// so that unauthenticated clients cannot queue unbounded work.
constexpr int max_password_checks = 64;
std::atomic<int> password_checks{0};

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
      wake_(stream_->get_executor()),
      deadline_(stream_->get_executor()),
      keepalive_(stream_->get_executor()) {
  wake_.expires_at(asio::steady_timer::time_point::max());
}

session::~session() = default;

void session::start() {
  spawn(&session::read_loop, true);
  spawn(&session::write_loop, true);
  spawn(&session::handshake_watchdog, false);
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
  stop();
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
    if (fsm_.state() != session_state::open || user_.empty()) continue;  // the handshake's
    if (counters_.bytes_in != seen) {
      seen = counters_.bytes_in;
      missed = 0;
      continue;
    }
    if (++missed > core_.limits().keepalive_max_missed) {
      core_.log().info("connection {} ({}): no data for {} keepalive interval(s), closing", id_,
                       peer().address, missed);
      close_with_error(errc::keepalive_timeout, "no answer to keepalive PINGs");
      break;
    }
    frame_scratch_.clear();
    protocol::encode_ping(frame_scratch_, missed);
    queue_frame();
  }
}

void session::stop() {
  if (stopped_) return;
  stopped_ = true;
  fsm_.close();
  stream_->close();
  wake_.cancel();
  deadline_.cancel();
  keepalive_.cancel();
}

void session::close_with_error(errc code, std::string_view message) {
  if (stopped_ || draining_) return;
  draining_ = true;  // the read loop ends; the writer closes after the error is out
  send_error(code, 0, message, true);
  fsm_.close();
  deadline_.expires_after(close_linger);
  wake_writer();
}

void session::on_loop_end() {
  if (--loops_running_ == 0) core_.remove_session(*this);
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
    close_with_error(errc::internal_error, "internal error: the broker closed this connection");
  }
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
    if (fsm_.state() == session_state::awaiting_hello || user_.empty()) {
      core_.log().info("connection {} ({}): handshake not done within {} ms, closing", id_,
                       peer().address, handshake_timeout.count());
      close_with_error(errc::handshake_required, "no HELLO within the handshake timeout");
    } else {
      deadline_.expires_at(asio::steady_timer::time_point::max());
    }
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
    while (pending_auth_ && !stopped_ && !draining_) {
      co_await check_password();
      handle_read_batch();  // the frames that came behind the HELLO
    }
    core_.queues().dispatch_pending();  // queues this batch changed deliver now
    retired_.clear();
  }
}

void session::handle_read_batch() {
  protocol::raw_frame frame;
  errc error = errc::ok;
  while (!stopped_ && !draining_ && !pending_auth_) {
    auto status = reader_.next(frame, error);
    if (status == protocol::read_status::need_more) return;
    if (status == protocol::read_status::error) {
      ++core_.counters().protocol_errors;
      core_.log().info("connection {} ({}): {}, closing", id_, peer().address,
                       protocol::make_error_code(error).message());
      close_with_error(error, protocol::make_error_code(error).message());
      return;
    }
    handle_frame_safely(frame);
  }
}

void session::handle_frame(const protocol::raw_frame& frame) {
  errc admitted = fsm_.admit(frame.type);
  if (admitted != errc::ok) {
    ++core_.counters().protocol_errors;
    std::string why = admitted == errc::handshake_required
                          ? "the first frame must be HELLO, and only the first"
                          : std::string(protocol::frame_type_name(frame.type)) +
                                " is not a frame a client may send";
    core_.log().info("connection {} ({}): {}, closing", id_, peer().address, why);
    close_with_error(admitted, why);
    return;
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
    case frame_type::send: return on_send(frame);
    case frame_type::consume: return on_consume(frame);
    case frame_type::cancel: return on_cancel(frame);
    case frame_type::ack: return on_ack(frame);
    case frame_type::nack: return on_nack(frame);
    case frame_type::request: return on_request(frame);
    default: return close_with_error(errc::unknown_frame_type, "unexpected frame");
  }
}

void session::on_hello(const protocol::raw_frame& frame) {
  protocol::hello_frame hello;
  if (protocol::decode(frame, hello) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed HELLO");
  auto result = fsm_.on_hello(hello);
  if (result.error != errc::ok) {
    core_.log().info("connection {} ({}): handshake refused: {}", id_, peer().address,
                     result.message);
    return close_with_error(result.error, result.message);
  }
  client_name_ = std::move(result.client_name);
  auto decision = core_.auth().decide(hello.mechanism, hello.properties, peer().uid,
                                      peer().tls_subject, peer().sid);
  if (decision.error != errc::ok) {
    core_.log().warn("connection {} ({}): authentication failed for user '{}' ({})", id_,
                     peer().address, loggable(decision.user), decision.log_reason);
    ++core_.counters().auth_failures;
    return close_with_error(decision.error, decision.message);
  }
  if (decision.password_hash) {
    if (password_checks.load() >= max_password_checks) {
      core_.log().warn("connection {} ({}): {} password checks in progress, refused", id_,
                       peer().address, max_password_checks);
      return close_with_error(errc::limit_exceeded,
                              "too many authentications in progress, try again");
    }
    pending_auth_ =
        pending_password{decision.user, std::move(*decision.password_hash),
                         std::move(decision.password), decision.log_reason, decision.basis};
    return;  // the read loop checks it off the I/O thread, then goes on
  }
  accept_user(decision.user, decision.basis);
}

namespace {
// Password hashes are slow on purpose: they are checked here, never on the I/O thread.
asio::thread_pool& password_checker() {
  static asio::thread_pool pool(1);
  return pool;
}
}  // namespace

asio::awaitable<void> session::check_password() {
  auto job = std::move(*pending_auth_);
  ++password_checks;
  // The hash runs on the checker's thread; its answer comes back to the I/O thread
  // through a post, which wakes this coroutine by cancelling `signal`.
  auto executor = co_await asio::this_coro::executor;
  auto signal =
      std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  auto outcome = std::make_shared<bool>(false);
  asio::post(password_checker(),
             [signal, outcome, hash = job.hash, password = job.password]() mutable {
               bool ok = false;
               try {
                 ok = authenticator::check_password(hash, password);
               } catch (const std::exception&) {
                 ok = false;  // a hash OpenSSL cannot compute fails like a wrong password
               }
               auto target = signal->get_executor();
               asio::post(target, [signal = std::move(signal), outcome = std::move(outcome), ok] {
                 *outcome = ok;
                 signal->cancel();
               });
             });
  std::error_code ignored;
  co_await signal->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  bool ok = *outcome;
  --password_checks;
  pending_auth_.reset();
  if (stopped_ || draining_) co_return;
  if (!ok) {
    core_.log().warn("connection {} ({}): authentication failed for user '{}' ({})", id_,
                     peer().address, loggable(job.user), job.failure);
    ++core_.counters().auth_failures;
    close_with_error(errc::auth_failed, "authentication failed");
    co_return;
  }
  accept_user(job.user, job.basis);
}

void session::accept_user(const std::string& user, const std::string& basis) {
  if (!core_.auth().still_valid(user, basis)) {  // a reload during the password check
    core_.log().warn("connection {} ({}): credentials of '{}' withdrawn by reload", id_,
                     peer().address, loggable(user));
    return close_with_error(errc::auth_failed, "authentication failed");
  }
  if (auto refused = core_.admit_user(*this, user)) {
    core_.log().warn("connection {} ({}) as '{}' refused: {}", id_, peer().address, user,
                     refused.message);
    return close_with_error(refused.code, refused.message);
  }
  user_ = user;
  auth_basis_ = basis;
  perms_ = core_.auth().permissions_of(user_);
  deadline_.expires_at(asio::steady_timer::time_point::max());  // handshake done
  reader_.set_max_frame(core_.max_frame_size());
  std::string server = "ipcd/" IPCD_VERSION;
  std::pair<std::string_view, std::string_view> props[] = {{"server", server}, {"user", user_}};
  frame_scratch_.clear();
  protocol::encode_welcome(frame_scratch_, id_, core_.limits().max_payload, props);
  queue_frame();
  core_.log().debug("connection {} ({}) open as '{}'", id_, peer().address, user_);
  core_.publish_system(
      "$SYS/connections/open",
      json_text(
          {{"id", id_}, {"transport", transport::scheme_name(peer().transport)}, {"user", user_}}));
}

bool session::denied(bool allowed, std::uint32_t ref, const std::string& what) {
  if (allowed) return false;
  core_.log().info("connection {} ({}) user '{}': permission denied: {}", id_, peer().address,
                   user_, loggable(what));
  send_error(errc::permission_denied, ref, "permission denied: " + what);
  return true;
}

void session::on_publish(const protocol::raw_frame& frame) {
  protocol::publish_frame publish;
  if (protocol::decode(frame, publish) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed PUBLISH");
  // Replies go to broker-made, unguessable addresses (docs/protocol.md §4.11).
  if (!publish.topic.starts_with("$reply/") &&
      denied(perms_->may_publish(publish.topic), publish.id,
             "publish to '" + std::string(publish.topic) + "'"))
    return;
  auto mark = core_.storage_mark();
  if (auto refused = core_.publish(publish))
    return send_error(refused.code, publish.id, refused.message);
  ++counters_.messages_in;
  // A publish that reached a durable queue through a binding is confirmed once stored.
  if (publish.id != 0) core_.confirm(*this, publish.id, 0, mark);
}

void session::on_subscribe(const protocol::raw_frame& frame) {
  protocol::subscribe_frame subscribe;
  if (protocol::decode(frame, subscribe) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed SUBSCRIBE");
  if (denied(perms_->may_subscribe(subscribe.pattern), subscribe.id,
             "subscribe to '" + std::string(subscribe.pattern) + "'"))
    return;
  if (auto refused = core_.subscribe(*this, subscribe.sid, subscribe.pattern))
    return send_error(refused.code, subscribe.id, refused.message);
  send_ok(subscribe.id);
}

void session::on_unsubscribe(const protocol::raw_frame& frame) {
  protocol::unsubscribe_frame unsubscribe;
  if (protocol::decode(frame, unsubscribe) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed UNSUBSCRIBE");
  if (auto refused = core_.unsubscribe(*this, unsubscribe.sid))
    return send_error(refused.code, unsubscribe.id, refused.message);
  send_ok(unsubscribe.id);
}

void session::on_admin(const protocol::raw_frame& frame) {
  protocol::admin_frame admin;
  if (protocol::decode(frame, admin) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed ADMIN");
  std::uint16_t status = 0;
  std::string body;
  if (perms_->admin()) {
    body = core_.admin(*this, admin.command, admin.args, status);
  } else {
    core_.log().info("connection {} ({}) user '{}': permission denied: admin {}", id_,
                     peer().address, user_, loggable(admin.command));
    status = static_cast<std::uint16_t>(errc::permission_denied);
    body = json_text({{"code", "permission_denied"},
                      {"error", "permission denied: admin commands need the admin permission"}});
  }
  frame_scratch_.clear();
  protocol::encode_admin_result(frame_scratch_, admin.id, status, body);
  queue_frame();
}

void session::on_ping(const protocol::raw_frame& frame) {
  protocol::ping_frame ping;
  if (protocol::decode(frame, ping) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed PING");
  frame_scratch_.clear();
  protocol::encode_pong(frame_scratch_, ping.token);
  queue_frame();
}

void session::send_error(errc code, std::uint32_t ref, std::string_view message, bool fatal) {
  frame_scratch_.clear();
  protocol::encode_error(frame_scratch_, code, ref, fatal, message);
  queue_frame();
}

void session::send_ok(std::uint32_t ref, std::uint64_t value) {
  frame_scratch_.clear();
  protocol::encode_ok(frame_scratch_, ref, value);
  queue_frame();
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
  close_with_error(errc::slow_consumer,
                   "slow consumer: pending output over limits.max_pending_bytes");
}

void session::wake_writer() {
  if (writer_waiting_) {
    writer_waiting_ = false;
    wake_.cancel();
  }
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

asio::awaitable<void> session::write_loop() {
  std::vector<asio::const_buffer> buffers;
  std::error_code ec;
  while (!stopped_) {
    if (out_.empty()) {
      if (draining_) break;
      writer_waiting_ = true;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      writer_waiting_ = false;
      continue;
    }
    out_.take(in_flight_);
    buffers.clear();
    for (const auto& segment : in_flight_.segments) {
      if (segment.scratch_end > segment.scratch_begin)
        buffers.emplace_back(in_flight_.scratch.data() + segment.scratch_begin,
                             segment.scratch_end - segment.scratch_begin);
      if (segment.body)
        buffers.emplace_back(segment.body.bytes().data(), segment.body.bytes().size());
    }
    co_await stream_->write(buffers, ec);
    if (ec) break;
    counters_.bytes_out += in_flight_.bytes;
    core_.counters().bytes_out += in_flight_.bytes;
    in_flight_.clear();
    after_write();
  }
  in_flight_.clear();
  stop();
}

}  // namespace ipc::broker
