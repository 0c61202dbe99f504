// server: listener set-up (socket activation included), accept loops, rate sampling, the
// watchdog and graceful stop. Reload lives in server_reload.cpp.
#include "server/server.hpp"

#include <filesystem>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include <asio/ip/address.hpp>

#include "frontends/http/http_connection.hpp"
#include "frontends/http/http_service.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "frontends/native/session.hpp"
#include "frontends/uplink/uplink_set.hpp"
#include "ipc/protocol/encoder.hpp"
#include "server/service_notifier.hpp"

namespace ipc::broker {

server::server(asio::io_context& io, const config::broker_config& config,
               std::shared_ptr<spdlog::logger> logger, std::shared_ptr<storage::file_system> fs)
    : io_(io),
      config_(config),
      logger_(logger),
      fs_(fs ? std::move(fs) : storage::system_file_system()),
      core_(config, logger),
      mqtt_(std::make_shared<mqtt_registry>(
          core_, config.mqtt,
          (std::filesystem::path(config.storage.dir) / "mqtt-sessions.json").string())),
      http_(std::make_shared<http_service>(core_, config.http)),
      uplinks_(std::make_unique<uplink_set>(core_, io.get_executor(), logger)),
      sample_timer_(io),
      delay_timer_(io),
      watchdog_timer_(io) {
  core_.set_reloader([this] { return reload(); });
}

server::~server() {
  for (auto& l : listeners_) l->acceptor->close();
  for (auto& s : inherited_) platform::close_handle(s.handle);
}

transport::listen_options server::options_of(const config::listener& entry,
                                             const config::limits& limits) {
  transport::listen_options options;
  options.unix_mode = entry.mode;
  options.unix_group = entry.group;
  for (const auto& account : entry.access)
    options.pipe_access += (options.pipe_access.empty() ? "" : ",") + account;
  options.tls_cert = entry.cert;
  options.tls_key = entry.key;
  options.tls_ca = entry.ca;
  options.require_client_cert = entry.require_client_cert;
  options.shm = {entry.shm, entry.shm_ring_bytes, entry.shm_spin_us};
  options.tls_handshake_ms = limits.auth_timeout_ms;
  // A failed TLS handshake is counted and logged (rate-limited: a peer can cause them at
  // will), never a connection of its own.
  options.on_rejected = [this, url = entry.url](const transport::peer_info& peer,
                                                std::string_view reason) {
    ++core_.counters().handshake_failures;
    std::string note;
    if (core_.log_allowed(noisy_event::handshake_failure, note))
      logger_->info("{}: TLS handshake with {} failed: {}{}", url, peer.address, reason, note);
  };
  return options;
}

namespace {
// A listener's address as its users write it: mqtt:// and mqtts://, http:// and https://
// for MQTT and the monitoring endpoint over TCP and TLS, "unix://PATH (MQTT)" on a Unix
// socket.
std::string display_url(const transport::url& bound, config::listener_protocol protocol) {
  auto text = bound.to_string();
  if (protocol == config::listener_protocol::native) return text;
  std::string scheme(config::protocol_name(protocol));
  if (bound.kind == transport::scheme::tcp) return scheme + text.substr(3);
  if (bound.kind == transport::scheme::tls) return scheme + "s" + text.substr(3);
  return text + (protocol == config::listener_protocol::mqtt ? " (MQTT)" : " (HTTP)");
}

// Whether an inherited socket is bound where a configured listener asks to be.
bool same_address(const transport::url& bound, const transport::url& wanted) {
  if (wanted.kind == transport::scheme::unix_socket || wanted.kind == transport::scheme::named_pipe)
    return bound.kind == wanted.kind && !bound.path.empty() && bound.path == wanted.path;
  if (bound.kind != transport::scheme::tcp || bound.host.empty()) return false;
  std::error_code ec1, ec2;
  auto a = asio::ip::make_address(bound.host, ec1);
  auto b = asio::ip::make_address(wanted.host, ec2);
  return !ec1 && !ec2 && a == b && bound.port == wanted.port;
}
}  // namespace

std::unique_ptr<server::listener> server::open_listener(const config::listener& entry,
                                                        const config::limits& limits,
                                                        std::string& error) {
  auto parsed = transport::parse_url(config::transport_url_of(entry.url));
  if (!parsed.value) {
    error = "listener " + entry.url + ": " + parsed.error;
    return nullptr;
  }
  auto options = options_of(entry, limits);
  auto match = std::find_if(inherited_.begin(), inherited_.end(),
                            [&](const auto& s) { return same_address(s.address, *parsed.value); });
  if (match != inherited_.end()) {
    options.inherited_handle = match->handle;
    inherited_.erase(match);  // the acceptor owns it now
  }
  transport::listen_error failure;
  auto acceptor = transport::listen(io_.get_executor(), *parsed.value, options, failure);
  if (!acceptor) {
    if (options.inherited_handle >= 0) platform::close_handle(options.inherited_handle);
    error = failure.message;
    return nullptr;
  }
  logger_->info("listening on {}{}", display_url(acceptor->local_url(), entry.protocol),
                options.inherited_handle >= 0 ? " (socket from the service manager)" : "");
  return std::make_unique<listener>(
      listener{std::move(acceptor), *parsed.value, std::move(options), entry});
}

// Descriptors the configured connections may take: one per connection, five for one on
// shared memory (its socket and four wake-up pipes, shared-memory.md §8), and 1024 for
// listeners, storage segments and log files (as the systemd unit counts them).
void server::provide_descriptors() {
  bool shm = std::any_of(config_.listeners.begin(), config_.listeners.end(),
                         [](const config::listener& l) { return l.shm; });
  std::uint64_t needed = std::uint64_t{config_.limits.max_connections} * (shm ? 5 : 1) + 1024;
  auto limit = platform::raise_open_file_limit(needed);
  if (!limit || *limit >= needed) return;
  logger_->warn(
      "the open-file limit ({}) is below the {} descriptors limits.max_connections ({}) may "
      "take (one per connection{}, and 1024 more): past it, new connections are not "
      "accepted{}; raise the limit (LimitNOFILE=, ulimit -n) or lower limits.max_connections",
      *limit, needed, config_.limits.max_connections, shm ? ", five on shared memory" : "",
      shm ? " and connections asking for shared memory stay on the socket" : "");
}

bool server::open() {
  provide_descriptors();
  std::string storage_error;
  auto post = [this](std::function<void()> fn) { asio::post(io_, std::move(fn)); };
  if (!core_.open(fs_, post, storage_error)) {
    logger_->error("{}", storage_error);
    return false;
  }
  mqtt_->load();  // persistent MQTT sessions, whose queues storage has just restored
  uplinks_->load_instance_id(config_.storage.dir);
  if (std::string error; !uplinks_->start(config_.uplinks, error)) {
    logger_->error("{}", error);
    return false;
  }
  // The monitoring endpoint shows when each TLS listener's certificate expires.
  http_->data().set_certificates([this] {
    monitor::certificate_list list;
    for (const auto& l : listeners_)
      if (auto expires = l->acceptor->certificate_expires_at(); expires != 0)
        list.emplace_back(display_url(l->acceptor->local_url(), l->configured.protocol), expires);
    return list;
  });

  for (const auto& entry : config_.listeners) {
    std::string error;
    auto opened = open_listener(entry, config_.limits, error);
    if (!opened) {
      logger_->error("{}", error);
      listeners_.clear();
      return false;
    }
    listeners_.push_back(std::move(opened));
  }
  for (const auto& s : inherited_) {
    logger_->warn("inherited socket {} ({}) matches no listener in the config; closed",
                  s.name.empty() ? std::to_string(s.handle) : s.name,
                  s.address.path.empty() ? s.address.host + ":" + std::to_string(s.address.port)
                                         : s.address.path);
    platform::close_handle(s.handle);
  }
  inherited_.clear();
  return true;
}

std::vector<transport::url> server::bound_urls(config::listener_protocol protocol) const {
  std::vector<transport::url> urls;
  for (const auto& l : listeners_)
    if (l->configured.protocol == protocol) urls.push_back(l->acceptor->local_url());
  return urls;
}

void server::start() {
  for (auto& l : listeners_) asio::co_spawn(io_, accept_loop(*l), asio::detached);
  asio::co_spawn(io_, sample_loop(), asio::detached);
  asio::co_spawn(io_, delay_loop(), asio::detached);
  if (notifier_ != nullptr && notifier_->watchdog_interval().count() > 0)
    asio::co_spawn(io_, watchdog_loop(), asio::detached);
}

asio::awaitable<void> server::watchdog_loop() {
  // Sent from the I/O thread: a broker whose event loop hangs stops pinging and the
  // service manager restarts it.
  std::error_code ec;
  while (!stopping_) {
    notifier_->watchdog();
    watchdog_timer_.expires_after(notifier_->watchdog_interval());
    co_await watchdog_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> server::accept_loop(listener& l) {
  std::string name = display_url(l.acceptor->local_url(), l.configured.protocol);
  for (;;) {
    std::error_code ec;
    auto stream = co_await l.acceptor->accept(ec);
    if (stopping_) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and the like: log, pause briefly so we do not spin, keep serving.
      logger_->warn("accept on {} failed: {}", name, ec.message());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Each listener's front-end; start() attaches to the core, or refuses past
    // limits.max_connections.
    auto id = core_.allocate_connection_id();
    if (l.configured.protocol == config::listener_protocol::mqtt)
      std::make_shared<mqtt_connection>(core_, mqtt_, std::move(stream), id, name)->start();
    else if (l.configured.protocol == config::listener_protocol::http)
      std::make_shared<http_connection>(http_, std::move(stream), id)->start();
    else
      std::make_shared<session>(core_, std::move(stream), id, name)->start();
  }
}

asio::awaitable<void> server::sample_loop() {
  // Every 100 ms: request timeouts and queue TTLs; every 10th tick: message rates.
  std::error_code ec;
  for (unsigned tick = 1; !stopping_; ++tick) {
    sample_timer_.expires_after(std::chrono::milliseconds(100));
    co_await sample_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    core_.housekeeping();
    if (tick % 10 == 0) {
      core_.sample_rates();
      mqtt_->expire(std::chrono::steady_clock::now());
      auto interval = config_.sys_interval_s;
      if (interval != 0 && (tick / 10) % interval == 0) core_.publish_statistics();
      release_memory_after_flood();
    }
  }
}

asio::awaitable<void> server::delay_loop() {
  // Delayed messages (docs/protocol.md §4.12.10) have no timer each: one timer waits for
  // the earliest, and a newly delayed message that is due sooner moves it earlier.
  using steady = asio::steady_timer::clock_type;
  auto at = [](std::uint64_t due_ms) {
    return steady::time_point(
        std::chrono::duration_cast<steady::duration>(std::chrono::milliseconds(due_ms)));
  };
  core_.set_delay_waker([this, at](std::uint64_t due_ms) {
    if (at(due_ms) < delay_timer_.expiry()) delay_timer_.expires_at(at(due_ms));
  });
  std::error_code ec;
  while (!stopping_) {
    auto due = core_.next_due();
    delay_timer_.expires_at(due == 0 ? steady::time_point::max() : at(due));
    co_await delay_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopping_) break;
    core_.promote_due();
  }
  core_.set_delay_waker(nullptr);
}

void server::release_memory_after_flood() {
  // Once a second: after many connections have ended (a flood, a mass reconnect), the
  // allocator's free memory goes back to the system instead of staying with the process.
  auto count = core_.client_count();
  peak_clients_ = std::max(peak_clients_, count);
  if (peak_clients_ < count + 256) return;
  platform::release_free_memory();
  peak_clients_ = count;
}

void server::stop(std::chrono::milliseconds grace) {
  if (stopping_) return;
  stopping_ = true;
  if (notifier_ != nullptr) notifier_->stopping();
  logger_->info("stopping: closing listeners, flushing {} connection(s)", core_.client_count());
  for (auto& l : listeners_) l->acceptor->close();
  sample_timer_.cancel();
  delay_timer_.cancel();
  watchdog_timer_.cancel();
  asio::co_spawn(io_, drain_then_stop(grace), asio::detached);
}

asio::awaitable<void> server::drain_then_stop(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer tick(io_);
  std::error_code ec;
  // Sends waiting for storage get their confirms before clients are told to go.
  auto confirms_deadline = std::chrono::steady_clock::now() + grace / 5;
  while (core_.pending_confirms() > 0 && std::chrono::steady_clock::now() < confirms_deadline) {
    tick.expires_after(std::chrono::milliseconds(2));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  core_.shut_down_clients();
  while (core_.client_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    tick.expires_after(std::chrono::milliseconds(10));
    co_await tick.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (core_.client_count() > 0)
    logger_->warn("{} connection(s) did not drain in time", core_.client_count());
  core_.for_each_client([](client_state& s) { s.owner().stop(); });
  core_.close_storage();
  logger_->info("stopped");
  // No io_.stop(): run() returns by itself once every coroutine has unwound, so no
  // session outlives the core it points to.
  if (on_stopped_) on_stopped_();
}

}  // namespace ipc::broker
