// uplink: life cycle (attach, the export subscriptions, the link), the client contract's
// plumbing, link events, and the report for `ipcctl uplink list`.
#include "frontends/uplink/uplink.hpp"

#include <asio/post.hpp>
#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "ipc/credentials/nkey.hpp"
#include "ipc/credentials/password.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
using json = nlohmann::json;

nats_link_settings link_settings(const config::uplink& u) {
  nats_link_settings s;
  s.name = u.name;
  s.servers = u.servers;
  s.tls = {u.tls_ca, u.tls_cert, u.tls_key, {}};
  s.user = u.user;
  s.password = u.password;
  s.token = u.token;
  if (!u.nkey.empty()) {
    std::string error;
    if (auto key = credentials::read_user_seed_file(u.nkey, error)) {
      s.nkey_public = key->public_key;
      s.sign = [key = *key](std::string_view nonce) { return credentials::sign_nonce(key, nonce); };
    }
  }
  s.reconnect_wait = std::chrono::milliseconds(u.reconnect_wait_ms);
  s.max_reconnect_wait = std::chrono::milliseconds(u.max_reconnect_wait_ms);
  s.connect_timeout = std::chrono::milliseconds(u.connect_timeout_ms);
  s.ping_interval = std::chrono::milliseconds(u.ping_interval_ms);
  s.max_pings_out = u.max_pings_out;
  return s;
}
}  // namespace

uplink::uplink(broker_core& core, const config::uplink& settings, std::string instance_id,
               asio::any_io_executor executor, std::uint64_t id,
               std::shared_ptr<spdlog::logger> logger)
    : core_(core),
      settings_(settings),
      instance_id_(std::move(instance_id)),
      executor_(std::move(executor)),
      id_(id),
      display_("uplink " + settings.name),
      logger_(std::move(logger)) {
  peer_.transport = transport::scheme::tcp;
  peer_.address = "uplink " + settings_.name;
  inbox_prefix_ = "_INBOX.ipcd" + credentials::random_hex(8) + ".";
}

uplink::~uplink() = default;

bool uplink::start(std::string& error) {
  auto self = shared_from_this();
  if (auto refused = core_.attach(self, state_)) {
    error = refused.message;
    return false;
  }
  core_.admit_internal(*state_, display_, settings_.local_user);
  // Export rules that are not durable: core subscriptions, sid = rule index + 1.
  for (std::size_t i = 0; i < settings_.exports.size(); ++i) {
    const auto& rule = settings_.exports[i];
    if (rule.durable) continue;
    if (auto refused = core_.subscribe(*state_, static_cast<std::uint32_t>(i + 1), rule.pattern)) {
      error = "export '" + rule.pattern + "': " + refused.message;
      shut_down();
      return false;
    }
  }
  if (!prepare_spool(error)) {
    shut_down();
    return false;
  }
  if (!settings_.nkey.empty() && !credentials::read_user_seed_file(settings_.nkey, error)) {
    shut_down();
    return false;
  }
  link_ = std::make_shared<nats_link>(executor_, link_settings(settings_), *this, logger_);
  link_->start();
  return true;
}

void uplink::shut_down() {
  if (stopped_) return;
  stopped_ = true;
  if (link_) link_->stop();
  detach_spool();
  spool_.reset();
  requests_out_.clear();
  if (auto* state = std::exchange(state_, nullptr)) core_.detach(*state);
}

void uplink::close(errc code, std::string_view message) {
  if (code == errc::connection_killed && link_) {
    // `ipcctl conn kill` on an uplink: its NATS connection starts again (the uplink is
    // the config's; only a reload or a stop ends it).
    core_.log().info("uplink {}: connection dropped by an administrator; reconnecting",
                     settings_.name);
    link_->drop();
    return;
  }
  if (code != errc::shutting_down) {
    close_reason_ = "internal";
    core_.log().warn("uplink {}: ended by the broker: {}", settings_.name, loggable(message));
  }
  stop();
}

void uplink::stop() {
  // Called while the core walks its clients: the link stops now, the detach comes just
  // after (as a connection's loops end after its stop()).
  if (link_) link_->stop();
  asio::post(executor_, [self = shared_from_this()] { self->shut_down(); });
}

void uplink::subscription_ended(std::uint32_t sid, std::string_view pattern,
                                std::string_view message) {
  core_.log().warn("uplink {}: export of '{}' (rule {}) ended: {}", settings_.name,
                   loggable(pattern), sid, loggable(message));
}

void uplink::link_up() {
  subscribe_imports();
  attach_spool();
}

void uplink::link_down(std::string_view) {
  detach_spool();
  requests_out_.clear();  // their replies cannot come back on a new connection
  request_order_.clear();
}

void uplink::link_flushed(std::uint64_t mark) {
  // Everything sent before the PING with `mark` is with the server: those spooled
  // messages leave the spool.
  if (mark <= flushed_seq_) return;
  flushed_seq_ = mark;
  bool acked = false;
  while (!in_flight_.empty() && in_flight_.front().seq <= mark) {
    if (spool_) (void)spool_->ack(consumer_, in_flight_.front().delivery);
    in_flight_.pop_front();
    acked = true;
  }
  if (acked && spool_) {
    core_.queues().schedule(*spool_);
    core_.queues().dispatch_pending();
  }
  expire_requests();
}

json uplink::describe() const {
  json spool = nullptr;
  if (spool_)
    spool = {{"queue", spool_->name()},
             {"messages", spool_->ready_count() + spool_->unacked_count()},
             {"bytes", spool_->bytes()},
             {"in_flight", in_flight_.size()},
             {"max_bytes", settings_.max_spool_bytes},
             {"dropped", spool_->stats().dropped},
             {"rejected", spool_->stats().rejected_full},
             {"overflow", settings_.spool_overflow}};
  const auto& server = link_ ? link_->server() : nats_server_info{};
  auto since =
      link_ && link_->up()
          ? std::chrono::duration_cast<std::chrono::seconds>(link_->up_since().time_since_epoch())
                .count()
          : 0;
  return {{"name", settings_.name},
          {"state", link_ ? std::string(link_->state()) : std::string("stopped")},
          {"server", link_ ? link_->current_url() : std::string()},
          {"server_name", server.server_name.empty() ? server.server_id : server.server_name},
          {"server_version", server.version},
          {"cluster", server.cluster},
          {"connected_since", since},
          {"servers", link_ ? link_->known_servers() : std::vector<std::string>{}},
          {"connects", link_ ? link_->connects() : 0},
          {"reconnects", link_ && link_->connects() > 0 ? link_->connects() - 1 : 0},
          {"last_error", link_ ? link_->last_error() : std::string()},
          {"messages_out", counters_.exported},
          {"messages_in", counters_.imported},
          {"bytes_out", link_ ? link_->bytes_out() : 0},
          {"bytes_in", link_ ? link_->bytes_in() : 0},
          {"payload_bytes_out", counters_.exported_bytes},
          {"payload_bytes_in", counters_.imported_bytes},
          {"dropped_down", counters_.dropped_down},
          {"dropped_too_large", counters_.dropped_too_large},
          {"dropped_slow", counters_.dropped_slow},
          {"duplicates", counters_.duplicates},
          {"echoes", counters_.echoes},
          {"refused", counters_.refused},
          {"requests_out", counters_.requests_out},
          {"requests_in", counters_.requests_in},
          {"pending_bytes", pending_bytes()},
          {"spool", spool}};
}

}  // namespace ipc::broker
