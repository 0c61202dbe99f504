// session's handshake (docs/protocol.md §3): HELLO, who the client is (the core's
// authenticator decides; a password is checked off the I/O thread), admission, WELCOME.
#include <charconv>
#include <memory>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/login.hpp"
#include "frontends/native/session.hpp"
#include "frontends/native/wire_codes.hpp"
#include "ipc/message/attributes.hpp"

namespace ipc::broker {

namespace {
// What a HELLO presents, from its properties (docs/protocol.md §3.1.2).
presented_credentials presented(const protocol::hello_frame& hello) {
  presented_credentials out;
  out.mechanism = hello.mechanism;
  hello.properties.find("user", out.user);
  hello.properties.find("password", out.password);
  hello.properties.find("token", out.token);
  return out;
}

// The will of a HELLO's will_… properties (docs/protocol.md §3.1.4): null when it has no
// will_topic; "" in `problem` when the properties are well-formed, else why not.
std::unique_ptr<will_message> will_of(const protocol::hello_frame& hello, std::string& problem) {
  std::string_view topic;
  if (!hello.properties.find("will_topic", topic)) return nullptr;
  auto will = std::make_unique<will_message>();
  will->topic = topic;
  std::string_view value;
  if (hello.properties.find("will_payload", value))
    will->payload.assign(value.begin(), value.end());
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  constexpr std::string_view header_prefix = "will_header:";
  for (auto entry : hello.properties)
    if (entry.key.starts_with(header_prefix))
      headers.emplace_back(entry.key.substr(header_prefix.size()), entry.value);
  if (hello.properties.find("will_retain", value)) {
    if (value == "1" || value == "true")
      headers.emplace_back(message_record::attribute::retain, "1");
    else if (value != "0" && value != "false")
      problem = "will_retain must be 1, 0, true or false";
  }
  if (hello.properties.find("will_delay_ms", value)) {
    std::uint64_t delay = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), delay);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
        delay > max_will_delay_ms)
      problem = "will_delay_ms must be a whole number of milliseconds from 0 to " +
                std::to_string(max_will_delay_ms);
    else
      will->delay_ms = static_cast<std::uint32_t>(delay);
  }
  if (headers.size() > 0xffff) problem = "too many will headers";
  if (!headers.empty() && problem.empty())
    message_record::put_map(will->headers, {headers, nullptr});
  return will;
}
}  // namespace

void session::on_hello(const protocol::raw_frame& frame) {
  protocol::hello_frame hello;
  if (protocol::decode(frame, hello) != protocol::errc::ok)
    return protocol_error(protocol::errc::malformed_frame, "malformed HELLO");
  auto result = fsm_.on_hello(hello);
  if (result.error != protocol::errc::ok)
    return protocol_error(result.error, result.message, "handshake refused: ");
  client_name_ = std::move(result.client_name);
  std::string_view shm;
  shm_asked_ = hello.properties.find("shm", shm) && shm == "1";
  std::string_view takes_token;
  shm_takes_token_ = hello.properties.find("shm_token", takes_token) && takes_token == "1";
  std::string will_problem;
  will_ = will_of(hello, will_problem);
  if (!will_problem.empty())
    return protocol_error(protocol::errc::invalid_argument, "will: " + will_problem,
                          "handshake refused: ");
  auto decision = core_.auth().decide(presented(hello), peer().uid, peer().tls_subject, peer().sid);
  if (decision.error != errc::ok)
    return auth_failed(decision.user, decision.log_reason, wire_code(decision.error),
                       decision.message);
  if (decision.password_hash) {
    auto key = peer_key();
    auto wait = core_.throttle().locked_for(decision.user, key, now());
    if (wait > std::chrono::steady_clock::duration::zero()) return locked_out(decision.user, wait);
    if (!core_.throttle().begin(decision.user, key)) return locked_out(decision.user, {});
    login_throttle::in_flight slot(core_.throttle(), decision.user, key);
    auto place = password_checker::reserve();
    if (!place) {
      core_.log().warn("connection {} ({}): {} password checks in progress, refused", id_,
                       peer().address, password_checker::max_in_progress);
      return close_with_error(protocol::errc::limit_exceeded,
                              "too many authentications in progress, try again");
    }
    pending_auth_.emplace(pending_password{decision.user, std::move(*decision.password_hash),
                                           std::move(decision.password), decision.log_reason,
                                           decision.basis, std::move(*place), std::move(slot)});
    return;  // the read loop checks it off the I/O thread, then goes on
  }
  accept_user(decision.user, decision.basis);
}

asio::awaitable<void> session::check_password() {
  auto job = std::move(*pending_auth_);
  pending_auth_.reset();
  bool ok = co_await check_password_off_thread(stream_->get_executor(), std::move(job.place),
                                               std::move(job.hash), std::move(job.password));
  if (stopped_ || draining_) co_return;
  if (!ok) {
    core_.throttle().failed(job.user, peer_key(), now());
    auth_failed(job.user, job.failure, protocol::errc::auth_failed, "authentication failed");
    co_return;
  }
  core_.throttle().succeeded(job.user, peer_key());
  accept_user(job.user, job.basis);
}

void session::auth_failed(const std::string& user, std::string_view reason, protocol::errc code,
                          std::string_view message) {
  ++core_.counters().auth_failures;
  std::string note;
  if (core_.log_allowed(noisy_event::auth_failure, note))
    core_.log().warn("connection {} ({}): authentication failed for user '{}' ({}){}", id_,
                     peer().address, loggable(user), reason, note);
  close_with_error(code, message);
}

std::string session::peer_key() const { return login_peer_key(peer()); }

std::chrono::steady_clock::time_point session::now() { return std::chrono::steady_clock::now(); }

void session::locked_out(const std::string& user, std::chrono::steady_clock::duration wait) {
  // `wait` zero: refused for checks already in progress for this user or peer.
  ++core_.counters().auth_lockouts;
  auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
  std::string why = seconds > 0
                        ? "too many failed logins, " + std::to_string(seconds) + " s to wait"
                        : "too many logins in progress for this user or peer";
  std::string note;
  if (core_.log_allowed(noisy_event::auth_lockout, note))
    core_.log().warn("connection {} ({}): login for user '{}' refused unchecked: {}{}", id_,
                     peer().address, loggable(user), why, note);
  close_with_error(protocol::errc::auth_failed,
                   seconds > 0
                       ? "too many failed logins: try again in " + std::to_string(seconds) + " s"
                       : "too many logins in progress: try again");
}

void session::accept_user(const std::string& user, const std::string& basis) {
  if (auto refused = core_.admit(*state_, user, basis)) {
    if (refused.code == errc::auth_failed)  // a reload during the password check
      core_.log().warn("connection {} ({}): credentials of '{}' withdrawn by reload", id_,
                       peer().address, loggable(user));
    else
      core_.log().warn("connection {} ({}) as '{}' refused: {}", id_, peer().address, user,
                       refused.message);
    return close_with_error(wire_code(refused.code), refused.message);
  }
  if (will_) {
    // Checked like a PUBLISH by this user: refused here, not dropped later.
    if (auto refused = core_.set_will(*state_, std::move(*will_))) {
      will_.reset();
      core_.log().info("connection {} ({}) as '{}' refused: {}", id_, peer().address, user,
                       loggable(refused.message));
      return close_with_error(wire_code(refused.code), refused.message);
    }
    will_.reset();
  }
  deadline_.expires_at(asio::steady_timer::time_point::max());  // handshake done
  reader_.set_max_frame(max_frame_size());
  std::string server = "ipcd/" IPCD_VERSION;
  std::string shm_token, shm_refusal;
  bool shm = offer_shared_memory(shm_token, shm_refusal);
  auto welcome = [&] {
    std::pair<std::string_view, std::string_view> props[] = {
        {"server", server}, {"user", user}, {"shm", "1"}, {"shm_token", shm_token}};
    std::size_t count = !shm ? 2 : shm_token.empty() ? 3 : 4;
    if (!shm && !shm_refusal.empty()) {
      props[2] = {"shm_error", shm_refusal};
      count = 3;
    }
    frame_scratch_.clear();
    protocol::encode_welcome(frame_scratch_, id_, core_.limits().max_payload,
                             std::span(props).first(count));
  };
  welcome();
  // The switch comes right after the WELCOME, the last bytes on the socket.
  if (shm && !stream_->switch_shared_memory_after(counters_.bytes_out + pending_bytes() +
                                                  frame_scratch_.size())) {
    core_.log().error(
        "connection {} ({}): the switch to shared memory cannot follow the WELCOME; "
        "staying on the socket",
        id_, peer().address);
    shm = false;
    shm_refusal = "the switch cannot follow the WELCOME";
    ++core_.counters().shm_switch_failures;
    welcome();
  }
  queue_frame();
  core_.log().debug("connection {} ({}) open as '{}'", id_, peer().address, user);
  core_.announce_open(*state_);
}

bool session::offer_shared_memory(std::string& token, std::string& refusal) {
  // docs/shared-memory.md §4: the client asked, its listener allows it, and nothing came
  // behind the HELLO (a client that asks waits for WELCOME: bytes already on the socket
  // would arrive before the switch but belong after it).
  if (!shm_asked_ || !stream_->can_offer_shared_memory(shm_takes_token_)) return false;
  if (reader_.buffered() != 0) {
    core_.log().info(
        "connection {} ({}): frames behind a HELLO asking for shared memory; "
        "staying on the socket",
        id_, peer().address);
    refusal = "frames came behind the HELLO that asked for it";
    return false;
  }
  if (stream_->offer_shared_memory(token, refusal)) return true;
  ++core_.counters().shm_switch_failures;
  core_.log().warn("connection {} ({}): cannot switch to shared memory ({}); staying on the socket",
                   id_, peer().address, refusal);
  return false;
}

std::uint32_t session::max_frame_size() const {
  // A maximal message: payload, topic and reply_to at their limits, every header.
  const auto& limits = core_.limits();
  std::size_t headers = 2 + std::size_t{limits.max_headers} * 4 + limits.max_header_bytes;
  std::size_t size = protocol::publish_frame_size(limits.max_topic_length, limits.max_topic_length,
                                                  headers, limits.max_payload);
  // The reader limits the length field, which excludes the 4-byte prefix; 64 bytes of
  // room cover the fixed fields of any frame.
  return static_cast<std::uint32_t>(size - protocol::length_prefix_size + 64);
}

void session::limits_changed() {
  // Before the handshake the reader keeps the small pre-authentication limit.
  if (!stopped_ && state_ != nullptr && state_->authenticated())
    reader_.set_max_frame(max_frame_size());
}

}  // namespace ipc::broker
