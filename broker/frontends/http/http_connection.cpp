// http_connection: the request loop, access checks and the watchdog.
#include "frontends/http/http_connection.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "access/authenticator.hpp"
#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/login.hpp"
#include "ipc/http/authorization.hpp"

namespace ipc::broker {

namespace {
http::response challenge() {
  auto r = http::error_response(401, "credentials needed (HTTP Basic, or a Bearer token)");
  r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"ipcd\", charset=\"UTF-8\"");
  return r;
}
}  // namespace

http_connection::http_connection(std::shared_ptr<http_service> service,
                                 std::unique_ptr<transport::stream> stream, std::uint64_t id)
    : service_(std::move(service)),
      stream_(std::move(stream)),
      id_(id),
      deadline_(stream_->get_executor()) {}

http_connection::~http_connection() {
  if (counted_) service_->closed();
}

void http_connection::start() {
  auto& log = service_->core().log();
  if (!service_->try_open()) {
    log.warn("HTTP connection from {} refused: http.max_connections ({}) open",
             stream_->peer().address, service_->settings().max_connections);
    // A short answer, then close: the client learns why.
    auto self = shared_from_this();
    asio::co_spawn(
        stream_->get_executor(),
        [self]() -> asio::awaitable<void> {
          co_await self->write(http::serialize(
              http::error_response(503, "too many monitoring connections"), false, false));
          self->stop();
        },
        asio::detached);
    return;
  }
  counted_ = true;
  auto self = shared_from_this();
  deadline_.expires_after(std::chrono::milliseconds(service_->settings().request_timeout_ms));
  asio::co_spawn(
      stream_->get_executor(), [self] { return self->serve(); }, asio::detached);
  asio::co_spawn(
      stream_->get_executor(), [self] { return self->watchdog(); }, asio::detached);
}

void http_connection::stop() {
  if (stopped_) return;
  stopped_ = true;
  stream_->close();
  deadline_.cancel();
}

asio::awaitable<void> http_connection::watchdog() {
  // One deadline: the request head's (from its first byte, or from accept) while one is
  // coming in, the idle one between requests. Whichever passes closes the connection.
  auto self = shared_from_this();
  std::error_code ec;
  while (!stopped_) {
    co_await deadline_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    if (deadline_.expiry() > asio::steady_timer::clock_type::now()) continue;  // re-armed
    service_->core().log().debug("HTTP connection {} ({}): {} timeout, closing", id_,
                                 stream_->peer().address, in_request_ ? "request" : "idle");
    stop();
  }
}

asio::awaitable<bool> http_connection::write(const std::string& bytes) {
  std::vector<asio::const_buffer> buffers{asio::buffer(bytes)};
  std::error_code ec;
  co_await stream_->write(buffers, ec);
  co_return !ec;
}

asio::awaitable<void> http_connection::serve() {
  auto self = shared_from_this();
  const auto& settings = service_->settings();
  std::vector<char> buffer(16 * 1024);
  std::string pending;  // bytes read, not yet parsed (pipelined requests)
  std::error_code ec;
  while (!stopped_) {
    while (!pending.empty() && !stopped_) {
      std::size_t used = 0;
      auto status = parser_.feed(std::span<const char>(pending.data(), pending.size()), used);
      pending.erase(0, used);
      if (status == http::parse_status::need_more) break;
      if (status == http::parse_status::error) {
        // Malformed or over a limit: said, then closed (the rest of the stream is not
        // trusted to be where the next request starts).
        auto r = http::error_response(parser_.status(), parser_.reason());
        co_await write(http::serialize(r, false, false));
        stop();
        co_return;
      }
      http::request request = parser_.result();
      parser_.reset();
      in_request_ = false;
      bool head = request.method == "HEAD";
      http::response r;
      if (request.method != "GET" && !head) {
        r = http::error_response(405, "the endpoint answers GET and HEAD");
        r.headers.emplace_back("Allow", "GET, HEAD");
      } else if (!http_service::known(request.path)) {
        r = http::error_response(404);
      } else {
        auto allowed = check_access(request);
        auto refusal = std::move(allowed.refusal);
        if (allowed.job) {
          auto& job = *allowed.job;
          bool ok = co_await check_password_off_thread(
              stream_->get_executor(), std::move(job.place), job.hash, job.password);
          if (stopped_) co_return;
          refusal = password_checked(job, ok).refusal;
        }
        r = refusal ? std::move(*refusal) : service_->answer(request);
      }
      if (stopped_) co_return;
      bool keep = request.keep_alive;
      if (!co_await write(http::serialize(r, head, keep)) || !keep) {
        stop();
        co_return;
      }
    }
    if (pending.empty() && !in_request_)
      deadline_.expires_after(std::chrono::milliseconds(settings.idle_timeout_ms));
    std::size_t n = co_await stream_->read_some(asio::buffer(buffer), ec);
    if (ec) break;
    if (!in_request_) {  // the first bytes of a request head: its own deadline starts
      in_request_ = true;
      deadline_.expires_after(std::chrono::milliseconds(settings.request_timeout_ms));
    }
    pending.append(buffer.data(), n);
  }
  stop();
}

http::response http_connection::login_failed(const std::string& who, std::string_view why) {
  auto& core = service_->core();
  ++core.counters().auth_failures;
  std::string note;
  if (core.log_allowed(noisy_event::auth_failure, note))
    core.log().warn("HTTP connection {} ({}): authentication failed for user '{}' ({}){}", id_,
                    stream_->peer().address, loggable(who), why, note);
  return challenge();
}

http_connection::access http_connection::check_access(const http::request& request) {
  access out;
  if (service_->open_to_all(request.path)) return out;
  auto& core = service_->core();
  const auto& peer = stream_->peer();
  auto header = request.header("authorization");
  if (!header) {
    out.refusal = challenge();
    return out;
  }
  if (!verified_user_.empty() && *header == verified_header_) return permitted(verified_user_);
  auto given = http::parse_authorization(*header);
  if (!given) {
    out.refusal = login_failed("", "malformed Authorization header");
    return out;
  }
  presented_credentials presented;
  if (given->scheme == http::credentials::kind::bearer) {
    presented.mechanism = "token";
    presented.token = given->token;
  } else {
    presented.mechanism = "password";
    presented.user = given->user;
    presented.password = given->password;
  }
  auto decision = core.auth().decide(presented, peer.uid, peer.tls_subject, peer.sid);
  if (decision.error != errc::ok) {
    out.refusal = login_failed(decision.user, decision.log_reason);
    return out;
  }
  if (!decision.password_hash) {
    verified_header_ = std::string(*header);
    verified_user_ = decision.user;
    return permitted(decision.user);
  }
  // A password: checked off the I/O thread (serve() awaits the job), with the back-off.
  auto key = login_peer_key(peer);
  if (core.throttle().locked_for(decision.user, key, std::chrono::steady_clock::now()) >
          std::chrono::steady_clock::duration::zero() ||
      !core.throttle().begin(decision.user, key)) {
    ++core.counters().auth_lockouts;
    out.refusal = http::error_response(429, "too many failed logins: try again later");
    return out;
  }
  login_throttle::in_flight slot(core.throttle(), decision.user, key);
  auto place = password_checker::reserve();
  if (!place) {
    out.refusal = http::error_response(503, "too many logins in progress");
    return out;
  }
  out.job.emplace(password_job{decision.user, std::move(*decision.password_hash),
                               std::move(decision.password), decision.log_reason,
                               std::string(*header), std::move(*place), std::move(slot)});
  return out;
}

http_connection::access http_connection::password_checked(password_job& job, bool ok) {
  auto& core = service_->core();
  auto key = login_peer_key(stream_->peer());
  if (!ok) {
    core.throttle().failed(job.user, key, std::chrono::steady_clock::now());
    access out;
    out.refusal = login_failed(job.user, job.failure);
    return out;
  }
  core.throttle().succeeded(job.user, key);
  verified_header_ = job.header;
  verified_user_ = job.user;
  return permitted(job.user);
}

http_connection::access http_connection::permitted(const std::string& user) {
  access out;
  auto perms = service_->core().auth().permissions_of(user);
  if (!perms || !(perms->admin() || perms->monitor()))
    out.refusal = http::error_response(
        403, "user '" + user + "' may not read the monitoring endpoint (needs admin or monitor)");
  return out;
}

}  // namespace ipc::broker
