// mqtt_connection's subscriptions (docs/mqtt.md §4.3): SUBSCRIBE with its options (maximum
// QoS, no local, retain as published, retain handling, subscription identifier) onto the
// core's subscriptions, the retained messages after SUBACK, and UNSUBSCRIBE.
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"

namespace ipc::broker {

using mqtt::packet_type;
using mqtt::reason;

namespace {
constexpr std::string_view share_prefix = "$share/";
}  // namespace

void mqtt_connection::on_subscribe(const mqtt::raw_packet& packet) {
  mqtt::subscribe_packet s;
  if (auto r = mqtt::decode(packet, version_, s); r != reason::success)
    return protocol_error(r, "malformed SUBSCRIBE");
  std::uint32_t identifier = 0;
  if (!s.props.subscription_identifiers.empty()) identifier = s.props.subscription_identifiers[0];
  mqtt::subscribe_ack_packet ack;
  ack.type = packet_type::suback;
  ack.packet_id = s.packet_id;
  std::vector<std::uint32_t> retained_for;  // sids whose retained messages follow the SUBACK
  std::string problems;
  for (const auto& request : s.requests) {
    auto refuse = [&](reason code, std::string_view why) {
      ack.codes.push_back(v5() ? static_cast<std::uint8_t>(code) : 0x80);
      if (!problems.empty()) problems += "; ";
      problems += std::string(request.filter) + ": " + std::string(why);
    };
    if (request.filter.starts_with(share_prefix)) {
      refuse(reason::shared_subscriptions_not_supported, "shared subscriptions are not offered");
      continue;
    }
    auto existing = subscriptions_.find(request.filter);
    bool is_new = existing == subscriptions_.end();
    std::uint32_t sid = is_new ? ++last_sid_ : existing->second.sid;
    if (is_new) {
      if (auto refused = core_.subscribe(*state_, sid, request.filter)) {
        --last_sid_;
        refuse(reason_of(refused.code), refused.message);
        continue;
      }
      existing = subscriptions_.emplace(std::string(request.filter), subscription{}).first;
      filters_.emplace(sid, existing->first);
    }
    // A repeated filter replaces the options of the subscription (MQTT 5 §3.8.4-3).
    subscription& sub = existing->second;
    sub.sid = sid;
    sub.max_qos = request.max_qos;
    sub.no_local = request.no_local;
    sub.retain_as_published = request.retain_as_published;
    sub.identifier = identifier;
    ack.codes.push_back(request.max_qos);
    // Retain Handling (MQTT 5 §3.8.3.1): 0 always, 1 only for a new subscription, 2 never.
    if (request.retain_handling == 0 || (request.retain_handling == 1 && is_new))
      retained_for.push_back(sid);
  }
  if (v5() && !problems.empty()) ack.props.reason_string = problems;
  scratch_.clear();
  mqtt::encode(scratch_, version_, ack);
  queue_packet();
  for (auto sid : retained_for) core_.send_retained(*state_, sid);
}

void mqtt_connection::on_unsubscribe(const mqtt::raw_packet& packet) {
  mqtt::unsubscribe_packet u;
  if (auto r = mqtt::decode(packet, version_, u); r != reason::success)
    return protocol_error(r, "malformed UNSUBSCRIBE");
  mqtt::subscribe_ack_packet ack;
  ack.type = packet_type::unsuback;
  ack.packet_id = u.packet_id;
  for (auto filter : u.filters) {
    auto found = subscriptions_.find(filter);
    if (found == subscriptions_.end()) {
      ack.codes.push_back(static_cast<std::uint8_t>(reason::no_subscription_existed));
      continue;
    }
    auto sid = found->second.sid;
    (void)core_.unsubscribe(*state_, sid);
    filters_.erase(sid);
    subscriptions_.erase(found);
    ack.codes.push_back(static_cast<std::uint8_t>(reason::success));
  }
  scratch_.clear();
  mqtt::encode(scratch_, version_, ack);
  queue_packet();
}

void mqtt_connection::subscription_ended(std::uint32_t sid, std::string_view pattern,
                                         std::string_view message) {
  // A reload took the permission away: the subscription is gone; MQTT has no packet to
  // tell the client, so the log says it.
  core_.log().info("connection {} ({}): subscription '{}' ended: {}", id_, peer().address,
                   loggable(pattern), loggable(message));
  auto filter = filters_.find(sid);
  if (filter == filters_.end()) return;
  subscriptions_.erase(filter->second);
  filters_.erase(filter);
}

}  // namespace ipc::broker
