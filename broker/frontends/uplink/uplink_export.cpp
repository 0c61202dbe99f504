// uplink: local messages out to NATS (docs/uplinks.md §4–§5). Non-durable exports are
// core subscriptions sent at once (dropped and counted while the link is down); durable
// ones are bound into the spool queue `uplink.NAME`, consumed while the link is up and
// acknowledged once a PING/PONG round trip shows the server has them. A request (its
// reply_to a core reply address) gets an inbox subject whose reply comes back to it.
#include <asio/post.hpp>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/uplink/uplink.hpp"
#include "ipc/message/attributes.hpp"
#include "ipc/nats/client_ops.hpp"
#include "ipc/nats/subjects.hpp"
#include "ipc/routing/topic.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
constexpr std::string_view reply_prefix = "$reply/";
// Requests sent to NATS whose reply has not come: past this many, the oldest is forgotten
// (its requester times out in the core as it would anyway).
constexpr std::size_t max_requests_out = 65536;
constexpr std::uint64_t request_lifetime_ms = 600'000;  // the core's longest request
// Subject and reply subject of one PUB together: nats-server's control line is 4 KiB
// (max_control_line), with room left for the operation, sizes and spaces.
constexpr std::size_t max_subjects_bytes = 4000;
}  // namespace

const config::uplink_export* uplink::durable_rule_for(std::string_view topic) const {
  for (const auto& rule : settings_.exports)
    if (rule.durable && routing::topic_matches(rule.pattern, topic)) return &rule;
  return nullptr;
}

bool uplink::prepare_spool(std::string& error) {
  std::vector<std::string> patterns;
  for (const auto& rule : settings_.exports)
    if (rule.durable) patterns.push_back(rule.pattern);
  auto name = spool_name(settings_.name);
  auto& queues = core_.queues();
  if (patterns.empty()) {
    // No durable rule (any more): the spool keeps what it holds but takes nothing new.
    if (auto existing = queues.find(name))
      for (const auto& old : std::vector<std::string>(existing->options().bind))
        (void)queues.unbind(name, old);
    return true;
  }
  config::queue_options options;
  options.durable = queues.store() != nullptr;
  options.max_bytes = settings_.max_spool_bytes;
  options.overflow = settings_.spool_overflow;
  if (auto existing = queues.find(name)) {
    options.bind = existing->options().bind;  // kept across restarts in the catalog
    if (existing->durable() != options.durable) (void)queues.remove(name);
  }
  bool created = false;
  if (!queues.find(name)) {
    options.bind.clear();
    if (auto refused = queues.create(name, options, created)) {
      error = "spool queue '" + name + "': " + refused.message;
      return false;
    }
  }
  spool_ = queues.find(name);
  // The bindings are the durable rules: bind the new ones, unbind the ones removed.
  for (const auto& old : std::vector<std::string>(spool_->options().bind))
    if (std::find(patterns.begin(), patterns.end(), old) == patterns.end())
      (void)queues.unbind(name, old);
  for (const auto& pattern : patterns) {
    const auto& bound = spool_->options().bind;
    if (std::find(bound.begin(), bound.end(), pattern) != bound.end()) continue;
    if (auto refused = core_.bind_subscription(*state_, name, pattern, 1)) {
      error = "durable export '" + pattern + "': " + refused.message;
      return false;
    }
  }
  auto current = spool_->options();
  if (current.max_bytes != options.max_bytes || current.overflow != options.overflow) {
    current.max_bytes = options.max_bytes;
    current.overflow = options.overflow;
    spool_->set_options(current);
  }
  return true;
}

void uplink::attach_spool() {
  if (!spool_ || consuming_) return;
  consuming_ = true;
  spool_->add_consumer(consumer_, settings_.max_inflight, false);
  core_.queues().schedule(*spool_);
  core_.queues().dispatch_pending();
}

void uplink::detach_spool() {
  in_flight_.clear();  // what was not confirmed goes back, in order, for the next link
  if (!spool_ || !consuming_) return;
  consuming_ = false;
  spool_->remove_consumer(consumer_, queue_manager::now_ms());
}

void uplink::spool_deleted() {
  consuming_ = false;
  in_flight_.clear();
  spool_.reset();
  core_.log().warn("uplink {}: its spool queue was deleted; durable exports stop", settings_.name);
}

bool uplink::link_ready() const {
  // Half the output bound, as for local consumers: room for what is on its way.
  bool ready =
      link_ && link_->up() && link_->pending_bytes() < core_.limits().max_pending_bytes / 2;
  if (!ready) spool_waiting_ = true;
  return ready;
}

void uplink::link_wrote() {
  if (!spool_waiting_ || !spool_ || !consuming_ || !link_ready()) return;
  spool_waiting_ = false;
  core_.queues().schedule(*spool_);
  core_.queues().dispatch_pending();
}

void uplink::send_spooled(queue& from, std::uint64_t delivery, const stored_message& message) {
  message_record::fields record;
  const auto* rule = message_record::decode_record(message.body.bytes(), record)
                         ? durable_rule_for(record.topic)
                         : nullptr;
  // A message id that a crash and resend keeps: this broker, the message's id and time.
  std::string message_id = instance_id_ + "-" + std::to_string(record.message_id) + "-" +
                           std::to_string(record.timestamp_ns);
  if (rule == nullptr || !publish(record, rule->prefix, message_id)) {
    // It can never go (too large, or no rule names it any more): settled just after, as
    // a consumer may not call its queue back while being delivered to.
    asio::post(executor_, [self = weak_from_this(), delivery, name = from.name()] {
      auto me = self.lock();
      if (me && me->spool_ && me->consuming_ && me->spool_->name() == name) {
        (void)me->spool_->ack(me->consumer_, delivery);
        me->core_.queues().schedule(*me->spool_);
        me->core_.queues().dispatch_pending();
      }
    });
    return;
  }
  in_flight_.push_back({++sent_seq_, delivery});
  request_flush();
}

void uplink::request_flush() {
  // One PING after a burst of spooled messages, not one each.
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(executor_, [self = weak_from_this()] {
    auto me = self.lock();
    if (!me) return;
    me->flush_posted_ = false;
    if (me->link_ && me->link_->up() && me->sent_seq_ > me->flushed_seq_)
      me->link_->ping(me->sent_seq_);
  });
}

void uplink::deliver_message(std::uint32_t sid, const outgoing_message& message) {
  if (sid == 0 || sid > settings_.exports.size()) return;
  const auto& rule = settings_.exports[sid - 1];
  if (!link_ || !link_->up()) {
    ++counters_.dropped_down;
    return;
  }
  if (link_->pending_bytes() > core_.limits().max_pending_bytes) {
    ++counters_.dropped_slow;
    return;
  }
  // Overlapping rules route a message here more than once: it goes up once.
  if (message.message_id != 0 && message.message_id == last_exported_id_) return;
  last_exported_id_ = message.message_id;
  message_record::fields record;
  if (!message_record::decode_record(message.body, record)) return;
  (void)publish(record, rule.prefix, {});
}

std::string uplink::reply_subject(std::string_view reply_to, std::string_view prefix) {
  if (reply_to.empty()) return {};
  if (!reply_to.starts_with(reply_prefix))
    return nats::topic_to_subject(reply_to, prefix.empty() ? settings_.prefix : prefix);
  // A request: its reply comes to our inbox and goes back to the core's reply address.
  auto token = std::to_string(++next_token_);
  requests_out_[token] = {std::string(reply_to), queue_manager::now_ms() + request_lifetime_ms};
  request_order_.push_back(token);
  while (request_order_.size() > max_requests_out) {
    requests_out_.erase(request_order_.front());
    request_order_.pop_front();
  }
  ++counters_.requests_out;
  return inbox_prefix_ + token;
}

bool uplink::publish(const message_record::fields& record, std::string_view prefix,
                     std::string_view message_id) {
  std::string_view own;
  if (record.headers.find(message_record::attribute::uplink, own) && own == settings_.name)
    return true;  // it came from this uplink: never back up it (docs/uplinks.md §4)
  subject_.clear();
  nats::append_subject(subject_, record.topic, prefix.empty() ? settings_.prefix : prefix);
  const auto& subject = subject_;
  const auto& block = nats_headers(record, message_id);
  auto payload =
      std::string_view(reinterpret_cast<const char*>(record.payload.data()), record.payload.size());
  if (block.size() + payload.size() > link_->server().max_payload) {
    ++counters_.dropped_too_large;
    core_.log().debug("uplink {}: message to '{}' over the server's max_payload, dropped",
                      settings_.name, loggable(record.topic));
    return false;
  }
  auto reply_to_long = subject.size() + record.reply_to.size() * 3 > max_subjects_bytes;
  if (subject.size() > max_subjects_bytes || reply_to_long) {
    ++counters_.dropped_too_large;  // nats-server would close the connection for it
    return false;
  }
  auto reply = reply_subject(record.reply_to, prefix);
  nats::encode_pub(link_->out(), subject, reply, link_->server().headers ? block : "", payload);
  link_->wake();
  ++counters_.exported;
  counters_.exported_bytes += payload.size();
  ++client_counters_.messages_out;
  client_counters_.bytes_out += payload.size();
  return true;
}

const std::string& uplink::nats_headers(const message_record::fields& record,
                                        std::string_view message_id) {
  headers_.reset();
  for (const auto& entry : record.headers) (void)headers_.add(entry.key, entry.value);
  headers_.add("Ipc-Origin", instance_id_);
  if (!message_id.empty()) {
    headers_.add("Ipc-Msg-Id", message_id);
    headers_.add("Nats-Msg-Id", message_id);  // JetStream streams drop duplicates by it
  }
  return headers_.finish();
}

void uplink::expire_requests() {
  auto now = queue_manager::now_ms();
  while (!request_order_.empty()) {
    auto found = requests_out_.find(request_order_.front());
    if (found != requests_out_.end() && found->second.deadline_ms > now) break;
    if (found != requests_out_.end()) requests_out_.erase(found);
    request_order_.pop_front();
  }
}

}  // namespace ipc::broker
