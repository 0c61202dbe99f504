// session::reauthorize: what a config reload that changed the auth section does to a
// connection already open (docs/operations.md §3).
#include <vector>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "frontends/native/session.hpp"

namespace ipc::broker {

using protocol::errc;

void session::reauthorize() {
  if (stopped_ || draining_ || auth_basis_.empty()) return;  // not authenticated yet
  const authenticator& auth = core_.auth();
  if (!auth.still_valid(user_, auth_basis_)) {
    core_.log().warn("connection {} ({}) as '{}': credentials withdrawn by reload, closing", id_,
                     peer().address, user_);
    return close_with_error(errc::auth_failed, "credentials withdrawn by a config reload");
  }
  perms_ = auth.permissions_of(user_);
  std::vector<std::uint32_t> ended;
  for (const auto& [sid, pattern] : subscriptions_)
    if (!perms_->may_subscribe(pattern)) ended.push_back(sid);
  for (std::uint32_t sid : ended) {
    std::string pattern = subscriptions_[sid];
    core_.unsubscribe(*this, sid);
    core_.log().info("connection {} ({}) as '{}': subscription {} to '{}' ended by reload", id_,
                     peer().address, user_, sid, pattern);
    send_error(errc::permission_denied, 0,
               "subscription " + std::to_string(sid) + " to '" + pattern +
                   "' ended: no longer permitted after a config reload");
  }
  ended.clear();
  for (const auto& [cid, consumer] : consumers_)
    if (!perms_->may_consume(consumer->source().name())) ended.push_back(cid);
  for (std::uint32_t cid : ended) {
    std::string name = consumers_[cid]->source().name();
    remove_consumer(cid);  // its unacknowledged deliveries go back to the queue
    core_.log().info("connection {} ({}) as '{}': consumer {} on queue '{}' ended by reload", id_,
                     peer().address, user_, cid, name);
    send_error(errc::permission_denied, 0,
               "consumer " + std::to_string(cid) + " on queue '" + name +
                   "' cancelled: no longer permitted after a config reload");
  }
}

void session::limits_changed() {
  // Before the handshake the reader keeps the small pre-authentication limit.
  if (!stopped_ && !auth_basis_.empty()) reader_.set_max_frame(core_.max_frame_size());
}

}  // namespace ipc::broker
