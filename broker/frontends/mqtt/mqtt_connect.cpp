// mqtt_connection's login (docs/mqtt.md §3): CONNECT, who the client is (the core's
// authenticator decides, as for native clients), the client identifier and takeover, the
// will, CONNACK; and DISCONNECT.
#include <algorithm>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/login.hpp"
#include "frontends/mqtt/mqtt_connection.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "ipc/message/attributes.hpp"

namespace ipc::broker {

using mqtt::reason;

namespace {
std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// What a CONNECT presents (docs/mqtt.md §3.2): a user name with a password is a password
// login; a password with no (or an empty) user name is a token; neither is anonymous
// (Unix peer credentials and client certificates still apply).
presented_credentials presented(const mqtt::connect_packet& c) {
  presented_credentials out;
  bool has_user = c.user_name && !c.user_name->empty();
  if (c.password && has_user) {
    out.mechanism = "password";
    out.user = *c.user_name;
    out.password = as_text(*c.password);
  } else if (c.password) {
    out.mechanism = "token";
    out.token = as_text(*c.password);
  } else {
    out.mechanism = "anonymous";
  }
  return out;
}

// The will of a CONNECT as the core's will_message: retain and expiry become attributes.
will_message will_of(const mqtt::will_spec& w) {
  will_message will;
  will.topic = w.topic;
  will.payload.assign(w.payload.begin(), w.payload.end());
  mqtt::publish_packet as_publish;
  as_publish.qos = w.qos;
  as_publish.retain = w.retain;
  as_publish.props = w.props;
  mqtt_headers headers;
  if (headers.build(as_publish) && headers.view().size() != 0) {
    auto view = headers.view();
    message_record::put_map(will.headers, {{}, &view});
  }
  if (w.props.will_delay_interval)
    will.delay_ms = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        std::uint64_t{*w.props.will_delay_interval} * 1000, max_will_delay_ms));
  return will;
}
}  // namespace

void mqtt_connection::on_connect(const mqtt::raw_packet& packet) {
  connect_seen_ = true;
  mqtt::connect_packet c;
  auto decoded = mqtt::decode_connect(packet, c);
  version_ = c.level;
  if (decoded == reason::unsupported_protocol_version) {
    version_ = mqtt::version::v311;  // MQTT 5 §3.1.2.2: answered in the 3.1.1 form
    return refuse_connect(decoded, "unsupported protocol name or level");
  }
  if (decoded != reason::success) {
    ++core_.counters().protocol_errors;
    return refuse_connect(decoded, "malformed CONNECT");
  }
  if (refused_at_attach_) return refuse_connect(*refused_at_attach_, refusal_message_);
  if (c.props.authentication_method)
    return refuse_connect(reason::bad_authentication_method,
                          "extended authentication is not supported");
  keep_alive_s_ = c.keep_alive;
  clean_start_ = c.clean_start;
  const auto max_keepalive = registry_->settings().max_keepalive_s;
  bool capped = max_keepalive < 65535 && (keep_alive_s_ == 0 || keep_alive_s_ > max_keepalive);
  if (capped && !v5())  // 3.1.1 cannot be told another keep alive (MQTT 5 §3.2.2.3.14 can)
    return refuse_connect(reason::server_unavailable, "keep alive over mqtt.max_keepalive (" +
                                                          std::to_string(max_keepalive) + " s)");
  if (capped) {
    keep_alive_s_ = max_keepalive;
    server_keep_alive_ = true;
  }
  client_id_ = std::string(c.client_id);
  if (client_id_.empty()) {
    // MQTT 3.1.1 §3.1.3-8: an empty identifier needs a clean session.
    if (!v5() && !c.clean_start)
      return refuse_connect(reason::client_identifier_not_valid,
                            "an empty client identifier needs a clean session");
    client_id_ = registry_->assign_identifier();
    assigned_id_ = true;
  }
  const auto& settings = registry_->settings();
  if (v5()) {
    if (c.props.maximum_packet_size) client_max_packet_ = *c.props.maximum_packet_size;
    if (c.props.topic_alias_maximum) client_alias_max_ = *c.props.topic_alias_maximum;
    window_ = std::min(c.props.receive_maximum.value_or(65535), settings.max_inflight);
    std::uint32_t asked = c.props.session_expiry_interval.value_or(0);
    session_expiry_s_ = std::min(asked, settings.max_session_expiry_s);
  } else {
    window_ = settings.max_inflight;
    session_expiry_s_ = c.clean_start ? 0 : settings.max_session_expiry_s;
  }
  inbound_aliases_.assign(v5() ? settings.topic_alias_maximum + 1u : 0u, std::string());
  if (c.will) will_ = std::make_unique<will_message>(will_of(*c.will));

  const auto& auth = core_.auth();
  auto credentials = auth.enabled() ? presented(c) : presented_credentials{"anonymous", {}, {}, {}};
  auto decision = auth.decide(credentials, peer().uid, peer().tls_subject, peer().sid);
  if (decision.error != errc::ok)
    return auth_failed(decision.user, decision.log_reason,
                       credentials.mechanism == "anonymous" ? reason::not_authorized
                                                            : reason::bad_user_name_or_password);
  if (decision.password_hash) {
    auto key = login_peer_key(peer());
    auto now = std::chrono::steady_clock::now();
    auto wait = core_.throttle().locked_for(decision.user, key, now);
    if (wait > std::chrono::steady_clock::duration::zero() ||
        !core_.throttle().begin(decision.user, key)) {
      ++core_.counters().auth_lockouts;
      core_.log().warn(
          "connection {} ({}): login for user '{}' refused unchecked: too many "
          "failed or concurrent logins",
          id_, peer().address, loggable(decision.user));
      return refuse_connect(v5() ? reason::banned : reason::server_unavailable,
                            "too many failed logins: try again later");
    }
    login_throttle::in_flight slot(core_.throttle(), decision.user, key);
    auto place = password_checker::reserve();
    if (!place) return refuse_connect(reason::server_busy, "too many logins in progress");
    pending_auth_.emplace(pending_password{decision.user, std::move(*decision.password_hash),
                                           std::move(decision.password), decision.log_reason,
                                           decision.basis, std::move(*place), std::move(slot)});
    return;  // the read loop checks it off the I/O thread, then goes on
  }
  accept_user(decision.user, decision.basis);
}

asio::awaitable<void> mqtt_connection::check_password() {
  auto job = std::move(*pending_auth_);
  pending_auth_.reset();
  bool ok = co_await check_password_off_thread(stream_->get_executor(), std::move(job.place),
                                               std::move(job.hash), std::move(job.password));
  if (stopped_ || draining_) co_return;
  auto key = login_peer_key(peer());
  if (!ok) {
    core_.throttle().failed(job.user, key, std::chrono::steady_clock::now());
    auth_failed(job.user, job.failure, reason::bad_user_name_or_password);
    co_return;
  }
  core_.throttle().succeeded(job.user, key);
  accept_user(job.user, job.basis);
}

void mqtt_connection::auth_failed(const std::string& user, std::string_view why, reason code) {
  ++core_.counters().auth_failures;
  std::string note;
  if (core_.log_allowed(noisy_event::auth_failure, note))
    core_.log().warn("connection {} ({}): MQTT authentication failed for user '{}' ({}){}", id_,
                     peer().address, loggable(user), why, note);
  refuse_connect(code, "authentication failed");
}

void mqtt_connection::refuse_connect(reason code, std::string_view message) {
  core_.log().debug("connection {} ({}): CONNECT refused: {} ({})", id_, peer().address,
                    mqtt::reason_name(code), loggable(message));
  close_with(code, message);
}

void mqtt_connection::accept_user(const std::string& user, const std::string& basis) {
  if (auto refused = core_.admit(*state_, user, basis)) {
    core_.log().warn("connection {} ({}) as '{}' refused: {}", id_, peer().address, user,
                     refused.message);
    return refuse_connect(
        refused.code == errc::auth_failed ? reason::not_authorized : reason::quota_exceeded,
        refused.message);
  }
  if (will_) {
    if (auto refused = core_.set_will(*state_, std::move(*will_))) {
      will_.reset();
      core_.log().info("connection {} ({}) as '{}' refused: will: {}", id_, peer().address, user,
                       loggable(refused.message));
      return refuse_connect(reason_of(refused.code), refused.message);
    }
    will_.reset();
  }
  // One connection per client identifier (MQTT 5 §3.1.4-3): the older one is closed.
  if (auto older = registry_->holder(client_id_); older && older.get() != this) older->taken_over();
  registry_->hold(client_id_, shared_from_this());
  holds_client_id_ = true;
  bool present = false;
  if (!open_session(user, clean_start_, present))
    return refuse_connect(reason::server_unavailable, "the session could not be made");

  connected_ = true;
  mqtt::connack_packet ack;
  ack.session_present = present;
  ack.code = 0;
  if (v5()) {
    const auto& settings = registry_->settings();
    auto& p = ack.props;
    if (settings.receive_maximum != 65535) p.receive_maximum = settings.receive_maximum;
    p.maximum_packet_size = max_packet_size() + 5;  // with the fixed header
    p.topic_alias_maximum = settings.topic_alias_maximum;
    if (assigned_id_) p.assigned_client_identifier = client_id_;
    if (session_expiry_s_ != 0) p.session_expiry_interval = session_expiry_s_;
    if (server_keep_alive_) p.server_keep_alive = keep_alive_s_;
  }
  scratch_.clear();
  mqtt::encode(scratch_, version_, ack);
  queue_packet();
  restore_session();
  deadline_.expires_after(std::chrono::milliseconds(std::uint64_t{keep_alive_s_} * 1500));
  if (keep_alive_s_ == 0) deadline_.expires_at(asio::steady_timer::time_point::max());
  core_.log().debug("connection {} ({}) MQTT {} client '{}' open as '{}'", id_, peer().address,
                    static_cast<int>(version_), loggable(client_id_), user);
  core_.announce_open(*state_);
}

void mqtt_connection::on_disconnect(const mqtt::raw_packet& packet) {
  mqtt::disconnect_packet d;
  if (auto r = mqtt::decode(packet, version_, d); r != reason::success)
    return protocol_error(r, "malformed DISCONNECT");
  if (d.props.session_expiry_interval && *d.props.session_expiry_interval != 0 &&
      session_expiry_s_ == 0)  // MQTT 5 §3.14.2.2.2
    return protocol_error(reason::protocol_error,
                          "DISCONNECT may not set a session expiry when CONNECT set none");
  if (d.props.session_expiry_interval && session_ != nullptr)
    session_->expiry_s =
        std::min(*d.props.session_expiry_interval, registry_->settings().max_session_expiry_s);
  // A normal disconnection drops the will; 0x04 asks for it (MQTT 5 §3.14.2.1).
  if (d.code != reason::disconnect_with_will) core_.goodbye(*state_);
  draining_ = true;  // nothing more is read; the writer closes when the output is out
  deadline_.expires_after(std::chrono::seconds(2));
  wake_writer();
}

}  // namespace ipc::broker
