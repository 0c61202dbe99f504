// The HTTP monitoring endpoint's shared part (docs/monitoring.md): its settings, the
// monitor (cached snapshot, metrics, health), the embedded dashboard page, the routes and
// the access rule. One per server, on the I/O thread; each http_connection uses it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "frontends/http/monitor.hpp"
#include "ipc/config/config.hpp"
#include "ipc/http/request_parser.hpp"
#include "ipc/http/response.hpp"

namespace ipc::broker {

class broker_core;

class http_service {
 public:
  http_service(broker_core& core, config::http settings);

  const config::http& settings() const { return settings_; }
  void set_settings(config::http settings) { settings_ = std::move(settings); }
  monitor& data() { return monitor_; }
  broker_core& core() { return core_; }

  // Whether `path` names a page or an API of the endpoint (others are 404).
  static bool known(std::string_view path);
  // Whether `path` may be read without credentials: always without an auth section,
  // else when http.public lists it.
  bool open_to_all(std::string_view path) const;
  // The answer to an allowed GET or HEAD of a known path.
  http::response answer(const http::request& request);

  // Connections of the endpoint, bounded by http.max_connections.
  bool try_open() {
    if (open_ >= settings_.max_connections) return false;
    ++open_;
    return true;
  }
  void closed() { --open_; }

 private:
  broker_core& core_;
  config::http settings_;
  monitor monitor_;
  std::uint32_t open_ = 0;
};

}  // namespace ipc::broker
