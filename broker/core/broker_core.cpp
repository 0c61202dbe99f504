// broker_core: attached clients, admission, subscriptions and the publish fan-out path.
#include "core/broker_core.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "access/authenticator.hpp"
#include "core/json_text.hpp"
#include "core/loggable.hpp"
#include "platform/platform.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
// Reply addresses are "$reply/<connection>/<request id>/<nonce>" (docs/protocol.md §4.11).
constexpr std::string_view reply_prefix = "$reply/";
}  // namespace

broker_core::broker_core(const config::broker_config& config,
                         std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      logger_(std::move(logger)),
      name_limits_{config.limits.max_topic_length, config.limits.max_topic_levels},
      trie_(config.limits.match_cache_entries),
      queues_(std::make_unique<queue_manager>(config_, trie_, pool_, memory_, *logger_)),
      auth_(std::make_unique<authenticator>(config_.auth, platform::uid_of, platform::sid_of)),
      throttle_(config_.auth.lockout) {
  scratch_body_.reserve(inline_body_limit);
  for (const auto& account : auth_->unresolved_accounts())
    logger_->warn(
        "auth: no local account '{}' (unix_users, windows_users): it authenticates nobody",
        account);
}

broker_core::~broker_core() { memory_->on_change(nullptr); }

bool broker_core::open(std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
                       std::string& error) {
  auto on_outcome = [this](std::uint64_t lsn, std::error_code ec) { on_stored(lsn, ec); };
  post_ = post;
  memory_->on_change([this] {
    if (std::exchange(alarm_posted_, true)) return;
    post_([this] { memory_alarm_changed(); });
  });
  memory_->set_limit(memory_limit(limits_));
  if (memory_->limit() != 0)
    logger_->info("memory bound (limits.max_memory): {} MiB of message data",
                  memory_->limit() >> 20);
  if (!queues_->open_storage(std::move(fs), std::move(post), on_outcome, error)) return false;
  last_message_id_ = std::max(last_message_id_, queues_->declare_configured());
  restore_retained();
  return true;
}

void broker_core::close_storage() { queues_->close_storage(); }

refusal broker_core::attach(const std::shared_ptr<client>& c, client_state*& state) {
  state = nullptr;
  if (clients_.size() >= limits_.max_connections)
    return {errc::limit_exceeded, "too many connections (limits.max_connections)"};
  auto entry = std::make_unique<client_state>(c);
  state = entry.get();
  clients_.emplace(c->id(), std::move(entry));
  ++counters_.connections_total;
  return {};
}

refusal broker_core::admit(client_state& s, const std::string& user, const std::string& basis) {
  if (!auth_->still_valid(user, basis))  // a reload during a password check
    return {errc::auth_failed, "authentication failed"};
  auto limit = auth_->connection_limit(user, limits_.max_connections_per_user);
  auto& count = user_connections_[user];
  if (limit != 0 && count >= limit) {
    if (count == 0) user_connections_.erase(user);
    return {errc::limit_exceeded, "too many connections for user '" + user + "'"};
  }
  ++count;
  s.user_ = user;
  s.basis_ = basis;
  s.perms_ = auth_->permissions_of(user);
  s.checked_topic_.clear();
  cancel_pending_will(user, s.owner().client_name());  // the client is back in time
  return {};
}

void broker_core::admit_internal(client_state& s, const std::string& name,
                                 const std::string& as_user) {
  s.user_ = name;
  s.basis_ = "internal";
  s.internal_ = true;
  s.as_user_ = as_user;
  s.perms_ = auth_->permissions_of(as_user);
  s.checked_topic_.clear();
}

void broker_core::announce_open(client_state& s) {
  s.announced_ = true;
  publish_system(
      "$SYS/connections/open",
      json_text(nlohmann::json{{"id", s.id()},
                               {"transport", transport::scheme_name(s.owner().peer().transport)},
                               {"protocol", s.owner().protocol_name()},
                               {"user", s.user_}}));
}

void broker_core::detach(client_state& s) {
  auto found = clients_.find(s.id());
  if (found == clients_.end() || found->second.get() != &s) return;
  auto entry = std::move(found->second);  // s stays valid to the end of this function
  clients_.erase(found);
  auto why = s.owner().close_reason();
  if (auto it = counters_.closed.find(why); it != counters_.closed.end())
    ++it->second;
  else
    counters_.closed.emplace(std::string(why), 1);
  if (s.authenticated() && !s.internal_) {
    if (auto it = user_connections_.find(s.user_);
        it != user_connections_.end() && --it->second == 0)
      user_connections_.erase(it);
  }
  for (const auto& [sid, pattern] : s.subscriptions_) trie_.erase(pattern, {&s.owner(), sid});
  s.subscriptions_.clear();
  drop_requests(s);
  end_with_will(s);
  queues_->dispatch_pending();  // requeued messages go to the remaining consumers
  logger_->debug("connection {} ({}) closed", s.id(), s.owner().peer().address);
  // Only a connection whose open was announced: one refused at the end of its handshake
  // (its will refused, say) produces neither event (docs/protocol.md §3.6).
  if (s.announced_)
    publish_system("$SYS/connections/close", json_text(nlohmann::json{{"id", s.id()}}));
}

client_state* broker_core::find(std::uint64_t id) const {
  auto found = clients_.find(id);
  return found == clients_.end() ? nullptr : found->second.get();
}

void broker_core::for_each_client(const std::function<void(client_state&)>& visit) const {
  for (const auto& [id, s] : clients_) visit(*s);
}

void broker_core::shut_down_clients() {
  stopping_ = true;
  for (const auto& [id, s] : clients_)
    s->owner().close(errc::shutting_down, "the broker is shutting down");
}

refusal broker_core::denied(client_state& s, const std::string& what) {
  logger_->info("connection {} ({}) user '{}': permission denied: {}", s.id(),
                s.owner().peer().address, s.user(), loggable(what));
  return {errc::permission_denied, "permission denied: " + what};
}

refusal broker_core::may_subscribe(client_state& s, std::string_view pattern) {
  if (!s.perms().may_subscribe(pattern))
    return denied(s, "subscribe to '" + std::string(pattern) + "'");
  auto problem = routing::check_pattern(pattern, name_limits_);
  if (problem != routing::topic_error::none)
    return {errc::invalid_pattern, "invalid pattern: " + std::string(routing::describe(problem))};
  if (pattern.starts_with("$reply"))
    return {errc::permission_denied, "reply addresses cannot be subscribed to"};
  return {};
}

refusal broker_core::subscribe(client_state& s, std::uint32_t sid, std::string_view pattern) {
  if (auto refused = may_subscribe(s, pattern)) return refused;
  if (s.subscriptions_.contains(sid))
    return {errc::duplicate_id, "subscription id " + std::to_string(sid) + " is in use"};
  if (auto refused = subscription_room(s)) return refused;
  s.subscriptions_.emplace(sid, std::string(pattern));
  trie_.insert(pattern, {&s.owner(), sid});
  return {};
}

refusal broker_core::bind_subscription(client_state& s, const std::string& queue_name,
                                       std::string_view pattern, std::size_t held) {
  if (auto refused = may_subscribe(s, pattern)) return refused;
  if (s.subscriptions_.size() + s.owner().consumer_count() + held >= limits_.max_subscriptions)
    return {errc::limit_exceeded,
            "too many subscriptions and consumers (limits.max_subscriptions)"};
  return queues_->bind(queue_name, std::string(pattern));
}

refusal broker_core::subscription_room(const client_state& s) const {
  // One limit for subscriptions and consumers together (docs/security.md §4).
  if (s.subscriptions_.size() + s.owner().consumer_count() >= limits_.max_subscriptions)
    return {errc::limit_exceeded,
            "too many subscriptions and consumers (limits.max_subscriptions)"};
  return {};
}

refusal broker_core::unsubscribe(client_state& s, std::uint32_t sid) {
  auto found = s.subscriptions_.find(sid);
  if (found == s.subscriptions_.end())
    return {errc::unknown_subscription, "no subscription " + std::to_string(sid)};
  trie_.erase(found->second, {&s.owner(), sid});
  s.subscriptions_.erase(found);
  return {};
}

refusal broker_core::check_message(std::string_view topic, std::string_view reply_to,
                                   const header_map& headers, std::size_t payload_size) const {
  if (auto refused = check_topic_name(topic)) return refused;
  return check_fields(reply_to, headers, payload_size);
}

refusal broker_core::check_topic_name(std::string_view topic) const {
  auto problem = routing::check_topic(topic, name_limits_);
  if (problem != routing::topic_error::none)
    return {errc::invalid_topic, "invalid topic: " + std::string(routing::describe(problem))};
  if (topic.front() == '$' && !topic.starts_with(reply_prefix))
    return {errc::permission_denied, "topics starting with '$' are reserved for the broker"};
  return {};
}

refusal broker_core::check_fields(std::string_view reply_to, const header_map& headers,
                                  std::size_t payload_size) const {
  if (!reply_to.empty() &&
      (routing::check_topic(reply_to, name_limits_) != routing::topic_error::none ||
       reply_to.front() == '$'))
    return {errc::invalid_topic, "invalid reply_to topic"};
  if (payload_size > limits_.max_payload)
    return {errc::payload_too_large, "payload of " + std::to_string(payload_size) +
                                         " bytes is over limits.max_payload (" +
                                         std::to_string(limits_.max_payload) + ")"};
  if (headers.size() > limits_.max_headers || headers.content_bytes() > limits_.max_header_bytes)
    return {errc::headers_too_large, "headers over limits.max_headers or max_header_bytes"};
  return {};
}

refusal broker_core::publish(client_state& s, const message_in& m, std::uint32_t confirm_ref) {
  // Replies go to broker-made, unguessable addresses (docs/protocol.md §4.11).
  if (m.topic.starts_with(reply_prefix)) return publish_reply(s, m, confirm_ref);
  // A publisher mostly sends to one topic again and again: the topic it was last allowed
  // to publish to skips the permission and name checks (nats-server keeps a per-client
  // cache of publish permissions for the same reason). admit(), reauthorize() and a
  // change of limits forget it.
  if (s.checked_topic_.empty() || m.topic != s.checked_topic_) {
    if (!s.perms().may_publish(m.topic))
      return denied(s, "publish to '" + std::string(m.topic) + "'");
    if (auto refused = check_topic_name(m.topic)) return refused;
    s.checked_topic_.assign(m.topic);
  }
  auto mark = confirm_ref != 0 ? storage_mark() : 0;
  message_record::attributes attributes;
  if (auto refused = read_published(m, attributes)) return refused;
  if (attributes.retain) {
    if (auto refused = retained_room(m)) return refused;
  }
  ++counters_.messages_in;
  route(m, attributes);
  // A publish that reached a durable queue through a binding is confirmed once stored.
  if (confirm_ref != 0) confirm(s, confirm_ref, 0, mark);
  return {};
}

refusal broker_core::read_published(const message_in& m,
                                    message_record::attributes& attributes) const {
  // Most messages have no reply address and no headers: nothing more to check or read.
  if (!m.reply_to.empty() || !m.headers.empty() || m.payload.size() > limits_.max_payload) {
    if (auto refused = check_fields(m.reply_to, m.headers, m.payload.size())) return refused;
    if (auto refused = read_attributes(m, attributes)) return refused;
  }
  if (attributes.delay_ms != 0 || attributes.deliver_at_ms != 0)
    return {errc::invalid_argument, "only a send can be delayed"};
  return {};
}

void broker_core::publish_system(std::string_view topic, std::string_view json) {
  if (!trie_.has_match(topic)) return;
  const auto& routes = trie_.match(topic);
  fan_out(routes,
          {topic, {}, {}, {reinterpret_cast<const std::uint8_t*>(json.data()), json.size()}, {}},
          now_ns());
}

std::uint64_t broker_core::now_ns() const {
  if (read_batches_ > 0 && batch_now_ns_ != 0) return batch_now_ns_;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  if (read_batches_ > 0) batch_now_ns_ = ns;
  return ns;
}

bool broker_core::defer_write(client_state& s) {
  if (read_batches_ == 0) return false;
  deferred_writes_.push_back(s.owner_);
  return true;
}

void broker_core::write_deferred() {
  // A write may hand out more (a queue with room again delivers): those connections join
  // the list and are written in this loop too.
  for (std::size_t i = 0; i < deferred_writes_.size(); ++i) {
    auto writer = std::move(deferred_writes_[i]);
    writer->write_deferred();
  }
  deferred_writes_.clear();
}

void broker_core::route(const message_in& m, const message_record::attributes& attributes) {
  auto timestamp = now_ns();
  std::uint64_t expires = attributes.ttl_ms == 0 ? 0 : queue_manager::now_ms() + attributes.ttl_ms;
  std::uint64_t id = 0;
  const auto& routes = trie_.match(m.topic);
  if (!routes.empty()) id = fan_out(routes, m, timestamp, expires, attributes.priority);
  // An empty retained payload clears the topic's retained message (MQTT's rule).
  if (attributes.retain && m.payload.empty()) clear_retained(m.topic);
  if (attributes.retain && !m.payload.empty())
    retain(m, id != 0 ? id : ++last_message_id_, timestamp, expires);
}

refusal broker_core::read_attributes(const message_in& m, message_record::attributes& out) const {
  out = {};
  if (m.headers.empty()) return {};
  auto problem = message_record::read_attributes(m.headers, out);
  if (!problem.empty()) return {errc::invalid_argument, std::move(problem)};
  return {};
}

std::uint64_t broker_core::fan_out(const std::vector<routing::route>& routes, const message_in& m,
                                   std::uint64_t timestamp_ns, std::uint64_t expires_at_ms,
                                   std::uint8_t priority) {
  // The record is encoded once; each recipient copies a small one or shares a large one.
  std::size_t size = record_size(m);
  outgoing_message message;
  body_ref shared;
  if (size <= inline_body_limit) {
    encode_record_at(inline_record_.data(), ++last_message_id_, timestamp_ns, m);
    message.body = {inline_record_.data(), size};
  } else {
    shared = pool_.acquire();
    shared.get()->buffer().reserve(size);
    encode_record(shared.get()->buffer(), ++last_message_id_, timestamp_ns, m);
    message.body = shared.bytes();
    message.shared = &shared;
  }
  message.message_id = last_message_id_;
  message.expires_at_ms = expires_at_ms;
  message.priority = priority;
  for (const auto& route : routes) route.target->deliver_message(route.id, message);
  return message.message_id;
}

bool broker_core::log_allowed(noisy_event kind, std::string& note) {
  std::uint64_t suppressed = 0;
  if (!limiters_[static_cast<int>(kind)].allow(log_limiter::clock::now(), suppressed)) return false;
  note = log_limiter::note(suppressed);
  return true;
}

void broker_core::sample_rates() {
  rate_in_ = static_cast<double>(counters_.messages_in - last_sample_.messages_in);
  rate_out_ = static_cast<double>(counters_.messages_out - last_sample_.messages_out);
  last_sample_ = counters_;
}

}  // namespace ipc::broker
