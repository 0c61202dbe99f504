// One uplink's connection to a NATS cluster (docs/uplinks.md §6): the NATS client protocol
// driven on the broker's I/O thread. It picks a server from the pool (the configured ones,
// shuffled, plus those the cluster announces in INFO connect_urls), reads INFO, starts TLS
// when asked, sends CONNECT and a PING, and once the PONG comes tells its owner it is up.
// Then one reader, one writer with one gathered write in flight, a keep-alive pinger, and
// on any failure the next server, with a jittered back-off once every server has failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/logger.h>
#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "ipc/nats/server_reader.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::broker {

struct nats_link_settings {
  std::string name;                  // the uplink's, for logs and CONNECT
  std::vector<std::string> servers;  // as configured: nats://… or tls://…
  transport::connect_options tls;
  std::string user, password, token;
  // NKey login: the user's public key, and what signs the server's nonce with its seed.
  std::string nkey_public;
  std::function<std::string(std::string_view nonce)> sign;
  std::chrono::milliseconds reconnect_wait{250}, max_reconnect_wait{8000};
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds ping_interval{10000};
  std::uint32_t max_pings_out = 2;
};

// What the server said of itself in its latest INFO.
struct nats_server_info {
  std::string server_id, server_name, version, cluster;
  std::string nonce;  // to sign for an NKey login
  std::uint64_t max_payload = 1024 * 1024;
  bool headers = false;
};

// The link's owner (the uplink). Called on the I/O thread, never after stop().
class nats_link_events {
 public:
  // Connected and greeted: subscribe now (operations written from here go out first).
  virtual void link_up() = 0;
  // The connection ended; what was written and not confirmed may be lost.
  virtual void link_down(std::string_view why) = 0;
  // A MSG or HMSG; its views are valid for the call.
  virtual void link_message(const nats::server_op& op) = 0;
  // A PONG: everything written before the PING sent with `mark` reached the server.
  virtual void link_flushed(std::uint64_t mark) = 0;
  // A write finished: there is room in the output again.
  virtual void link_wrote() = 0;

 protected:
  ~nats_link_events() = default;
};

class nats_link : public std::enable_shared_from_this<nats_link> {
 public:
  nats_link(asio::any_io_executor executor, nats_link_settings settings, nats_link_events& events,
            std::shared_ptr<spdlog::logger> logger);

  void start();
  // Ends the connection and every loop; no event follows. Safe to call twice.
  void stop();
  // Ends the current connection only: link_down() follows, then the next server.
  void drop() {
    if (stream_) stream_->close();
  }

  bool up() const { return up_; }
  // Appends operations (nats/client_ops.hpp) for the writer; call wake() after.
  std::string& out() { return out_; }
  void wake();
  // Writes a PING whose PONG calls link_flushed(mark); marks must not decrease.
  void ping(std::uint64_t mark);
  // Bytes written and not yet handed to the socket.
  std::size_t pending_bytes() const { return out_.size() + writing_bytes_; }

  const nats_server_info& server() const { return info_; }
  std::string current_url() const { return up_ ? current_ : std::string(); }
  std::vector<std::string> known_servers() const;
  std::string_view state() const;
  const std::string& last_error() const { return last_error_; }
  std::uint64_t connects() const { return connects_; }
  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  std::chrono::system_clock::time_point up_since() const { return up_since_; }

 private:
  asio::awaitable<void> run();
  // Connects to `url` and greets the server; the stream, or nullptr with why.
  asio::awaitable<std::shared_ptr<transport::upgradable_stream>> open(const std::string& url,
                                                                      std::string& why);
  asio::awaitable<bool> greet(transport::upgradable_stream& stream, const std::string& url,
                              std::string& why);
  // Reads until the next operation; false at the end of the stream or an error.
  asio::awaitable<bool> read_op(transport::stream& stream, nats::server_op& op, std::string& why);
  asio::awaitable<void> read_loop(std::shared_ptr<transport::upgradable_stream> stream);
  asio::awaitable<void> write_loop(std::shared_ptr<transport::upgradable_stream> stream,
                                   std::uint64_t generation);
  asio::awaitable<void> ping_loop(std::shared_ptr<transport::upgradable_stream> stream,
                                  std::uint64_t generation);
  void handle_info(std::string_view json, bool tls);
  void read_info(std::string_view json, bool tls);
  std::string connect_json(bool tls) const;
  std::chrono::milliseconds backoff(std::uint64_t round);

  asio::any_io_executor executor_;
  nats_link_settings settings_;
  nats_link_events& events_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<std::string> pool_;  // configured (shuffled), then announced: nats://host:port
  std::size_t next_ = 0;
  nats::server_reader reader_;
  nats_server_info info_;
  std::shared_ptr<transport::upgradable_stream> stream_;
  std::string out_;
  std::size_t writing_bytes_ = 0;    // the batch being written
  std::deque<std::uint64_t> pings_;  // marks of the PINGs awaiting their PONG
  asio::steady_timer wake_, pause_, ping_timer_;
  std::chrono::steady_clock::time_point last_heard_;
  std::minstd_rand random_;
  std::string current_, last_error_;
  std::uint64_t generation_ = 0;
  std::uint64_t connects_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  std::chrono::system_clock::time_point up_since_{};
  bool up_ = false, stopped_ = false, writer_waiting_ = false, started_ = false;
};

}  // namespace ipc::broker
