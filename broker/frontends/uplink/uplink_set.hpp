// The configured uplinks (docs/uplinks.md): started with the server, changed by a reload
// (a changed uplink reconnects, an unchanged one is left alone), stopped with the server;
// this broker's instance id (kept in storage) that marks what its uplinks send; and the
// `uplink.list` report (also `status` "uplinks" and the metrics).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <asio/any_io_executor.hpp>

#include "core/reload_report.hpp"
#include "ipc/config/config.hpp"

namespace ipc::broker {

class broker_core;
class uplink;

class uplink_set {
 public:
  uplink_set(broker_core& core, asio::any_io_executor executor,
             std::shared_ptr<spdlog::logger> logger);
  ~uplink_set();

  // Reads or makes the instance id in `storage_dir` ("" or unwritable: one for this run).
  void load_instance_id(const std::string& storage_dir);
  const std::string& instance_id() const { return instance_id_; }
  // Starts the configured uplinks; false with `error` when one cannot start.
  bool start(const std::vector<config::uplink>& configured, std::string& error);
  // A reload: stops removed and changed uplinks, starts added and changed ones.
  void reload(const std::vector<config::uplink>& next, reload_report& report);
  void stop();
  // The JSON of `uplink.list`: one object per uplink.
  std::string list() const;

 private:
  bool start_one(const config::uplink& settings, std::string& error);

  broker_core& core_;
  asio::any_io_executor executor_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string instance_id_;
  std::map<std::string, std::shared_ptr<uplink>> uplinks_;  // by name
};

}  // namespace ipc::broker
