// broker_core: session registry, subscriptions, and the publish fan-out path.
#include "core/broker_core.hpp"

#include <chrono>
#include <random>

#include <nlohmann/json.hpp>

#include "access/authenticator.hpp"
#include "core/json_text.hpp"
#include "frontends/native/session.hpp"
#include "ipc/protocol/encoder.hpp"
#include "platform/platform.hpp"
#include "queues/queue_manager.hpp"
#include "queues/queue_store.hpp"

namespace ipc::broker {

using protocol::errc;

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
      queues_(std::make_unique<queue_manager>(config_, trie_, pool_, *logger_)),
      auth_(std::make_unique<authenticator>(config_.auth, platform::uid_of, platform::sid_of)) {
  scratch_body_.reserve(inline_body_limit);
  for (const auto& account : auth_->unresolved_accounts())
    logger_->warn(
        "auth: no local account '{}' (unix_users, windows_users): it authenticates nobody",
        account);
}

broker_core::~broker_core() = default;

bool broker_core::open(std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
                       std::string& error) {
  auto on_outcome = [this](std::uint64_t lsn, std::error_code ec) { on_stored(lsn, ec); };
  if (!queues_->open_storage(std::move(fs), std::move(post), on_outcome, error)) return false;
  last_message_id_ = std::max(last_message_id_, queues_->declare_configured());
  return true;
}

void broker_core::close_storage() { queues_->close_storage(); }

std::uint64_t broker_core::storage_mark() const {
  auto* store = queues_->store();
  return store ? store->appended() : 0;
}

void broker_core::confirm(session& s, std::uint32_t ref, std::uint64_t value, std::uint64_t mark) {
  std::uint64_t now = storage_mark();
  if (now == mark) return s.send_ok(ref, value);
  pending_confirms_.push_back({mark, now, s.id(), ref, value});
}

void broker_core::on_stored(std::uint64_t lsn, std::error_code error) {
  if (error && !storage_failing_)
    logger_->error(
        "storage: write failed: {}; confirmed sends to durable queues fail until "
        "it works again",
        error.message());
  else if (!error && storage_failing_ && lsn != 0)
    logger_->info("storage: writing again");
  if (lsn != 0) storage_failing_ = static_cast<bool>(error);
  if (error && lsn != 0) last_failed_lsn_ = lsn;
  while (!pending_confirms_.empty() && pending_confirms_.front().lsn <= lsn) {
    auto c = pending_confirms_.front();
    pending_confirms_.pop_front();
    auto s = find_session(c.session_id);
    if (!s) continue;
    // Its records may span buffers: one that failed before this one fails it too.
    if (error)
      s->send_error(errc::storage_error, c.ref, "not stored: " + error.message());
    else if (c.mark < last_failed_lsn_)
      s->send_error(errc::storage_error, c.ref, "not stored: part of it failed to write");
    else
      s->send_ok(c.ref, c.value);
  }
}

std::uint32_t broker_core::max_frame_size() const {
  // A maximal message: payload, topic and reply_to at their limits, every header.
  std::size_t headers = 2 + std::size_t{limits_.max_headers} * 4 + limits_.max_header_bytes;
  std::size_t size = protocol::publish_frame_size(
      limits_.max_topic_length, limits_.max_topic_length, headers, limits_.max_payload);
  // The reader limits the length field, which excludes the 4-byte prefix; 64 bytes of
  // room cover the fixed fields of any frame.
  return static_cast<std::uint32_t>(size - protocol::length_prefix_size + 64);
}

refusal broker_core::add_session(const std::shared_ptr<session>& s) {
  if (sessions_.size() >= limits_.max_connections)
    return {errc::limit_exceeded, "too many connections (limits.max_connections)"};
  sessions_.emplace(s->id(), s);
  ++counters_.connections_total;
  return {};
}

refusal broker_core::admit_user(session& s, const std::string& user) {
  (void)s;
  auto limit = auth_->connection_limit(user, limits_.max_connections_per_user);
  auto& count = user_connections_[user];
  if (limit != 0 && count >= limit) {
    if (count == 0) user_connections_.erase(user);
    return {errc::limit_exceeded, "too many connections for user '" + user + "'"};
  }
  ++count;
  return {};
}

void broker_core::remove_session(session& s) {
  auto found = sessions_.find(s.id());
  if (found == sessions_.end()) return;
  if (!s.user().empty()) {
    if (auto it = user_connections_.find(s.user());
        it != user_connections_.end() && --it->second == 0)
      user_connections_.erase(it);
  }
  auto keep_alive = found->second;  // s stays valid to the end of this function
  for (const auto& [sid, pattern] : s.subscriptions()) trie_.erase(pattern, {&s, sid});
  s.subscriptions().clear();
  s.detach_consumers();
  drop_requests(s);
  sessions_.erase(found);
  queues_->dispatch_pending();  // requeued messages go to the remaining consumers
  logger_->debug("connection {} ({}) closed", s.id(), s.peer().address);
  if (!s.user().empty())
    publish_system("$SYS/connections/close", json_text(nlohmann::json{{"id", s.id()}}));
}

std::shared_ptr<session> broker_core::find_session(std::uint64_t id) const {
  auto found = sessions_.find(id);
  return found == sessions_.end() ? nullptr : found->second;
}

void broker_core::for_each_session(const std::function<void(session&)>& visit) const {
  for (const auto& [id, s] : sessions_) visit(*s);
}

void broker_core::shut_down_sessions() {
  for (const auto& [id, s] : sessions_)
    s->close_with_error(errc::shutting_down, "the broker is shutting down");
}

refusal broker_core::subscribe(session& s, std::uint32_t sid, std::string_view pattern) {
  auto problem = routing::check_pattern(pattern, name_limits_);
  if (problem != routing::topic_error::none)
    return {errc::invalid_pattern, "invalid pattern: " + std::string(routing::describe(problem))};
  if (pattern.starts_with("$reply"))
    return {errc::permission_denied, "reply addresses cannot be subscribed to"};
  auto& subscriptions = s.subscriptions();
  if (subscriptions.contains(sid))
    return {errc::duplicate_id, "subscription id " + std::to_string(sid) + " is in use"};
  if (subscriptions.size() + s.consumer_count() >= limits_.max_subscriptions)
    return {errc::limit_exceeded,
            "too many subscriptions and consumers (limits.max_subscriptions)"};
  subscriptions.emplace(sid, std::string(pattern));
  trie_.insert(pattern, {&s, sid});
  return {};
}

refusal broker_core::unsubscribe(session& s, std::uint32_t sid) {
  auto found = s.subscriptions().find(sid);
  if (found == s.subscriptions().end())
    return {errc::unknown_subscription, "no subscription " + std::to_string(sid)};
  trie_.erase(found->second, {&s, sid});
  s.subscriptions().erase(found);
  return {};
}

refusal broker_core::check_message(std::string_view topic, std::string_view reply_to,
                                   const protocol::map_view& headers,
                                   std::size_t payload_size) const {
  auto problem = routing::check_topic(topic, name_limits_);
  if (problem != routing::topic_error::none)
    return {errc::invalid_topic, "invalid topic: " + std::string(routing::describe(problem))};
  if (topic.front() == '$' && !topic.starts_with(reply_prefix))
    return {errc::permission_denied, "topics starting with '$' are reserved for the broker"};
  return check_fields(reply_to, headers, payload_size);
}

refusal broker_core::check_fields(std::string_view reply_to, const protocol::map_view& headers,
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

refusal broker_core::publish(const protocol::publish_frame& frame) {
  if (auto refused =
          check_message(frame.topic, frame.reply_to, frame.headers, frame.payload.size()))
    return refused;
  ++counters_.messages_in;
  if (frame.topic.starts_with(reply_prefix)) {
    reply(frame);
    return {};
  }
  const auto& routes = trie_.match(frame.topic);
  if (!routes.empty()) fan_out(routes, frame.topic, frame.reply_to, &frame.headers, frame.payload);
  return {};
}

void broker_core::publish_system(std::string_view topic, std::string_view json) {
  if (!trie_.has_match(topic)) return;
  const auto& routes = trie_.match(topic);
  fan_out(routes, topic, {}, nullptr,
          {reinterpret_cast<const std::uint8_t*>(json.data()), json.size()});
}

std::uint64_t broker_core::now_ns() const {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
}

void broker_core::fan_out(const std::vector<routing::route>& routes, std::string_view topic,
                          std::string_view reply_to, const protocol::map_view* headers,
                          std::span<const std::uint8_t> payload) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto timestamp =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  protocol::map_source header_source{{}, headers};
  std::size_t body_size = 8 + 8 + 2 + topic.size() + 2 + reply_to.size() +
                          (headers ? std::max<std::size_t>(headers->raw().size(), 2) : 2) + 4 +
                          payload.size();
  outgoing_message message;
  body_ref shared;
  if (body_size <= inline_body_limit) {
    scratch_body_.clear();
    protocol::encode_message_body(scratch_body_, ++last_message_id_, timestamp, topic, reply_to,
                                  header_source, payload);
    message.body = scratch_body_;
  } else {
    shared = pool_.acquire();
    shared.get()->buffer().reserve(body_size);
    protocol::encode_message_body(shared.get()->buffer(), ++last_message_id_, timestamp, topic,
                                  reply_to, header_source, payload);
    message.body = shared.bytes();
    message.shared = &shared;
  }
  message.message_id = last_message_id_;
  for (const auto& route : routes) route.target->deliver_message(route.id, message);
}

void broker_core::sample_rates() {
  rate_in_ = static_cast<double>(counters_.messages_in - last_sample_.messages_in);
  rate_out_ = static_cast<double>(counters_.messages_out - last_sample_.messages_out);
  last_sample_ = counters_;
}

}  // namespace ipc::broker
