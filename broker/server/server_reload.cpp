// server::reload (docs/operations.md §3): re-read the config, set up everything that can
// fail first (new listeners, certificates, socket groups), then apply all of it at once.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "frontends/http/http_service.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "frontends/uplink/uplink_set.hpp"
#include "ipc/routing/topic.hpp"
#include "server/server.hpp"
#include "server/service_notifier.hpp"

namespace ipc::broker {

namespace {

// Binding patterns are checked when a queue is created; a reload checks them up front so
// that a bad one refuses the whole file instead of half-applying it.
void check_bindings(const config::broker_config& next, std::vector<config::error>& errors) {
  routing::name_limits limits{next.limits.max_topic_length, next.limits.max_topic_levels};
  for (const auto& [name, options] : next.queues.declared)
    for (std::size_t i = 0; i < options.bind.size(); ++i)
      if (auto problem = routing::check_pattern(options.bind[i], limits);
          problem != routing::topic_error::none)
        errors.push_back({"/queues/" + name + "/bind/" + std::to_string(i),
                          "invalid pattern: " + std::string(routing::describe(problem))});
}

}  // namespace

reload_report server::reload() {
  reload_report report;
  if (stopping_) {
    report.errors.push_back({"", "the broker is stopping"});
    return report;
  }
  if (!source_) {
    report.errors.push_back({"", "ipcd runs on its embedded default config: no file to reload"});
    logger_->warn("reload refused: {}", report.errors.back().message);
    return report;
  }
  if (notifier_ != nullptr) notifier_->reloading();
  logger_->info("reloading the config");
  auto loaded = source_();
  report.errors = std::move(loaded.errors);
  if (report.errors.empty()) check_bindings(loaded.config, report.errors);
  std::vector<std::unique_ptr<listener>> added;
  std::vector<std::function<void()>> updates;
  if (report.errors.empty()) plan_listeners(loaded.config, report, added, updates);
  if (!report.errors.empty()) {
    for (auto& l : added) l->acceptor->close();
    for (const auto& e : report.errors)
      logger_->error("reload refused: {}{}{}", e.path, e.path.empty() ? "" : ": ", e.message);
    logger_->error("config not reloaded ({} error(s)); running on as before", report.errors.size());
    if (notifier_ != nullptr) notifier_->ready("reload failed; running on the previous config");
    return report;
  }
  const auto& next = loaded.config;
  apply_listeners(next, std::move(added), updates, report);
  apply_log(next, report);
  if (!(next.storage == config_.storage)) report.restart.push_back("storage");
  core_.reload(next, report);
  if (!(next.http == config_.http)) {
    http_->set_settings(next.http);
    report.changes.push_back("http settings");
  }
  if (!(next.mqtt == config_.mqtt)) {
    mqtt_->set_settings(next.mqtt);  // for connections made from now on
    report.changes.push_back("mqtt settings (for new connections)");
  }
  if (!(next.uplinks == config_.uplinks)) uplinks_->reload(next.uplinks, report);
  auto storage = config_.storage;
  auto log = config_.log;
  config_ = next;
  config_.storage = storage;  // in force until the next start
  config_.log = log;
  config_.log.level = next.log.level;
  for (const auto& change : report.changes) logger_->info("reload: {}", change);
  for (const auto& key : report.restart)
    logger_->warn("reload: {} changed; it takes effect at the next start", key);
  logger_->info("config reloaded ({} change(s))", report.changes.size());
  if (notifier_ != nullptr) notifier_->ready("serving; config reloaded");
  return report;
}

bool server::plan_listeners(const config::broker_config& next, reload_report& report,
                            std::vector<std::unique_ptr<listener>>& added,
                            std::vector<std::function<void()>>& updates) {
  for (std::size_t i = 0; i < next.listeners.size(); ++i) {
    const auto& entry = next.listeners[i];
    std::string path = "/listeners/" + std::to_string(i);
    auto existing = std::find_if(listeners_.begin(), listeners_.end(),
                                 [&](const auto& l) { return l->configured.url == entry.url; });
    if (existing == listeners_.end()) {
      std::string error;
      if (auto opened = open_listener(entry, next.limits, error))
        added.push_back(std::move(opened));
      else
        report.errors.push_back({path, error});
      continue;
    }
    transport::listen_error failure;
    auto update = (*existing)->acceptor->prepare_update(options_of(entry, next.limits), failure);
    if (!update)
      report.errors.push_back({path, failure.message});
    else
      updates.push_back(std::move(update));
  }
  return report.errors.empty();
}

void server::apply_listeners(const config::broker_config& next,
                             std::vector<std::unique_ptr<listener>> added,
                             std::vector<std::function<void()>>& updates, reload_report& report) {
  for (auto& update : updates) update();
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    bool kept = std::any_of(next.listeners.begin(), next.listeners.end(),
                            [&](const auto& entry) { return entry.url == (*it)->configured.url; });
    if (kept) {
      auto entry = std::find_if(next.listeners.begin(), next.listeners.end(),
                                [&](const auto& e) { return e.url == (*it)->configured.url; });
      if (!(*entry == (*it)->configured))
        report.changes.push_back("listener " + entry->url + " options");
      (*it)->configured = *entry;
      ++it;
      continue;
    }
    // Its accept loop may still be suspended in it: closed now, destroyed with the server.
    (*it)->acceptor->close();
    report.changes.push_back("listener " + (*it)->configured.url + " removed");
    logger_->info("no longer listening on {} (connections made through it stay)",
                  (*it)->acceptor->local_url().to_string());
    retired_.push_back(std::move(*it));
    it = listeners_.erase(it);
  }
  for (auto& l : added) {
    report.changes.push_back("listener " + l->configured.url + " added");
    listeners_.push_back(std::move(l));
    asio::co_spawn(io_, accept_loop(*listeners_.back()), asio::detached);
  }
}

void server::apply_log(const config::broker_config& next, reload_report& report) {
  if (next.log.level != config_.log.level) {
    logger_->set_level(spdlog::level::from_str(next.log.level));
    report.changes.push_back("log.level " + next.log.level);
  }
  auto others = next.log;
  others.level = config_.log.level;
  if (!(others == config_.log)) report.restart.push_back("log (format, stderr, file)");
}

}  // namespace ipc::broker
