// mqtt_connection's subscriptions (docs/mqtt.md §4.3): SUBSCRIBE with its options (maximum
// QoS, no local, retain as published, retain handling, subscription identifier) onto the
// core's subscriptions — or, for QoS 1 and 2 in a persistent session, bindings into the
// session's queue — the retained messages after SUBACK, and UNSUBSCRIBE.
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using mqtt::packet_type;
using mqtt::reason;

namespace {
constexpr std::string_view share_prefix = "$share/";
}  // namespace

refusal mqtt_connection::apply_subscription(std::string_view filter,
                                            const mqtt_subscription_options& options,
                                            bool& is_new) {
  // QoS 0 subscriptions are always the core's (never stored: MQTT does not require QoS 0
  // messages to be kept for an absent client); QoS 1 and 2 ones of a persistent session
  // are bindings into its queue, so their messages wait while the client is away.
  bool shared = filter.starts_with(share_prefix);
  bool bind = !shared && session_ != nullptr && options.max_qos > 0;
  auto existing = subscriptions_.find(filter);
  is_new = existing == subscriptions_.end();
  if (!is_new && !shared && existing->second.bound != bind) {
    remove_subscription(existing);  // it moves between the core and the queue
    existing = subscriptions_.end();
  }
  if (existing == subscriptions_.end()) {
    std::uint32_t sid = ++last_sid_;
    refusal refused;
    std::size_t held = 0;  // subscriptions the core does not count
    for (const auto& [f, s] : subscriptions_) held += s.bound || s.shared ? 1 : 0;
    if (shared) {
      // $share/GROUP/FILTER (MQTT 5 §4.8.2): GROUP is one level without wildcards.
      auto rest = filter.substr(share_prefix.size());
      auto slash = rest.find('/');
      auto group = rest.substr(0, slash == std::string_view::npos ? 0 : slash);
      if (group.empty() || group.find_first_of("+#") != std::string_view::npos ||
          slash + 1 >= rest.size())
        return {errc::invalid_pattern,
                "a shared subscription is $share/GROUP/FILTER, GROUP without wildcards"};
      refused = open_share(filter, group, rest.substr(slash + 1), held);
    } else if (bind) {
      refused = core_.bind_subscription(*state_, session_->queue, filter, held);
    } else {
      refused = core_.subscribe(*state_, sid, filter);
    }
    if (refused) return refused;
    existing = subscriptions_.emplace(std::string(filter), subscription{}).first;
    existing->second.sid = sid;
    existing->second.bound = bind;
    existing->second.shared = shared;
    filters_.emplace(sid, existing->first);
  }
  // A repeated filter replaces the options of the subscription (MQTT 5 §3.8.4-3).
  static_cast<mqtt_subscription_options&>(existing->second) = options;
  return {};
}

void mqtt_connection::remove_subscription(
    std::map<std::string, subscription, std::less<>>::iterator found) {
  if (found->second.shared)
    close_share(found->first);
  else if (found->second.bound)
    (void)core_.queues().unbind(session_->queue, found->first);
  else
    (void)core_.unsubscribe(*state_, found->second.sid);
  filters_.erase(found->second.sid);
  subscriptions_.erase(found);
}

void mqtt_connection::save_subscriptions() {
  if (session_ == nullptr) return;
  session_->subscriptions.clear();
  for (const auto& [filter, sub] : subscriptions_)
    session_->subscriptions.emplace_back(filter, sub);
  registry_->save();
}

void mqtt_connection::on_subscribe(const mqtt::raw_packet& packet) {
  mqtt::subscribe_packet s;
  if (auto r = mqtt::decode(packet, version_, s); r != reason::success)
    return protocol_error(r, "malformed SUBSCRIBE");
  std::uint32_t identifier = 0;
  if (!s.props.subscription_identifiers.empty()) identifier = s.props.subscription_identifiers[0];
  mqtt::subscribe_ack_packet ack;
  ack.type = packet_type::suback;
  ack.packet_id = s.packet_id;
  std::vector<std::pair<std::uint32_t, std::string>> retained_for;  // after the SUBACK
  std::string problems;
  for (const auto& request : s.requests) {
    auto refuse = [&](reason code, std::string_view why) {
      ack.codes.push_back(v5() ? static_cast<std::uint8_t>(code) : 0x80);
      if (!problems.empty()) problems += "; ";
      problems += std::string(request.filter) + ": " + std::string(why);
    };
    if (request.filter.starts_with(share_prefix) && request.no_local && v5())
      return protocol_error(reason::protocol_error,
                            "No Local on a shared subscription (MQTT 5 §3.8.3.1)");
    mqtt_subscription_options options;
    options.max_qos = request.max_qos;
    options.no_local = request.no_local;
    options.retain_as_published = request.retain_as_published;
    options.identifier = identifier;
    bool is_new = false;
    if (auto refused = apply_subscription(request.filter, options, is_new)) {
      refuse(reason_of(refused.code), refused.message);
      continue;
    }
    ack.codes.push_back(request.max_qos);
    // Retain Handling (MQTT 5 §3.8.3.1): 0 always, 1 only for a new subscription, 2 never;
    // never for a shared subscription (§4.8.2).
    if (request.filter.starts_with(share_prefix)) continue;
    if (request.retain_handling == 0 || (request.retain_handling == 1 && is_new))
      retained_for.emplace_back(subscriptions_.find(request.filter)->second.sid,
                                std::string(request.filter));
  }
  if (v5() && !problems.empty()) ack.props.reason_string = problems;
  save_subscriptions();
  scratch_.clear();
  mqtt::encode(scratch_, version_, ack);
  queue_packet();
  for (const auto& [sid, filter] : retained_for) core_.send_retained(*state_, sid, filter);
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
    remove_subscription(found);
    ack.codes.push_back(static_cast<std::uint8_t>(reason::success));
  }
  save_subscriptions();
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
  save_subscriptions();
}

}  // namespace ipc::broker
