// The front-end contract (docs/architecture.md §1.2): what the core needs of one connection
// of any protocol. A front-end (the native session today; MQTT next) implements `client`,
// attaches it, and then calls the core with the `client_state` the core keeps for it.
// Every call, both ways, happens on the I/O thread; no call from the core re-enters it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/errc.hpp"
#include "core/route_target.hpp"
#include "core/will.hpp"
#include "ipc/transport/peer.hpp"

namespace ipc::broker {

class permissions;
class broker_core;

// What `conn.list` shows of a connection, counted by its front-end.
struct client_counters {
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t messages_in = 0, messages_out = 0;
  std::uint64_t dropped = 0;  // topic messages dropped (limits.slow_consumer = drop)
};

class client : public routing::route_target {
 public:
  // Identity, fixed for the connection's life.
  virtual std::uint64_t id() const = 0;
  virtual const transport::peer_info& peer() const = 0;
  virtual std::string_view protocol_name() const = 0;  // "native", later "mqtt"
  virtual const std::string& listener() const = 0;
  virtual const std::string& client_name() const = 0;
  virtual std::chrono::system_clock::time_point connected_at() const = 0;
  virtual const client_counters& counters() const = 0;
  virtual std::size_t pending_bytes() const = 0;  // output queued or being written
  // The bytes of a shared-memory segment the connection maps (docs/shared-memory.md), 0
  // for connections without one.
  virtual std::size_t shared_memory_bytes() const { return 0; }
  // Queue consumers it holds, cancelled ones still settling included: they count
  // against limits.max_subscriptions with its subscriptions (one rule, in the core).
  virtual std::size_t consumer_count() const = 0;

  // Topic deliveries come through route_target::deliver_message (subscription id).
  // A confirmed publish or send is settled: `outcome` empty means stored, with `value`
  // (a send's message id); otherwise why not.
  virtual void confirmed(std::uint32_t ref, std::uint64_t value, errc outcome,
                         std::string_view message) = 0;
  // The first reply to request `request`: the reply's encoded message record.
  virtual void replied(std::uint32_t request, std::span<const std::uint8_t> record) = 0;
  // Request `request` ended without a reply (timeout).
  virtual void request_failed(std::uint32_t request, errc code, std::string_view message) = 0;
  // The core ended subscription `sid` (a reload took the permission away).
  virtual void subscription_ended(std::uint32_t sid, std::string_view pattern,
                                  std::string_view message) = 0;
  // A reload changed the user's permissions: end consumers they no longer allow.
  virtual void permissions_changed(const permissions& now) = 0;
  // A reload changed the limits (a frame size limit may follow them).
  virtual void limits_changed() = 0;
  // The memory alarm went on or off (broker_core::publisher_must_wait): a front-end that
  // stopped reading a publisher resumes when it is off.
  virtual void memory_alarm(bool on) = 0;
  // The read batch during which it asked broker_core::defer_write() ended: write the
  // output queued since, now. Never throws (a failure ends this connection only). A
  // front-end that never defers its writes needs nothing here.
  virtual void write_deferred() noexcept {}
  // The core ends the connection: a fatal error with `code`, then close.
  virtual void close(errc code, std::string_view message) = 0;
  // Ends the connection at once, dropping what is queued (the end of a stop).
  virtual void stop() = 0;
  // Why the connection ended, for the count by reason (docs/monitoring.md §3): "client"
  // (it closed), "protocol_error", "auth", "slow_consumer", "keepalive", "admin",
  // "shutdown", "takeover", "internal". Asked once, at detach.
  virtual std::string_view close_reason() const = 0;

 protected:
  ~client() = default;
};

// What the core keeps of one attached client; the front-end holds a reference from
// attach() until its detach(), and passes it to every core call.
class client_state {
 public:
  explicit client_state(std::shared_ptr<client> owner) : owner_(std::move(owner)) {}
  client& owner() const { return *owner_; }
  std::uint64_t id() const { return owner_->id(); }
  const std::string& user() const { return user_; }  // "" until authenticated
  bool authenticated() const { return !basis_.empty(); }
  const permissions& perms() const { return *perms_; }
  std::size_t subscription_count() const { return subscriptions_.size(); }

 private:
  friend class broker_core;
  std::shared_ptr<client> owner_;
  std::string user_;
  std::string basis_;  // what vouched for the user (authenticator::still_valid)
  std::shared_ptr<const permissions> perms_;
  // The topic of its last publish that passed the permission and name checks under the
  // current perms_ and limits; "" when none, which matches no topic, not even an empty
  // one (broker_core::publish).
  std::string checked_topic_;
  std::unordered_map<std::uint32_t, std::string> subscriptions_;  // sid → pattern
  // request id → its reply address: the key of broker_core::requests_ (a node's key stays
  // where it is while the node lives)
  std::unordered_map<std::uint32_t, const std::string*> requests_;
  std::unique_ptr<will_message> will_;  // published if the connection ends without a goodbye
  bool announced_ = false;              // $SYS/connections/open went out: its close event follows
  bool internal_ = false;               // admit_internal(): run by the broker itself
  std::string as_user_;                 // an internal client's permissions are this user's
};

}  // namespace ipc::broker
