// mqtt_connection's messages (docs/mqtt.md §4, §5): PUBLISH from the client into the
// core with its QoS 1 and 2 answers, and the core's deliveries out to the client with the
// in-flight window, packet identifiers, and the PUBACK / PUBREC / PUBREL / PUBCOMP flows.
#include <algorithm>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "ipc/message/attributes.hpp"
#include "ipc/routing/topic.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using mqtt::packet_type;
using mqtt::reason;

namespace {
// Confirm references: the packet id with the QoS above it, to answer PUBACK or PUBREC.
constexpr std::uint32_t confirm_ref(std::uint8_t qos, std::uint16_t packet_id) {
  return std::uint32_t{qos} << 16 | packet_id;
}
std::uint64_t steady_ms() { return queue_manager::now_ms(); }
}  // namespace

void mqtt_connection::on_publish(const mqtt::raw_packet& packet) {
  mqtt::publish_packet p;
  if (auto r = mqtt::decode(packet, version_, p); r != reason::success)
    return protocol_error(r, r == reason::topic_alias_invalid ? "topic alias 0 is out of range"
                                                              : "malformed PUBLISH");
  // Topic aliases (MQTT 5 §3.3.2.3.4): 0 and past our maximum end the connection.
  if (p.props.topic_alias) {
    std::uint16_t alias = *p.props.topic_alias;
    if (alias == 0 || alias >= inbound_aliases_.size())
      return protocol_error(reason::topic_alias_invalid,
                            "topic alias " + std::to_string(alias) + " is out of range");
    if (p.topic.empty()) {
      if (inbound_aliases_[alias].empty())
        return protocol_error(reason::protocol_error,
                              "topic alias " + std::to_string(alias) + " was never set");
      p.topic = inbound_aliases_[alias];
    } else {
      inbound_aliases_[alias] = std::string(p.topic);
    }
  } else if (p.topic.empty()) {
    return protocol_error(reason::protocol_error, "PUBLISH without a topic name");
  }
  if (routing::has_wildcard(p.topic))  // MQTT 5 §3.3.2-2
    return protocol_error(reason::topic_name_invalid, "wildcards in a PUBLISH topic name");
  if (p.qos == 2 && inbound_qos2_.contains(p.packet_id)) {
    // A retransmission (MQTT 5 §4.3.3): already routed; answer again, route nothing.
    return send_ack(packet_type::pubrec, p.packet_id, reason::success);
  }
  if (p.qos != 0 && v5() &&
      confirms_pending_ + inbound_qos2_.size() >= registry_->settings().receive_maximum)
    return protocol_error(reason::receive_maximum_exceeded,
                          "more unacknowledged QoS 1 and 2 publishes than Receive Maximum");
  ++counters_.messages_in;
  if (!headers_.build(p))
    return answer_publish(p.qos, p.packet_id, reason::quota_exceeded, "too many user properties");
  message_in m;
  m.topic = p.topic;
  m.reply_to = p.props.response_topic.value_or(std::string_view{});
  m.headers = headers_.view();
  m.payload = p.payload;
  if (p.qos == 2) inbound_qos2_.insert(p.packet_id);
  std::uint32_t ref = p.qos == 0 ? 0 : confirm_ref(p.qos, p.packet_id);
  if (ref != 0) ++confirms_pending_;
  publishing_ = true;
  auto refused = core_.publish(*state_, m, ref);
  publishing_ = false;
  if (!refused && session_ != nullptr) {
    // Its id, so that its copy in our own session queue is not delivered to No Local
    // subscriptions; the latest 1024 are enough for what is in flight.
    own_ids_.push_back(core_.last_message_id());
    own_id_set_.insert(own_ids_.back());
    if (own_ids_.size() > 1024) {
      own_id_set_.erase(own_ids_.front());
      own_ids_.pop_front();
    }
  }
  if (refused) {
    if (ref != 0) --confirms_pending_;
    if (p.qos == 2) inbound_qos2_.erase(p.packet_id);
    answer_publish(p.qos, p.packet_id, reason_of(refused.code), refused.message);
    return;
  }
  if (core_.publisher_must_wait(p.topic)) reading_paused_ = true;
}

void mqtt_connection::answer_publish(std::uint8_t qos, std::uint16_t packet_id, reason code,
                                     std::string_view message) {
  // A refused publish: MQTT 5 says why in PUBACK or PUBREC; MQTT 3.1.1 has no negative
  // acknowledgement (§3.3.5-2: acknowledge it or close), so it is acknowledged and logged.
  std::string note;
  if (core_.log_allowed(noisy_event::protocol_error, note))
    core_.log().info("connection {} ({}): MQTT publish refused: {}{}", id_, peer().address,
                     loggable(message), note);
  if (qos == 0) return;  // nothing to say
  if (!v5()) code = reason::success;
  send_ack(qos == 1 ? packet_type::puback : packet_type::pubrec, packet_id, code, message);
}

void mqtt_connection::confirmed(std::uint32_t ref, std::uint64_t, errc outcome,
                                std::string_view message) {
  if (stopped_ || draining_) return;
  auto qos = static_cast<std::uint8_t>(ref >> 16);
  auto packet_id = static_cast<std::uint16_t>(ref & 0xffff);
  if (confirms_pending_ > 0) --confirms_pending_;
  if (outcome != errc::ok) {
    if (qos == 2) inbound_qos2_.erase(packet_id);
    return answer_publish(qos, packet_id, reason_of(outcome), message);
  }
  send_ack(qos == 1 ? packet_type::puback : packet_type::pubrec, packet_id, reason::success);
}

void mqtt_connection::send_ack(packet_type type, std::uint16_t packet_id, reason code,
                               std::string_view message) {
  mqtt::ack_packet ack;
  ack.type = type;
  ack.packet_id = packet_id;
  ack.code = code;
  if (v5() && !message.empty()) ack.props.reason_string = message;
  scratch_.clear();
  mqtt::encode(scratch_, version_, ack);
  queue_packet();
}

void mqtt_connection::on_ack(const mqtt::raw_packet& packet) {
  mqtt::ack_packet a;
  if (auto r = mqtt::decode(packet, version_, a); r != reason::success)
    return protocol_error(r, "malformed " + std::string(mqtt::packet_type_name(packet.type())));
  if (a.type == packet_type::pubrel) {
    // The end of an inbound QoS 2 flow (method A of MQTT 5 §4.3.3: routed on PUBLISH).
    bool known = inbound_qos2_.erase(a.packet_id) != 0;
    return send_ack(packet_type::pubcomp, a.packet_id,
                    known || !v5() ? reason::success : reason::packet_identifier_not_found);
  }
  auto found = outbound_.find(a.packet_id);
  auto expected = a.type == packet_type::puback   ? outbound_state::puback
                  : a.type == packet_type::pubrec ? outbound_state::pubrec
                                                  : outbound_state::pubcomp;
  if (found == outbound_.end() || found->second != expected) {
    if (a.type == packet_type::pubrec)  // MQTT 5 §4.3.3: answer an unknown PUBREC
      send_ack(packet_type::pubrel, a.packet_id,
               v5() ? reason::packet_identifier_not_found : reason::success);
    core_.log().debug("connection {} ({}): {} for packet id {} not in flight", id_, peer().address,
                      mqtt::packet_type_name(a.type), a.packet_id);
    return;
  }
  // The client has the message once it acknowledges or receives it: a queue delivery is
  // settled then (for QoS 2 the rest of the flow is the session's, not the queue's).
  if (a.type != packet_type::pubcomp) settle_queue_delivery(a.packet_id);
  if (a.type == packet_type::pubrec && static_cast<std::uint8_t>(a.code) < 0x80) {
    found->second = outbound_state::pubcomp;
    return send_ack(packet_type::pubrel, a.packet_id, reason::success);
  }
  outbound_.erase(found);  // acknowledged, completed, or refused by the client
  send_waiting();
}

void mqtt_connection::deliver_message(std::uint32_t sid, const outgoing_message& message) {
  if (stopped_ || draining_ || !connected_) return;
  auto filter = filters_.find(sid);
  if (filter == filters_.end()) return;
  const subscription& sub = subscriptions_.find(filter->second)->second;
  if (sub.no_local && publishing_ && !message.retained) return;  // our own publish
  mqtt_outbound& m = outbound_scratch_;
  if (!read_outbound(message.body, m)) return;
  std::uint8_t qos = std::min(m.qos, sub.max_qos);
  bool retain = message.retained || (sub.retain_as_published && m.retain);
  deliver(m, message.body, qos, retain, sub.identifier, message.expires_at_ms);
}

void mqtt_connection::deliver(const mqtt_outbound& m, std::span<const std::uint8_t> body,
                              std::uint8_t qos, bool retain, std::uint32_t subscription_id,
                              std::uint64_t expires_at_ms) {
  if (qos == 0 || (outbound_.size() < window_ && waiting_.empty())) {
    send_publish(m, qos, retain, subscription_id, expires_at_ms);
    return;
  }
  // Past the in-flight window: held in order until acknowledgements make room, counted in
  // the connection's pending bytes (limits.max_pending_bytes, the slow-consumer rule).
  if (over_pending_limit(body.size())) {
    if (core_.limits().slow_consumer != "drop") return on_slow_consumer();
    if (counters_.dropped++ == 0)
      core_.log().warn("connection {} ({}): slow consumer, dropping messages", id_, peer().address);
    ++core_.counters().slow_consumer_drops;
    return;
  }
  waiting_.push_back({std::vector<std::uint8_t>(body.begin(), body.end()), qos, retain,
                      subscription_id, expires_at_ms});
  waiting_bytes_ += body.size();
  core_memory_->add(body.size());
}

std::uint16_t mqtt_connection::send_publish(const mqtt_outbound& m, std::uint8_t qos, bool retain,
                                            std::uint32_t subscription_id,
                                            std::uint64_t expires_at_ms, std::uint16_t packet_id,
                                            bool dup) {
  mqtt_delivery d;
  d.qos = qos;
  d.retain = retain;
  d.dup = dup && qos != 0;
  d.subscription_id = subscription_id;
  if (expires_at_ms != 0) {
    auto now = steady_ms();
    if (expires_at_ms <= now) return 0;  // expired while it waited
    d.expiry_s = static_cast<std::uint32_t>((expires_at_ms - now + 999) / 1000);
  }
  if (v5() && client_alias_max_ != 0) {
    // Topic aliases towards the client (MQTT 5 §3.3.2.3.4): the first topics get one;
    // a topic sent again goes as its alias alone.
    auto alias = outbound_aliases_.find(std::string(m.record.topic));
    if (alias != outbound_aliases_.end()) {
      d.topic_alias = alias->second;
      d.alias_only = true;
    } else if (outbound_aliases_.size() < client_alias_max_) {
      d.topic_alias = static_cast<std::uint16_t>(outbound_aliases_.size() + 1);
      outbound_aliases_.emplace(m.record.topic, d.topic_alias);
    }
  }
  if (qos != 0) d.packet_id = packet_id != 0 ? packet_id : next_packet_id();
  scratch_.clear();
  encode_delivery(scratch_, version_, m, d);
  if (scratch_.size() > client_max_packet_) {
    // MQTT 5 §3.1.2.11.4: a packet over the client's maximum is discarded as if sent.
    ++counters_.dropped;
    return 0;
  }
  if (over_pending_limit(scratch_.size())) {
    if (core_.limits().slow_consumer != "drop" || qos != 0) {
      on_slow_consumer();
      return 0;
    }
    if (counters_.dropped++ == 0)
      core_.log().warn("connection {} ({}): slow consumer, dropping messages", id_, peer().address);
    ++core_.counters().slow_consumer_drops;
    return 0;
  }
  if (qos != 0) outbound_[d.packet_id] = qos == 1 ? outbound_state::puback : outbound_state::pubrec;
  out_.append(scratch_);
  ++counters_.messages_out;
  ++core_.counters().messages_out;
  wake_writer();
  return d.packet_id;
}

std::uint16_t mqtt_connection::next_packet_id() {
  // The window is at most 65535, so a free id is always found.
  do {
    last_packet_id_ = static_cast<std::uint16_t>(last_packet_id_ + 1);
  } while (last_packet_id_ == 0 || outbound_.contains(last_packet_id_));
  return last_packet_id_;
}

void mqtt_connection::send_waiting() {
  while (!waiting_.empty() && outbound_.size() < window_ && !stopped_ && !draining_) {
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    waiting_bytes_ -= next.record.size();
    core_memory_->release(next.record.size());
    mqtt_outbound m;
    if (!read_outbound(next.record, m)) continue;
    send_publish(m, next.qos, next.retain, next.subscription_id, next.expires_at_ms);
  }
}

}  // namespace ipc::broker
