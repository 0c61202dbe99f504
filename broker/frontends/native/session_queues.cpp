// session's queue and request/reply side: SEND, CONSUME, CANCEL, ACK, NACK, REQUEST,
// DELIVER and RESPONSE output, and consumers' flow control.
#include <algorithm>
#include <cstring>

#include "core/broker_core.hpp"
#include "frontends/native/session.hpp"
#include "ipc/protocol/encoder.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using protocol::errc;

void session_consumer::deliver(queue&, std::uint64_t delivery, const stored_message& message) {
  owner_.deliver_from_queue(*this, delivery, message);
}
bool session_consumer::ready_for_more() const { return owner_.ready_for_more(); }
void session_consumer::queue_deleted(queue&) { owner_.consumer_cancelled(cid_); }

bool session::ready_for_more() const {
  // Half the output limit: room for what is in flight, never a slow-consumer close.
  bool room = !stopped_ && !draining_ && pending_bytes() < core_.limits().max_pending_bytes / 2;
  if (!room) congested_ = true;  // resume after a write
  return room;
}

void session::deliver_from_queue(session_consumer& consumer, std::uint64_t delivery,
                                 const stored_message& message) {
  if (stopped_ || draining_) return;  // stays unacked; requeued when the session ends
  // No-ack deliveries are settled already: they carry tag 0 (docs/protocol.md §4.10.4).
  std::uint64_t tag = consumer.no_ack() ? 0 : ++last_tag_;
  if (tag != 0) tags_.emplace(tag, tag_entry{&consumer, delivery});
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

void session::after_write() {
  if (!congested_ || pending_bytes() >= core_.limits().max_pending_bytes / 2) return;
  congested_ = false;
  for (auto& [cid, consumer] : consumers_) core_.queues().schedule(consumer->source());
  core_.queues().dispatch_pending();
}

void session::consumer_cancelled(std::uint32_t cid) {
  auto found = consumers_.find(cid);
  if (found == consumers_.end()) return;
  std::erase_if(tags_,
                [&](const auto& entry) { return entry.second.consumer == found->second.get(); });
  send_error(errc::unknown_queue, 0,
             "queue '" + found->second->source().name() + "' was deleted: consumer " +
                 std::to_string(cid) + " cancelled");
  retired_.push_back(std::move(found->second));  // the queue is still iterating over it
  consumers_.erase(found);
}

void session::remove_consumer(std::uint32_t cid) {
  auto found = consumers_.find(cid);
  if (found == consumers_.end()) return;
  auto& consumer = *found->second;
  std::erase_if(tags_, [&](const auto& entry) { return entry.second.consumer == &consumer; });
  consumer.source().remove_consumer(consumer, queue_manager::now_ms());
  core_.queues().schedule(consumer.source());
  consumers_.erase(found);
}

void session::detach_consumers() {
  while (!consumers_.empty()) remove_consumer(consumers_.begin()->first);
  for (auto& consumer : cancelled_) {
    consumer->source().remove_consumer(*consumer, queue_manager::now_ms());
    core_.queues().schedule(consumer->source());
  }
  cancelled_.clear();
  tags_.clear();
}

void session::send_response(std::uint32_t id, std::span<const std::uint8_t> body) {
  if (stopped_ || draining_) return;
  if (over_pending_limit(protocol::response_prefix_size + body.size())) return on_slow_consumer();
  std::uint8_t* at = out_.extend(protocol::response_prefix_size + body.size());
  protocol::write_response_prefix(at, id, body.size());
  std::memcpy(at + protocol::response_prefix_size, body.data(), body.size());
  wake_writer();
}

void session::on_send(const protocol::raw_frame& frame) {
  protocol::send_frame send;
  if (protocol::decode(frame, send) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed SEND");
  if (denied(perms_->may_send(send.queue), send.id,
             "send to queue '" + std::string(send.queue) + "'"))
    return;
  std::uint64_t id = 0;
  auto mark = core_.storage_mark();
  if (auto refused = core_.send(send, id))
    return send_error(refused.code, send.id, refused.message);
  ++counters_.messages_in;
  if (send.id != 0) core_.confirm(*this, send.id, id, mark);
}

void session::on_consume(const protocol::raw_frame& frame) {
  protocol::consume_frame consume;
  if (protocol::decode(frame, consume) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed CONSUME");
  if (denied(perms_->may_consume(consume.queue), consume.id,
             "consume from queue '" + std::string(consume.queue) + "'"))
    return;
  const auto& limits = core_.limits();
  if (consumers_.contains(consume.cid))
    return send_error(errc::duplicate_id, consume.id,
                      "consumer id " + std::to_string(consume.cid) + " is in use");
  if (consumer_count() + subscriptions_.size() >= limits.max_subscriptions)
    return send_error(errc::limit_exceeded, consume.id,
                      "too many subscriptions and consumers (limits.max_subscriptions)");
  if (consume.prefetch > limits.max_prefetch)
    return send_error(
        errc::invalid_argument, consume.id,
        "prefetch over limits.max_prefetch (" + std::to_string(limits.max_prefetch) + ")");
  std::shared_ptr<queue> source;
  if (auto refused = core_.queues().find_or_create(consume.queue, source))
    return send_error(refused.code, consume.id, refused.message);
  bool no_ack = (consume.flags & protocol::consume_flag_no_ack) != 0;
  auto consumer = std::make_unique<session_consumer>(*this, consume.cid, source, no_ack);
  std::uint32_t prefetch = consume.prefetch == 0 ? limits.default_prefetch : consume.prefetch;
  source->add_consumer(*consumer, prefetch, no_ack);
  consumers_.emplace(consume.cid, std::move(consumer));
  send_ok(consume.id);  // before any DELIVER: dispatch runs after this read batch
  core_.queues().schedule(*source);
}

void session::on_cancel(const protocol::raw_frame& frame) {
  protocol::cancel_frame cancel;
  if (protocol::decode(frame, cancel) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed CANCEL");
  auto found = consumers_.find(cancel.cid);
  if (found == consumers_.end())
    return send_error(errc::invalid_argument, cancel.id,
                      "no consumer " + std::to_string(cancel.cid));
  auto* consumer = found->second.get();
  bool holds_unacked = std::any_of(tags_.begin(), tags_.end(), [&](const auto& entry) {
    return entry.second.consumer == consumer;
  });
  if (!holds_unacked) {
    remove_consumer(cancel.cid);
  } else {  // kept until its last unacked delivery is settled
    consumer->source().stop_delivering(*consumer);
    cancelled_.push_back(std::move(found->second));
    consumers_.erase(found);
  }
  send_ok(cancel.id);
}

void session::on_ack(const protocol::raw_frame& frame) {
  protocol::ack_frame ack;
  if (protocol::decode(frame, ack) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed ACK");
  auto found = tags_.find(ack.delivery_tag);
  if (found == tags_.end())
    return send_error(errc::unknown_delivery, 0,
                      "no unacknowledged delivery " + std::to_string(ack.delivery_tag));
  auto entry = found->second;
  tags_.erase(found);
  entry.consumer->source().ack(*entry.consumer, entry.delivery);
  core_.queues().schedule(entry.consumer->source());  // credit came back
  release_if_cancelled(entry.consumer);
}

void session::on_nack(const protocol::raw_frame& frame) {
  protocol::nack_frame nack;
  if (protocol::decode(frame, nack) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed NACK");
  auto found = tags_.find(nack.delivery_tag);
  if (found == tags_.end())
    return send_error(errc::unknown_delivery, 0,
                      "no unacknowledged delivery " + std::to_string(nack.delivery_tag));
  auto entry = found->second;
  tags_.erase(found);
  entry.consumer->source().nack(*entry.consumer, entry.delivery, nack.disposition,
                                queue_manager::now_ms());
  core_.queues().schedule(entry.consumer->source());
  release_if_cancelled(entry.consumer);
}

void session::release_if_cancelled(session_consumer* consumer) {
  auto found = std::find_if(cancelled_.begin(), cancelled_.end(),
                            [&](const auto& c) { return c.get() == consumer; });
  if (found == cancelled_.end()) return;
  for (const auto& [tag, entry] : tags_)
    if (entry.consumer == consumer) return;  // still holds unacked deliveries
  consumer->source().remove_consumer(*consumer, queue_manager::now_ms());
  cancelled_.erase(found);
}

void session::on_request(const protocol::raw_frame& frame) {
  protocol::request_frame request;
  if (protocol::decode(frame, request) != errc::ok)
    return close_with_error(errc::malformed_frame, "malformed REQUEST");
  if (request.id == 0)
    return send_error(errc::invalid_argument, 0, "a REQUEST needs a non-zero id");
  if (open_requests_.contains(request.id))
    return send_error(errc::duplicate_id, request.id, "request id in use");
  bool to_queue = request.target_kind == protocol::request_target::queue;
  if (denied(to_queue ? perms_->may_send(request.target) : perms_->may_publish(request.target),
             request.id,
             std::string(to_queue ? "request to queue '" : "request to '") +
                 std::string(request.target) + "'"))
    return;
  if (auto refused = core_.request(*this, request))
    return send_error(refused.code, request.id, refused.message);
  ++counters_.messages_in;
}

}  // namespace ipc::broker
