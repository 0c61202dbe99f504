// session's frames after the handshake (docs/protocol.md §4, §5): each decoded, turned
// into a core call with neutral values, and answered; and the core's callbacks (confirms,
// replies, timeouts, reload effects, queue deliveries) turned into frames.
#include <cstring>

#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "core/loggable.hpp"
#include "frontends/native/session.hpp"
#include "frontends/native/wire_codes.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
nack_action action_of(protocol::nack_disposition disposition) {
  switch (disposition) {
    case protocol::nack_disposition::requeue: return nack_action::requeue;
    case protocol::nack_disposition::dead_letter: return nack_action::dead_letter;
    case protocol::nack_disposition::drop: return nack_action::drop;
  }
  return nack_action::requeue;
}
}  // namespace

void session::refuse(const refusal& refused, std::uint32_t ref) {
  send_error(wire_code(refused.code), ref, refused.message);
}

void session::send_error(protocol::errc code, std::uint32_t ref, std::string_view message,
                         bool fatal) {
  frame_scratch_.clear();
  protocol::encode_error(frame_scratch_, code, ref, fatal, message);
  queue_frame();
}

void session::send_ok(std::uint32_t ref, std::uint64_t value) {
  frame_scratch_.clear();
  protocol::encode_ok(frame_scratch_, ref, value);
  queue_frame();
}

void session::on_publish(const protocol::raw_frame& frame) {
  protocol::publish_frame publish;
  if (protocol::decode(frame, publish) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed PUBLISH");
  message_in m{publish.topic, publish.reply_to, publish.headers, publish.payload,
               publish.record_fields};
  if (auto refused = core_.publish(*state_, m, publish.id)) return refuse(refused, publish.id);
  ++counters_.messages_in;
  // Over limits.max_memory: this publish is taken, the frames behind it wait unread
  // (TCP or pipe back-pressure on the publisher) until the alarm clears.
  if (core_.publisher_must_wait(publish.topic)) reading_paused_ = true;
}

void session::on_subscribe(const protocol::raw_frame& frame) {
  protocol::subscribe_frame subscribe;
  if (protocol::decode(frame, subscribe) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed SUBSCRIBE");
  if (auto refused = core_.subscribe(*state_, subscribe.sid, subscribe.pattern))
    return refuse(refused, subscribe.id);
  send_ok(subscribe.id);
  core_.send_retained(*state_, subscribe.sid);  // after the OK (docs/protocol.md §4.2.1)
}

void session::on_unsubscribe(const protocol::raw_frame& frame) {
  protocol::unsubscribe_frame unsubscribe;
  if (protocol::decode(frame, unsubscribe) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed UNSUBSCRIBE");
  if (auto refused = core_.unsubscribe(*state_, unsubscribe.sid))
    return refuse(refused, unsubscribe.id);
  send_ok(unsubscribe.id);
}

void session::on_admin(const protocol::raw_frame& frame) {
  protocol::admin_frame admin;
  if (protocol::decode(frame, admin) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed ADMIN");
  errc status = errc::ok;
  std::string body = core_.admin(*state_, admin.command, admin.args, status);
  frame_scratch_.clear();
  protocol::encode_admin_result(frame_scratch_, admin.id,
                                static_cast<std::uint16_t>(wire_code(status)), body);
  queue_frame();
}

void session::on_ping(const protocol::raw_frame& frame) {
  protocol::ping_frame ping;
  if (protocol::decode(frame, ping) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed PING");
  frame_scratch_.clear();
  protocol::encode_pong(frame_scratch_, ping.token);
  queue_frame();
}

void session::on_send(const protocol::raw_frame& frame) {
  protocol::send_frame send;
  if (protocol::decode(frame, send) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed SEND");
  message_in m{{}, send.reply_to, send.headers, send.payload};
  if (auto refused = core_.send(*state_, send.queue, m, send.id)) return refuse(refused, send.id);
  ++counters_.messages_in;
}

void session::on_consume(const protocol::raw_frame& frame) {
  protocol::consume_frame consume;
  if (protocol::decode(frame, consume) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed CONSUME");
  if (consumers_.contains(consume.cid))
    return send_error(protocol::errc::duplicate_id, consume.id,
                      "consumer id " + std::to_string(consume.cid) + " is in use");
  std::shared_ptr<queue> source;
  if (auto refused = core_.consume(*state_, consume.queue, consume.prefetch, source))
    return refuse(refused, consume.id);
  bool no_ack = (consume.flags & protocol::consume_flag_no_ack) != 0;
  std::uint32_t prefetch =
      consume.prefetch == 0 ? core_.limits().default_prefetch : consume.prefetch;
  consumers_.add(consume.cid, source, prefetch, no_ack);
  send_ok(consume.id);  // before any DELIVER: dispatch runs after this read batch
}

void session::on_cancel(const protocol::raw_frame& frame) {
  protocol::cancel_frame cancel;
  if (protocol::decode(frame, cancel) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed CANCEL");
  if (!consumers_.cancel(cancel.cid, queue_manager::now_ms()))
    return send_error(protocol::errc::invalid_argument, cancel.id,
                      "no consumer " + std::to_string(cancel.cid));
  send_ok(cancel.id);
}

void session::on_ack(const protocol::raw_frame& frame) {
  protocol::ack_frame ack;
  if (protocol::decode(frame, ack) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed ACK");
  if (consumers_.ack(ack.delivery_tag, queue_manager::now_ms()) != errc::ok)
    send_error(protocol::errc::unknown_delivery, 0,
               "no unacknowledged delivery " + std::to_string(ack.delivery_tag));
}

void session::on_nack(const protocol::raw_frame& frame) {
  protocol::nack_frame nack;
  if (protocol::decode(frame, nack) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed NACK");
  if (consumers_.nack(nack.delivery_tag, action_of(nack.disposition), queue_manager::now_ms()) !=
      errc::ok)
    send_error(protocol::errc::unknown_delivery, 0,
               "no unacknowledged delivery " + std::to_string(nack.delivery_tag));
}

void session::on_request(const protocol::raw_frame& frame) {
  protocol::request_frame request;
  if (protocol::decode(frame, request) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed REQUEST");
  if (request.id == 0)
    return send_error(protocol::errc::invalid_argument, 0, "a REQUEST needs a non-zero id");
  auto kind = request.target_kind == protocol::request_target::queue ? request_target::queue
                                                                     : request_target::topic;
  message_in m{kind == request_target::topic ? request.target : std::string_view{},
               {},
               request.headers,
               request.payload};
  if (auto refused =
          core_.request(*state_, request.id, kind, request.target, request.timeout_ms, m))
    return refuse(refused, request.id);
  ++counters_.messages_in;
}

// The core's callbacks.

void session::confirmed(std::uint32_t ref, std::uint64_t value, errc outcome,
                        std::string_view message) {
  if (outcome == errc::ok) return send_ok(ref, value);
  send_error(wire_code(outcome), ref, message);
}

void session::replied(std::uint32_t request, std::span<const std::uint8_t> record) {
  if (stopped_ || draining_) return;
  if (over_pending_limit(protocol::response_prefix_size + record.size())) return on_slow_consumer();
  std::uint8_t* at = out_.extend(protocol::response_prefix_size + record.size());
  protocol::write_response_prefix(at, request, record.size());
  std::memcpy(at + protocol::response_prefix_size, record.data(), record.size());
  wake_writer();
}

void session::request_failed(std::uint32_t request, errc code, std::string_view message) {
  send_error(wire_code(code), request, message);
}

void session::subscription_ended(std::uint32_t, std::string_view, std::string_view message) {
  send_error(protocol::errc::permission_denied, 0, message);
}

void session::permissions_changed(const permissions& now) {
  std::vector<std::pair<std::uint32_t, std::string>> ended;
  consumers_.for_each_live([&](registered_consumer& c) {
    if (!now.may_consume(c.source().name())) ended.emplace_back(c.cid(), c.source().name());
  });
  for (const auto& [cid, name] : ended) {
    consumers_.remove(cid, queue_manager::now_ms());  // unacknowledged deliveries go back
    core_.log().info("connection {} ({}) as '{}': consumer {} on queue '{}' ended by reload", id_,
                     peer().address, state_->user(), cid, name);
    send_error(protocol::errc::permission_denied, 0,
               "consumer " + std::to_string(cid) + " on queue '" + name +
                   "' cancelled: no longer permitted after a config reload");
  }
}

void session::deliver_from_queue(registered_consumer& consumer, std::uint64_t delivery,
                                 const stored_message& message) {
  if (stopped_ || draining_) return;  // stays unacked; requeued when the session ends
  // No-ack deliveries are settled already: they carry tag 0 (docs/protocol.md §4.10.4).
  std::uint64_t tag = consumers_.tag(consumer, delivery);
  auto body = message.body.bytes();
  std::size_t prefix = protocol::deliver_prefix_size;
  if (body.size() <= inline_body_limit) {
    std::uint8_t* at = out_.extend(prefix + body.size());
    protocol::write_deliver_prefix(at, consumer.cid(), tag, message.delivery_count, body.size());
    std::memcpy(at + prefix, body.data(), body.size());
  } else {
    protocol::write_deliver_prefix(out_.extend(prefix), consumer.cid(), tag, message.delivery_count,
                                   body.size());
    out_.append(message.body);
  }
  ++counters_.messages_out;
  ++core_.counters().messages_out;
  wake_writer();
}

void session::consumer_queue_deleted(registered_consumer& consumer) {
  send_error(protocol::errc::unknown_queue, 0,
             "queue '" + consumer.source().name() + "' was deleted: consumer " +
                 std::to_string(consumer.cid()) + " cancelled");
}

}  // namespace ipc::broker
