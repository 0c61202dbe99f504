// mqtt_connection: attach and detach, the loops (read, write, watchdog), the error tier,
// packet dispatch and the output side.
#include "frontends/mqtt/mqtt_connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using mqtt::packet_type;
using mqtt::reason;

namespace {
// After a fatal error, how long the broker waits for its last packet to be written.
constexpr auto close_linger = std::chrono::seconds(2);
}  // namespace

mqtt_connection::mqtt_connection(broker_core& core, std::shared_ptr<mqtt_registry> registry,
                                 std::unique_ptr<transport::stream> stream, std::uint64_t id,
                                 std::string listener)
    : core_(core),
      registry_(std::move(registry)),
      stream_(std::move(stream)),
      id_(id),
      listener_(std::move(listener)),
      reader_(0),
      writer_(core, *stream_, *this),
      out_(writer_.queue()),
      core_memory_(core.memory()),
      deadline_(stream_->get_executor()),
      resume_(stream_->get_executor()) {
  reader_.set_max_packet(max_packet_size());
}

mqtt_connection::~mqtt_connection() { drop_waiting(); }

void mqtt_connection::drop_waiting() {
  core_memory_->release(waiting_bytes_);
  waiting_bytes_ = 0;
  waiting_.clear();
}

void mqtt_connection::start() {
  auto refused = core_.attach(shared_from_this(), state_);
  spawn(&mqtt_connection::read_loop, true);
  spawn(&mqtt_connection::write_loop, true);
  spawn(&mqtt_connection::watchdog, false);
  if (refused) {
    core_.log().warn("connection from {} refused: {}", peer().address, refused.message);
    // Answered once the CONNECT has said which version the client speaks.
    refused_at_attach_ = reason::quota_exceeded;
    refusal_message_ = refused.message;
  }
}

std::uint32_t mqtt_connection::max_packet_size() const {
  // A maximal PUBLISH: payload, topic and response topic at their limits, every user
  // property (4 bytes of lengths and a byte of id each), the other properties (1 KiB).
  const auto& limits = core_.limits();
  std::uint64_t size = std::uint64_t{limits.max_payload} + 2ull * limits.max_topic_length +
                       limits.max_header_bytes + 5ull * limits.max_headers + 1024;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, mqtt::max_remaining_length));
}

void mqtt_connection::limits_changed() { reader_.set_max_packet(max_packet_size()); }

void mqtt_connection::spawn(asio::awaitable<void> (mqtt_connection::*loop)(), bool counted) {
  // The error tier (docs/architecture.md §4), as in the native session: an exception
  // escaping a loop ends this connection only.
  auto self = shared_from_this();
  if (counted) ++loops_running_;
  asio::co_spawn(
      stream_->get_executor(), [self, loop] { return (self.get()->*loop)(); },
      [self, counted](std::exception_ptr error) {
        if (error) self->on_unexpected(error);
        if (counted) self->on_loop_end();
      });
}

void mqtt_connection::on_unexpected(std::exception_ptr error) {
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

void mqtt_connection::on_loop_end() {
  if (--loops_running_ != 0 || state_ == nullptr) return;
  leave_session();
  if (holds_client_id_) registry_->release(client_id_, this);
  auto* state = std::exchange(state_, nullptr);
  core_.detach(*state);
}

void mqtt_connection::stop() {
  if (stopped_) return;
  stopped_ = true;
  stream_->close();
  writer_.cancel();
  deadline_.cancel();
  resume_.cancel();
}

void mqtt_connection::memory_alarm(bool on) {
  if (on || !reading_paused_) return;
  reading_paused_ = false;
  resume_.cancel();
}

namespace {
const char* close_reason_of(reason code) {
  switch (code) {
    case reason::not_authorized:
    case reason::bad_user_name_or_password:
    case reason::bad_authentication_method:
    case reason::banned: return "auth";
    case reason::quota_exceeded: return "limit";
    case reason::keep_alive_timeout: return "keepalive";
    case reason::administrative_action: return "admin";
    case reason::server_shutting_down: return "shutdown";
    case reason::session_taken_over: return "takeover";
    case reason::implementation_specific_error: return "internal";
    default: return "protocol_error";
  }
}
}  // namespace

void mqtt_connection::close_with(reason code, std::string_view message) {
  if (stopped_ || draining_) return;
  close_reason_ = close_reason_of(code);
  draining_ = true;                   // the read loop ends; the writer closes once this is out
  if (!connect_seen_) return stop();  // nothing can be said before the client's version is known
  if (!connected_) {
    mqtt::connack_packet refused;
    refused.code = v5() ? static_cast<std::uint8_t>(code) : connack_v311_code(code);
    if (v5() && !message.empty()) refused.props.reason_string = message;
    scratch_.clear();
    mqtt::encode(scratch_, version_, refused);
    out_.append(scratch_);
  } else if (v5()) {
    mqtt::disconnect_packet goodbye;
    goodbye.code = code;
    if (!message.empty()) goodbye.props.reason_string = message;
    scratch_.clear();
    mqtt::encode(scratch_, version_, goodbye);
    out_.append(scratch_);
  }
  deadline_.expires_after(close_linger);
  wake_writer();
}

void mqtt_connection::protocol_error(reason code, std::string_view message) {
  ++core_.counters().protocol_errors;
  std::string note;
  if (core_.log_allowed(noisy_event::protocol_error, note))
    core_.log().info("connection {} ({}): MQTT {}: {}, closing{}", id_, peer().address,
                     mqtt::reason_name(code), loggable(message), note);
  close_with(code, message);
}

void mqtt_connection::close(errc code, std::string_view message) {
  close_with(code == errc::shutting_down       ? reason::server_shutting_down
             : code == errc::connection_killed ? reason::administrative_action
             : code == errc::auth_failed       ? reason::not_authorized
                                               : reason_of(code),
             message);
}

void mqtt_connection::taken_over() {
  holds_client_id_ = false;  // the registry names the new holder
  leave_session();           // the new connection takes it
  core_.log().info("connection {} ({}): client '{}' connected again elsewhere, closing", id_,
                   peer().address, loggable(client_id_));
  close_with(reason::session_taken_over, "another connection took this client identifier");
}

asio::awaitable<void> mqtt_connection::watchdog() {
  // Before CONNECT: limits.auth_timeout_ms. After it: the client's Keep Alive, one and a
  // half times (MQTT 5 §3.1.2.10). While draining: the linger for the last packet.
  const auto connect_timeout = std::chrono::milliseconds(core_.limits().auth_timeout_ms);
  deadline_.expires_after(connect_timeout);
  std::error_code ec;
  for (;;) {
    co_await deadline_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) co_return;
    auto now = asio::steady_timer::clock_type::now();
    if (deadline_.expiry() > now) continue;  // re-armed
    if (draining_) {
      stop();  // the peer did not take the last packet in time
      co_return;
    }
    if (!connected_) {
      core_.log().info("connection {} ({}): no CONNECT within {} ms, closing", id_, peer().address,
                       connect_timeout.count());
      stop();
      co_return;
    }
    if (keep_alive_s_ == 0) {
      deadline_.expires_at(asio::steady_timer::time_point::max());
      continue;
    }
    auto limit = std::chrono::milliseconds(std::uint64_t{keep_alive_s_} * 1500);
    if (reading_paused_ || now - last_heard_ < limit) {
      deadline_.expires_at((reading_paused_ ? now : last_heard_) + limit);
      continue;
    }
    core_.log().info("connection {} ({}): nothing heard for {} s (keep alive {} s), closing", id_,
                     peer().address, limit.count() / 1000.0, keep_alive_s_);
    close_with(reason::keep_alive_timeout, "keep alive timeout");
  }
}

asio::awaitable<void> mqtt_connection::read_loop() {
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
    last_heard_ = std::chrono::steady_clock::now();
    handle_read_batch();
    while ((pending_auth_ || reading_paused_) && !stopped_ && !draining_) {
      if (pending_auth_) {
        co_await check_password();
      } else {
        core_.queues().dispatch_pending();
        resume_.expires_at(asio::steady_timer::time_point::max());
        co_await resume_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        ec.clear();
      }
      handle_read_batch();
    }
    core_.queues().dispatch_pending();  // queues this batch fed deliver now
  }
}

void mqtt_connection::handle_read_batch() {
  broker_core::read_batch batch(core_);  // one timestamp, one write per recipient
  mqtt::raw_packet packet;
  reason error = reason::success;
  while (!stopped_ && !draining_ && !pending_auth_ && !reading_paused_) {
    auto status = reader_.next(packet, error);
    if (status == mqtt::read_status::need_more) return;
    if (status == mqtt::read_status::error) {
      if (!connect_seen_) {
        // Not even a CONNECT: nothing to answer in the client's version.
        ++core_.counters().protocol_errors;
        core_.log().info("connection {} ({}): not an MQTT CONNECT ({}), closing", id_,
                         peer().address, mqtt::reason_name(error));
        return stop();
      }
      return protocol_error(error, error == reason::packet_too_large
                                       ? "packet over the broker's Maximum Packet Size"
                                       : "malformed packet header");
    }
    handle_packet_safely(packet);
  }
}

void mqtt_connection::handle_packet_safely(const mqtt::raw_packet& packet) {
  try {
    handle_packet(packet);
  } catch (const std::exception& e) {
    core_.log().error("connection {} ({}): internal error handling {}: {}; closing", id_,
                      peer().address, mqtt::packet_type_name(packet.type()), loggable(e.what()));
    ++core_.counters().internal_errors;
    close_with(reason::implementation_specific_error, "internal error");
  }
}

void mqtt_connection::handle_packet(const mqtt::raw_packet& packet) {
  if (!connect_seen_) {
    if (packet.type() != packet_type::connect) {
      ++core_.counters().protocol_errors;
      core_.log().info("connection {} ({}): first packet is {}, not CONNECT; closing", id_,
                       peer().address, mqtt::packet_type_name(packet.type()));
      return stop();  // MQTT 5 §3.1-1: close without a word
    }
    return on_connect(packet);
  }
  switch (packet.type()) {
    case packet_type::connect:
      return protocol_error(reason::protocol_error, "a second CONNECT");  // §3.1.0-2
    case packet_type::publish: return on_publish(packet);
    case packet_type::puback:
    case packet_type::pubrec:
    case packet_type::pubrel:
    case packet_type::pubcomp: return on_ack(packet);
    case packet_type::subscribe: return on_subscribe(packet);
    case packet_type::unsubscribe: return on_unsubscribe(packet);
    case packet_type::pingreq:
      if (mqtt::decode_empty(packet) != reason::success)
        return protocol_error(reason::malformed_packet, "malformed PINGREQ");
      scratch_.clear();
      mqtt::encode_empty(scratch_, packet_type::pingresp);
      return queue_packet();
    case packet_type::disconnect: return on_disconnect(packet);
    case packet_type::auth:
      if (v5())
        return protocol_error(reason::protocol_error,
                              "AUTH without an authentication method in CONNECT");
      [[fallthrough]];
    default:
      return protocol_error(reason::protocol_error,
                            std::string(mqtt::packet_type_name(packet.type())) +
                                " is not a packet a client may send");
  }
}

void mqtt_connection::queue_packet() {
  // Answers count against limits.max_pending_bytes like messages do.
  if (!draining_ && over_pending_limit(scratch_.size())) return on_slow_consumer();
  if (draining_) return;
  out_.append(scratch_);
  wake_writer();
}

void mqtt_connection::on_slow_consumer() {
  ++core_.counters().slow_consumers;
  core_.log().warn("connection {} ({}): slow consumer, {} bytes pending, closing", id_,
                   peer().address, pending_bytes());
  out_.clear();
  drop_waiting();
  close_with(reason::quota_exceeded, "slow consumer: pending output over limits.max_pending_bytes");
  close_reason_ = "slow_consumer";
}

void mqtt_connection::wake_writer() { writer_.wake(state_); }

void mqtt_connection::write_deferred() noexcept {
  try {
    writer_.write_deferred();
  } catch (...) {
    on_unexpected(std::current_exception());
  }
}

void mqtt_connection::written(std::size_t bytes) {
  counters_.bytes_out += bytes;
  core_.counters().bytes_out += bytes;
  after_write();
}

bool mqtt_connection::over_pending_limit(std::size_t more) const {
  return pending_bytes() + more > core_.limits().max_pending_bytes;
}

asio::awaitable<void> mqtt_connection::write_loop() {
  co_await writer_.run();
  stop();
}

}  // namespace ipc::broker
