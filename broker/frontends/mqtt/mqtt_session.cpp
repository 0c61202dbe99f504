// mqtt_connection's persistent session (docs/mqtt.md §3.4): taken over or made at
// CONNECT, restored after CONNACK (subscriptions, the queue consumer, unfinished QoS 2
// flows), fed from its queue while connected, and handed back when the connection ends.
#include <algorithm>

#include <asio/post.hpp>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "ipc/message/record.hpp"
#include "ipc/routing/topic.hpp"
#include "queues/queue_manager.hpp"
#include "queues/stored_message.hpp"

namespace ipc::broker {

using mqtt::packet_type;
using mqtt::reason;

bool mqtt_connection::open_session(const std::string& user, bool clean_start, bool& present) {
  present = false;
  if (session_expiry_s_ == 0) {
    registry_->discard(client_id_);  // a clean session ends any earlier one (§3.1.2.4)
    return true;
  }
  if (!clean_start) session_ = registry_->resume(client_id_, user);
  present = session_ != nullptr;
  if (!session_) {
    std::string error;
    session_ = registry_->create(client_id_, user, session_expiry_s_, error);
    if (!session_) {
      core_.log().warn("connection {} ({}): no session for '{}': {}", id_, peer().address,
                       loggable(client_id_), error);
      return false;
    }
  }
  session_->expiry_s = session_expiry_s_;
  return true;
}

void mqtt_connection::restore_session() {
  if (!session_) return;
  for (const auto& [filter, options] : session_->subscriptions) {
    if (filter.starts_with("$share/")) {
      bool is_new = false;
      if (auto refused = apply_subscription(filter, options, is_new))
        core_.log().info("connection {} ({}): session subscription '{}' not restored: {}", id_,
                         peer().address, loggable(filter), refused.message);
      continue;
    }
    std::uint32_t sid = ++last_sid_;
    bool bound = options.max_qos > 0;
    if (!bound) {
      if (auto refused = core_.subscribe(*state_, sid, filter)) {
        core_.log().info("connection {} ({}): session subscription '{}' not restored: {}", id_,
                         peer().address, loggable(filter), refused.message);
        continue;
      }
    }
    auto& sub = subscriptions_.emplace(filter, subscription{}).first->second;
    static_cast<mqtt_subscription_options&>(sub) = options;
    sub.sid = sid;
    sub.bound = bound;
    filters_.emplace(sid, filter);
  }
  for (auto id : session_->inbound_qos2) inbound_qos2_.insert(id);
  // MQTT 5 §4.4: PUBREL is sent again for QoS 2 deliveries the client had received.
  for (auto id : session_->pubrel_pending) {
    outbound_[id] = outbound_state::pubcomp;
    send_ack(packet_type::pubrel, id, reason::success);
  }
  session_->inbound_qos2.clear();
  session_->pubrel_pending.clear();
  session_queue_ = core_.queues().find(session_->queue);
  if (session_queue_) {
    session_queue_->add_consumer(consumer_, window_, false);
    core_.queues().schedule(*session_queue_);
  }
}

void mqtt_connection::leave_session() {
  while (!shares_.empty()) close_share(shares_.begin()->first);
  if (!session_) return;
  auto now = queue_manager::now_ms();
  if (session_queue_) {
    session_queue_->remove_consumer(consumer_, now);  // unacknowledged deliveries go back
    core_.queues().schedule(*session_queue_);
    session_queue_.reset();
  }
  for (const auto& [id, state] : outbound_)
    if (state == outbound_state::pubcomp) session_->pubrel_pending.push_back(id);
  std::erase_if(queue_deliveries_, [](const auto& entry) { return entry.second.share.empty(); });
  session_->inbound_qos2.assign(inbound_qos2_.begin(), inbound_qos2_.end());
  session_->disconnected_at = std::chrono::steady_clock::now();
  if (session_->expiry_s == 0) registry_->discard(client_id_);  // DISCONNECT ended it
  session_.reset();
}

bool mqtt_connection::ready_for_more() const {
  // Half the output limit, as for native consumers: room for what is in flight.
  bool room = !stopped_ && !draining_ && pending_bytes() < core_.limits().max_pending_bytes / 2;
  if (!room) congested_ = true;
  return room;
}

void mqtt_connection::after_write() {
  if (!congested_ || pending_bytes() >= core_.limits().max_pending_bytes / 2) return;
  congested_ = false;
  if (session_queue_) core_.queues().schedule(*session_queue_);
  for (const auto& [filter, share] : shares_) core_.queues().schedule(*share->source());
  core_.queues().dispatch_pending();
}

void mqtt_connection::session_queue_deleted(queue&) {
  session_queue_.reset();
  std::erase_if(queue_deliveries_, [](const auto& entry) { return entry.second.share.empty(); });
  close_with(reason::administrative_action, "the session's queue was deleted");
}

void mqtt_connection::deliver_from_queue(queue&, std::uint64_t delivery,
                                         const stored_message& message) {
  // The options of the bound subscriptions the topic matches (overlapping ones: the
  // highest QoS, MQTT 5 §3.3.4); No Local counts when every one of them has it.
  message_record::fields f;
  bool readable = message_record::decode_record(message.body.bytes(), f);
  std::uint8_t max_qos = 0;
  bool matched = false, all_no_local = true, retain_as_published = false;
  std::uint32_t identifier = 0;
  if (readable) {
    for (const auto& [filter, sub] : subscriptions_) {
      if (!sub.bound || !routing::topic_matches(filter, f.topic)) continue;
      matched = true;
      max_qos = std::max(max_qos, sub.max_qos);
      all_no_local = all_no_local && sub.no_local;
      retain_as_published = retain_as_published || sub.retain_as_published;
      if (identifier == 0) identifier = sub.identifier;
    }
  }
  bool own = own_id_set_.contains(message.id);
  deliver_queued({}, delivery, message, max_qos, retain_as_published, identifier,
                 !matched || (own && all_no_local));
}

void mqtt_connection::deliver_queued(const std::string& share, std::uint64_t delivery,
                                     const stored_message& message, std::uint8_t max_qos,
                                     bool retain_as_published, std::uint32_t identifier,
                                     bool skip) {
  mqtt_outbound& m = outbound_scratch_;
  if (skip || stopped_ || draining_ || !read_outbound(message.body.bytes(), m))
    return settle_later(share, delivery);  // nothing to send
  std::uint8_t qos = std::min(m.qos, max_qos);
  bool retain = retain_as_published && m.retain;
  if (qos == 0) {
    send_publish(m, 0, retain, identifier, message.expires_at_ms);
    return settle_later(share, delivery);
  }
  // A redelivery of the session queue goes with the packet identifier it had, and DUP
  // (MQTT 5 §4.4).
  std::uint16_t packet_id = 0;
  if (session_ && share.empty())
    if (auto known = session_->packet_ids.find(message.id);
        known != session_->packet_ids.end() && !outbound_.contains(known->second))
      packet_id = known->second;
  bool dup = message.delivery_count > 1;
  packet_id = send_publish(m, qos, retain, identifier, message.expires_at_ms, packet_id, dup);
  if (packet_id == 0) return settle_later(share, delivery);  // over the client's maximum size
  queue_deliveries_[packet_id] = {delivery, message.id, share};
  if (session_ && share.empty()) session_->packet_ids[message.id] = packet_id;
}

std::pair<queue*, queue_consumer*> mqtt_connection::source_of(const std::string& share) {
  if (share.empty()) return {session_queue_.get(), session_queue_ ? &consumer_ : nullptr};
  auto found = shares_.find(share);
  if (found == shares_.end()) return {nullptr, nullptr};
  return {found->second->source().get(), found->second.get()};
}

void mqtt_connection::settle_later(const std::string& share, std::uint64_t delivery) {
  // A queue's consumer may not call back into the queue while it delivers: deliveries
  // that need no acknowledgement from the client are settled just after.
  settle_soon_.emplace_back(share, delivery);
  if (settle_soon_.size() > 1) return;
  asio::post(stream_->get_executor(), [self = shared_from_this()] {
    auto deliveries = std::move(self->settle_soon_);
    self->settle_soon_.clear();
    for (const auto& [key, d] : deliveries) {
      auto [source, consumer] = self->source_of(key);
      if (source == nullptr) continue;  // gone: its deliveries went back with it
      (void)source->ack(*consumer, d);
      self->core_.queues().schedule(*source);
    }
    self->core_.queues().dispatch_pending();
  });
}

void mqtt_connection::settle_queue_delivery(std::uint16_t packet_id) {
  auto found = queue_deliveries_.find(packet_id);
  if (found == queue_deliveries_.end()) return;
  if (session_ && found->second.share.empty()) session_->packet_ids.erase(found->second.message_id);
  auto [source, consumer] = source_of(found->second.share);
  if (source != nullptr) {
    (void)source->ack(*consumer, found->second.delivery);
    core_.queues().schedule(*source);
  }
  queue_deliveries_.erase(found);
}

}  // namespace ipc::broker
