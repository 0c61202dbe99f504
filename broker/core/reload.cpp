// broker_core::reload and the admin command `reload` (docs/operations.md §3): limits,
// auth (re-checked on every open connection) and queues from a new, validated config.
#include <nlohmann/json.hpp>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "platform/platform.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

void broker_core::reload(const config::broker_config& next, reload_report& report) {
  auto limits = next.limits;
  if (limits.match_cache_entries != config_.limits.match_cache_entries) {
    limits.match_cache_entries = config_.limits.match_cache_entries;  // sized at start
    report.restart.push_back("limits.match_cache_entries");
  }
  if (!(limits == config_.limits)) {
    config_.limits = limits;
    name_limits_ = {config_.limits.max_topic_length, config_.limits.max_topic_levels};
    memory_->set_limit(memory_limit(config_.limits));
    for (const auto& [id, s] : clients_) {
      s->checked_topic_.clear();  // checked against the old name limits
      s->owner().limits_changed();
    }
    report.changes.push_back("limits");
  }
  if (!(next.auth == config_.auth)) {
    config_.auth = next.auth;
    auth_ = std::make_unique<authenticator>(config_.auth, platform::uid_of, platform::sid_of);
    throttle_.configure(config_.auth.lockout);  // running delays stay
    for (const auto& account : auth_->unresolved_accounts())
      logger_->warn(
          "auth: no local account '{}' (unix_users, windows_users): it authenticates nobody",
          account);
    report.changes.push_back("auth");
    // Copied first: a connection closed here leaves clients_ later.
    std::vector<client_state*> open;
    for (const auto& [id, s] : clients_) open.push_back(s.get());
    for (auto* s : open) reauthorize(*s);
    queues_->dispatch_pending();  // deliveries of ended consumers went back to their queues
  }
  if (!(next.queues == config_.queues)) {
    auto previous = config_.queues;
    config_.queues = next.queues;
    queues_->reload(previous, report);
    queues_->dispatch_pending();
  }
}

void broker_core::reauthorize(client_state& s) {
  // Not yet authenticated (a password still being checked): admit() checks it then.
  if (!s.authenticated()) return;
  s.checked_topic_.clear();  // allowed under the old permissions (or about to close)
  const auto& address = s.owner().peer().address;
  if (s.internal_) {
    s.perms_ = auth_->permissions_of(s.as_user_);
  } else if (!auth_->still_valid(s.user_, s.basis_)) {
    logger_->warn("connection {} ({}) as '{}': credentials withdrawn by reload, closing", s.id(),
                  address, s.user_);
    return s.owner().close(errc::auth_failed, "credentials withdrawn by a config reload");
  } else {
    s.perms_ = auth_->permissions_of(s.user_);
  }
  std::vector<std::pair<std::uint32_t, std::string>> ended;
  for (const auto& [sid, pattern] : s.subscriptions_)
    if (!s.perms_->may_subscribe(pattern)) ended.emplace_back(sid, pattern);
  for (const auto& [sid, pattern] : ended) {
    (void)unsubscribe(s, sid);
    logger_->info("connection {} ({}) as '{}': subscription {} to '{}' ended by reload", s.id(),
                  address, s.user_, sid, pattern);
    s.owner().subscription_ended(sid, pattern,
                                 "subscription " + std::to_string(sid) + " to '" + pattern +
                                     "' ended: no longer permitted after a config reload");
  }
  s.owner().permissions_changed(*s.perms_);  // the front-end ends consumers no longer allowed
}

std::string broker_core::admin_reload(client_state& s, errc& status) {
  using json = nlohmann::json;
  if (!reloader_) {
    status = errc::not_implemented;
    return json_text(json{{"error", "this broker cannot reload"}, {"code", "not_implemented"}});
  }
  logger_->info("reload asked by connection {} ({})", s.id(), s.user());
  auto report = reloader_();
  if (!report.errors.empty()) {
    status = errc::invalid_argument;
    json errors = json::array();
    for (const auto& e : report.errors)
      errors.push_back({{"path", e.path}, {"message", e.message}});
    return json_text(json{{"error", "config not reloaded: " + std::to_string(report.errors.size()) +
                                        " error(s); the broker runs on as before"},
                          {"code", "invalid_argument"},
                          {"errors", errors}});
  }
  return json_text(
      json{{"reloaded", true}, {"changes", report.changes}, {"restart_required", report.restart}});
}

}  // namespace ipc::broker
