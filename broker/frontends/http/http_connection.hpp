// One connection to the HTTP monitoring endpoint (docs/monitoring.md): HTTP/1.1 GET and
// HEAD with keep-alive and pipelining, one coroutine that reads a request head, checks
// access, answers and goes on, and a watchdog that closes a connection whose request head
// does not arrive within http.request_timeout_ms (slowloris) or that idles past
// http.idle_timeout_ms. It is not a client of the core: it only reads the monitor.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "access/login_throttle.hpp"
#include "access/password_checker.hpp"
#include "frontends/http/http_service.hpp"
#include "ipc/http/request_parser.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::broker {

class http_connection final : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(std::shared_ptr<http_service> service, std::unique_ptr<transport::stream> stream,
                  std::uint64_t id);
  ~http_connection();

  void start();
  void stop();

 private:
  asio::awaitable<void> serve();
  asio::awaitable<void> watchdog();
  // Who may read a request's path: allowed (nothing set), refused (401 with a challenge,
  // 403, 429), or a password to check first, off the I/O thread (serve() awaits it, then
  // password_checked() decides).
  struct password_job {
    std::string user, hash, password, failure, header;
    password_checker::ticket place;
    login_throttle::in_flight slot;
  };
  struct access {
    std::optional<http::response> refusal;
    std::optional<password_job> job;
  };
  access check_access(const http::request& request);
  access password_checked(password_job& job, bool ok);
  access permitted(const std::string& user);  // the admin or monitor permission
  asio::awaitable<bool> write(const std::string& bytes);
  // A refused login: counted, logged without the secret, answered with a challenge.
  http::response login_failed(const std::string& who, std::string_view why);

  std::shared_ptr<http_service> service_;
  std::unique_ptr<transport::stream> stream_;
  std::uint64_t id_;
  http::request_parser parser_;
  asio::steady_timer deadline_;
  bool counted_ = false;  // holds one of http.max_connections
  bool stopped_ = false;
  bool in_request_ = false;  // part of a request head has come: the request timeout runs
  // The Authorization header last verified on this connection and whom it named: a
  // browser or scraper sends the same one with every request of a kept-alive connection,
  // and the slow password check runs once for them.
  std::string verified_header_, verified_user_;
};

}  // namespace ipc::broker
