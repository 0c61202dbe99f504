// mqtt_connection's shared subscriptions (docs/mqtt.md §4.3.1): $share/GROUP/FILTER is a
// consumer of the group's queue, a transient queue of the core bound to FILTER, so each
// message goes to one member of the group, in turn, and a member's unacknowledged
// messages go to the others when it leaves. The queue ends with its last member.
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

refusal mqtt_connection::open_share(std::string_view filter, std::string_view group,
                                    std::string_view topics, std::size_t held) {
  std::string name =
      mqtt_registry::queue_name_of("share/" + std::string(group) + "/" + std::string(topics));
  auto source = core_.queues().find(name);
  if (!source) {
    config::queue_options options;
    options.max_length = registry_->settings().max_queued_messages;
    options.max_bytes = registry_->settings().max_queued_bytes;
    options.overflow = "drop-oldest";
    bool created = false;
    if (auto refused = core_.queues().create(name, options, created)) return refused;
    source = core_.queues().find(name);
  }
  if (auto refused = core_.bind_subscription(*state_, name, topics, held)) {
    if (source->consumer_count() == 0) (void)core_.queues().remove(name);
    return refused;
  }
  auto consumer = std::make_unique<share_consumer>(*this, std::string(filter), source);
  source->add_consumer(*consumer, window_, false);
  core_.queues().schedule(*source);
  shares_.emplace(std::string(filter), std::move(consumer));
  return {};
}

void mqtt_connection::close_share(const std::string& filter) {
  auto found = shares_.find(filter);
  if (found == shares_.end()) return;
  auto source = found->second->source();
  source->remove_consumer(*found->second, queue_manager::now_ms());  // to the other members
  std::erase_if(queue_deliveries_, [&](const auto& entry) { return entry.second.share == filter; });
  shares_.erase(found);
  if (source->consumer_count() == 0)
    (void)core_.queues().remove(source->name());  // the last member: the group ends
  else
    core_.queues().schedule(*source);
}

void mqtt_connection::deliver_shared(share_consumer& consumer, queue&, std::uint64_t delivery,
                                     const stored_message& message) {
  auto sub = subscriptions_.find(consumer.filter());
  bool known = sub != subscriptions_.end();
  deliver_queued(consumer.filter(), delivery, message, known ? sub->second.max_qos : 0,
                 known && sub->second.retain_as_published, known ? sub->second.identifier : 0,
                 !known);
}

void mqtt_connection::share_queue_deleted(share_consumer& consumer) {
  // An administrator deleted the group's queue: the subscription is gone.
  std::string filter = consumer.filter();
  core_.log().info("connection {} ({}): shared subscription '{}' ended: its queue was deleted", id_,
                   peer().address, loggable(filter));
  std::erase_if(queue_deliveries_, [&](const auto& entry) { return entry.second.share == filter; });
  shares_.erase(filter);
  if (auto sub = subscriptions_.find(filter); sub != subscriptions_.end()) {
    filters_.erase(sub->second.sid);
    subscriptions_.erase(sub);
  }
}

}  // namespace ipc::broker
