// uplink_set: starting, reloading and stopping the uplinks, the instance id, the report.
#include "frontends/uplink/uplink_set.hpp"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"
#include "frontends/uplink/uplink.hpp"
#include "ipc/credentials/password.hpp"

namespace ipc::broker {

uplink_set::uplink_set(broker_core& core, asio::any_io_executor executor,
                       std::shared_ptr<spdlog::logger> logger)
    : core_(core), executor_(std::move(executor)), logger_(std::move(logger)) {
  instance_id_ = credentials::random_hex(8);
  core_.add_report(
      "uplink.list", [this] { return list(); }, "uplinks");
}

uplink_set::~uplink_set() { stop(); }

void uplink_set::load_instance_id(const std::string& storage_dir) {
  // Kept across restarts: a durable message resent after a crash carries the id it had,
  // so the receiving brokers recognise it (docs/uplinks.md §4).
  if (storage_dir.empty()) return;
  auto path = std::filesystem::path(storage_dir) / "instance-id";
  std::ifstream in(path);
  std::string text;
  if (in >> text && text.size() == 16 &&
      text.find_first_not_of("0123456789abcdef") == std::string::npos) {
    instance_id_ = text;
    return;
  }
  std::error_code ec;
  std::filesystem::create_directories(storage_dir, ec);
  std::ofstream out(path, std::ios::trunc);
  out << instance_id_ << "\n";
  if (!out)
    logger_->warn("cannot write {}: the uplinks' instance id lasts this run only", path.string());
}

bool uplink_set::start_one(const config::uplink& settings, std::string& error) {
  auto link = std::make_shared<uplink>(core_, settings, instance_id_, executor_,
                                       core_.allocate_connection_id(), logger_);
  if (!link->start(error)) {
    error = "uplink " + settings.name + ": " + error;
    return false;
  }
  uplinks_[settings.name] = std::move(link);
  return true;
}

bool uplink_set::start(const std::vector<config::uplink>& configured, std::string& error) {
  for (const auto& settings : configured)
    if (!start_one(settings, error)) return false;
  return true;
}

void uplink_set::reload(const std::vector<config::uplink>& next, reload_report& report) {
  for (auto it = uplinks_.begin(); it != uplinks_.end();) {
    auto match = std::find_if(next.begin(), next.end(),
                              [&](const config::uplink& u) { return u.name == it->first; });
    if (match != next.end() && *match == it->second->settings()) {
      ++it;
      continue;
    }
    it->second->shut_down();
    if (match == next.end()) report.changes.push_back("uplink " + it->first + " removed");
    it = uplinks_.erase(it);
  }
  for (const auto& settings : next) {
    if (uplinks_.contains(settings.name)) continue;
    std::string error;
    if (start_one(settings, error)) {
      report.changes.push_back("uplink " + settings.name + " (re)started");
    } else {
      logger_->error("{}", error);
      report.changes.push_back(error);
    }
  }
}

void uplink_set::stop() {
  for (auto& [name, link] : uplinks_) link->shut_down();
  uplinks_.clear();
}

std::string uplink_set::list() const {
  auto list = nlohmann::json::array();
  for (const auto& [name, link] : uplinks_) list.push_back(link->describe());
  return list.dump();
}

}  // namespace ipc::broker
