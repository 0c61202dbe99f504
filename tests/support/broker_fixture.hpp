// An in-process broker on ephemeral endpoints (a temp-dir Unix socket or a unique named
// pipe, and TCP port 0)
// running on its own thread, with its log captured for assertions.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ipc/config/config.hpp"
#include "temp_dir.hpp"

namespace ipc::broker {
class server;
}
namespace ipc::storage {
class file_system;
}
namespace asio {
class io_context;
}

namespace ipc::test {

class broker_fixture {
 public:
  // `adjust` may change limits, listeners or storage before the broker starts; `fs`
  // replaces the system's files for storage (to inject failures).
  explicit broker_fixture(std::function<void(config::broker_config&)> adjust = nullptr,
                          std::shared_ptr<storage::file_system> fs = nullptr);
  ~broker_fixture();

  // The local transport's listener: a Unix socket, or a named pipe on Windows. The Unix
  // socket lets clients switch to shared memory (the client library asks by default).
  const std::string& unix_url() const { return unix_url_; }
  const std::string& tcp_url() const { return tcp_url_; }
  const std::string& tls_url() const { return tls_url_; }  // when `adjust` added one
  std::vector<std::string> urls() const { return {unix_url_, tcp_url_}; }
  // MQTT listeners `adjust` added (mqtt://127.0.0.1:0, mqtts://…, unix with protocol
  // mqtt), as the transport's URLs: tcp://127.0.0.1:PORT, tls://…, unix://….
  const std::string& mqtt_url() const { return mqtt_url_; }
  const std::string& mqtts_url() const { return mqtts_url_; }
  const std::string& mqtt_unix_url() const { return mqtt_unix_url_; }
  // An http:// listener `adjust` added, as the transport's tcp:// URL.
  const std::string& http_url() const { return http_url_; }
  // Every log line so far.
  std::vector<std::string> log_lines() const;
  bool log_contains(const std::string& text) const;
  const config::broker_config& config() const { return config_; }
  // Runs `fn` on the broker's I/O thread and waits for it (to reach into the server).
  void on_broker(const std::function<void(broker::server&)>& fn);

 private:
  temp_dir dir_;
  config::broker_config config_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<broker::server> server_;
  std::shared_ptr<void> sink_;
  std::string unix_url_, tcp_url_, tls_url_;
  std::string mqtt_url_, mqtts_url_, mqtt_unix_url_, http_url_;
  std::thread thread_;
};

}  // namespace ipc::test
