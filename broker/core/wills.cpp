// broker_core's last wills (docs/protocol.md §3.1.4): checked when set, published when a
// connection ends without a goodbye, delayed ones kept until due or until the same client
// identity is back.
#include <algorithm>

#include "access/authenticator.hpp"
#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
// A will's headers as a map view (validated when the will was set).
header_map headers_of(const will_message& will) {
  if (will.headers.size() < 2) return {};
  auto count = static_cast<std::uint16_t>(will.headers[0] << 8 | will.headers[1]);
  return {will.headers, count};
}
}  // namespace

refusal broker_core::set_will(client_state& s, will_message will) {
  if (!s.perms().may_publish(will.topic))
    return denied(s, "will on '" + std::string(will.topic) + "'");
  message_in m{will.topic, {}, {}, will.payload};
  if (!will.headers.empty()) {
    message_record::byte_cursor in(will.headers);
    m.headers = message_record::read_map(in);
    if (!in.at_end()) return {errc::invalid_argument, "malformed will headers"};
  }
  if (auto refused = check_message(m.topic, {}, m.headers, m.payload.size())) {
    refused.message = "will: " + refused.message;
    return refused;
  }
  if (m.topic.starts_with("$"))
    return {errc::permission_denied, "will: topics starting with '$' are reserved for the broker"};
  message_record::attributes attributes;
  if (auto refused = read_attributes(m, attributes)) {
    refused.message = "will: " + refused.message;
    return refused;
  }
  if (will.delay_ms > max_will_delay_ms)
    return {errc::invalid_argument,
            "will: delay over " + std::to_string(max_will_delay_ms) + " ms (a day)"};
  s.will_ = std::make_unique<will_message>(std::move(will));
  return {};
}

void broker_core::end_with_will(client_state& s) {
  if (!s.will_ || !s.authenticated()) return;
  auto will = std::move(s.will_);
  if (stopping_) return;  // a broker stop is nobody's failure: no will (docs/protocol.md §3.1.4)
  if (will->delay_ms == 0) return publish_will(s.user_, *will, s.id());
  // At most one pending will per connection, and no more than max_connections of them:
  // past that the oldest is published at once rather than kept.
  if (pending_wills_.size() >= limits_.max_connections) {
    auto oldest = std::move(pending_wills_.front());
    pending_wills_.erase(pending_wills_.begin());
    publish_will(oldest.user, *oldest.will, oldest.connection);
  }
  pending_will p{s.user_, s.owner().client_name(), s.id(), queue_manager::now_ms() + will->delay_ms,
                 std::move(will)};
  auto at =
      std::upper_bound(pending_wills_.begin(), pending_wills_.end(), p.due_ms,
                       [](std::uint64_t due, const pending_will& w) { return due < w.due_ms; });
  pending_wills_.insert(at, std::move(p));
}

void broker_core::cancel_pending_will(const std::string& user, const std::string& client_name) {
  if (pending_wills_.empty()) return;
  std::erase_if(pending_wills_, [&](const pending_will& w) {
    if (w.user != user || w.client_name != client_name) return false;
    logger_->debug("will of connection {} cancelled: '{}' ({}) is back", w.connection,
                   loggable(client_name), user);
    return true;
  });
}

void broker_core::fire_due_wills() {
  auto now = queue_manager::now_ms();
  while (!pending_wills_.empty() && pending_wills_.front().due_ms <= now) {
    auto due = std::move(pending_wills_.front());
    pending_wills_.erase(pending_wills_.begin());
    publish_will(due.user, *due.will, due.connection);
  }
}

void broker_core::publish_will(const std::string& user, const will_message& will,
                               std::uint64_t connection) {
  // The user's rights now: a reload may have taken the permission away since the HELLO.
  if (!auth_->permissions_of(user)->may_publish(will.topic)) {
    logger_->info(
        "will of connection {} ('{}') on '{}' dropped: the user may no longer publish there",
        connection, user, loggable(will.topic));
    return;
  }
  message_in m{will.topic, {}, headers_of(will), will.payload};
  message_record::attributes attributes;
  if (!m.headers.empty()) message_record::read_attributes(m.headers, attributes);
  if (attributes.retain) {
    if (auto refused = retained_room(m)) {
      logger_->warn("will of connection {} on '{}' not retained: {}", connection,
                    loggable(will.topic), refused.message);
      attributes.retain = false;
    }
  }
  ++counters_.messages_in;
  ++counters_.wills_published;
  logger_->debug("connection {}: will published on '{}'", connection, loggable(will.topic));
  route(m, attributes);
}

}  // namespace ipc::broker
