// The protocol-neutral core (docs/architecture.md §1.2): the attached clients with their
// subscriptions and open requests, the topic trie, the publish path (check, match,
// encode once, fan out), queue sends and consumers, request/reply, confirms, access
// decisions and the admin commands. It knows no wire format: front-ends call it with a
// client_state and neutral values, and it calls them back through `client`.
// Owned by the single I/O thread (docs/architecture.md §2): no locks.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json_fwd.hpp>

#include "access/login_throttle.hpp"
#include "core/client.hpp"
#include "core/errc.hpp"
#include "core/log_limiter.hpp"
#include "core/memory_gauge.hpp"
#include "core/message.hpp"
#include "core/message_pool.hpp"
#include "core/refusal.hpp"
#include "core/reload_report.hpp"
#include "core/retained_store.hpp"
#include "ipc/config/config.hpp"
#include "ipc/credentials/password.hpp"
#include "ipc/message/attributes.hpp"
#include "ipc/routing/topic.hpp"
#include "ipc/routing/topic_trie.hpp"
#include "ipc/storage/log.hpp"

namespace ipc::broker {

class queue_manager;
class queue;
struct stored_message;
class authenticator;

struct broker_counters {
  std::uint64_t messages_in = 0;   // publishes accepted
  std::uint64_t messages_out = 0;  // deliveries queued to subscribers
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t slow_consumers = 0;       // connections closed for pending output over the limit
  std::uint64_t slow_consumer_drops = 0;  // messages dropped (limits.slow_consumer = drop)
  std::uint64_t protocol_errors = 0;      // connections closed for any protocol error
  std::uint64_t internal_errors = 0;      // connections ended by an unexpected exception
  std::uint64_t auth_failures = 0;
  std::uint64_t auth_lockouts = 0;       // logins refused unchecked while their back-off runs
  std::uint64_t handshake_failures = 0;  // TLS handshakes failed or refused (transport)
  // Switches to shared memory a listener allowed that the broker could not make (no
  // segment or pipes; not a client's frames behind its HELLO)
  std::uint64_t shm_switch_failures = 0;
  std::uint64_t requests = 0, replies = 0, late_replies = 0, request_timeouts = 0;
  std::uint64_t no_responders = 0;  // requests refused at once: nobody could answer
  std::map<std::string, std::uint64_t, std::less<>> closed;  // connections ended, by reason
  std::uint64_t wills_published = 0;
};

enum class request_target { topic, queue };

// Events a client can cause at will, whose log lines are rate-limited (log_limiter).
enum class noisy_event { protocol_error, auth_failure, handshake_failure, auth_lockout };

class broker_core {
 public:
  broker_core(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger);
  ~broker_core();
  broker_core(const broker_core&) = delete;
  broker_core& operator=(const broker_core&) = delete;

  // Opens storage (recovering durable queues) and declares the configured queues; false
  // with `error` when the broker must not start. `post` runs work later on the I/O thread
  // (storage outcomes, memory alarm changes).
  bool open(std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
            std::string& error);
  // Writes and syncs what storage holds in memory (graceful stop).
  void close_storage();

  const config::limits& limits() const { return limits_; }
  spdlog::logger& log() { return *logger_; }
  message_pool& pool() { return pool_; }
  broker_counters& counters() { return counters_; }
  // Whether to log one more event of this kind now (at most 10 lines a second per kind);
  // `note` gets what to append: " (N more like it not logged)" after held-back ones.
  bool log_allowed(noisy_event kind, std::string& note);

  // Clients (core/client.hpp). attach() registers a connection, refused past
  // limits.max_connections (then `state` stays null); detach() forgets it with its
  // subscriptions and open requests, once its front-end has let go of its consumers.
  std::uint64_t allocate_connection_id() { return ++last_connection_id_; }
  refusal attach(const std::shared_ptr<client>& c, client_state*& state);
  void detach(client_state& s);
  client_state* find(std::uint64_t id) const;
  void for_each_client(const std::function<void(client_state&)>& visit) const;
  std::size_t client_count() const { return clients_.size(); }
  void shut_down_clients();  // tells every client the broker is stopping

  // Authentication (docs/security.md): the authenticator decides who a client is; a
  // front-end runs slow password checks off the I/O thread (access/password_checker.hpp).
  const authenticator& auth() const { return *auth_; }
  // Back-off for password guessing (auth.lockout): front-ends ask it before a password
  // check and tell it the outcome.
  login_throttle& throttle() { return throttle_; }
  // Accepts `s` as `user`, vouched for by `basis`: refused when a reload withdrew the
  // basis meanwhile, or past the user's connection limit. Then `s` has its permissions.
  refusal admit(client_state& s, const std::string& user, const std::string& basis);
  // Accepts a client the broker itself runs (an uplink, docs/uplinks.md), shown as
  // `name`, with the permissions of the configured user `as_user` ("" = everything). It
  // counts against no user's connection limit; a reload re-reads `as_user`'s permissions.
  void admit_internal(client_state& s, const std::string& name, const std::string& as_user);
  // Announces an admitted connection on $SYS/connections/open, once its front-end has
  // answered the handshake.
  void announce_open(client_state& s);
  // Wills (core/will.hpp; wills.cpp). set_will(), after admit() and before the handshake
  // is answered, checks the will like a PUBLISH by the user (permission, topic, sizes,
  // attributes): a refusal refuses the handshake. goodbye() is a clean close: the
  // connection will end without its will. detach() publishes it otherwise (or schedules
  // it when it has a delay), except while the broker stops.
  refusal set_will(client_state& s, will_message will);
  void goodbye(client_state& s) { s.will_.reset(); }

  // Topics. Each checks the user's permissions; a refusal says why (and is logged when
  // it is a permission).
  refusal subscribe(client_state& s, std::uint32_t sid, std::string_view pattern);
  refusal unsubscribe(client_state& s, std::uint32_t sid);
  // After the front-end has acknowledged subscription `sid`: the retained messages its
  // pattern matches, marked retained (docs/protocol.md §4.2.1).
  void send_retained(client_state& s, std::uint32_t sid);
  // The same for a subscription the front-end keeps itself (a binding made with
  // bind_subscription), delivered as subscription `sid` of the client.
  void send_retained(client_state& s, std::uint32_t sid, std::string_view pattern);
  // A front-end's durable subscription (an MQTT persistent session, docs/mqtt.md §3.4): a
  // binding of `pattern` into the front-end's queue `queue_name`, checked like
  // subscribe() (permission, grammar, limits.max_subscriptions against the `held` ones
  // the client has besides its core subscriptions).
  refusal bind_subscription(client_state& s, const std::string& queue_name,
                            std::string_view pattern, std::size_t held);
  // With `confirm` not 0, s.owner().confirmed(confirm, …) follows once every copy bound
  // into a durable queue is stored (at once when there is none).
  refusal publish(client_state& s, const message_in& m, std::uint32_t confirm);
  // The memory bound (limits.max_memory, core/memory_gauge.hpp): front-ends count their
  // pending output in it. While the alarm is on, send() and request() are refused with
  // memory_alarm, and a front-end that has just handed over a publish for which this
  // says true stops reading that connection until client::memory_alarm(false). Replies
  // to requests never wait: they settle what is already held.
  const std::shared_ptr<memory_gauge>& memory() const { return memory_; }
  bool publisher_must_wait(std::string_view topic) const;
  // Broker events on $SYS topics, encoded only when someone listens.
  void publish_system(std::string_view topic, std::string_view json);
  // The periodic statistics on $SYS/broker/... (docs/monitoring.md §7; sys_stats.cpp).
  void publish_statistics();

  // Queues. send() confirms like publish(), with the message id as the value.
  refusal send(client_state& s, std::string_view queue_name, const message_in& m,
               std::uint32_t confirm);
  // Whether `s` may add a consumer on `queue_name` with `prefetch` (permissions, the
  // subscription limit, limits.max_prefetch): the queue, created when allowed.
  refusal consume(client_state& s, std::string_view queue_name, std::uint32_t prefetch,
                  std::shared_ptr<queue>& out);
  queue_manager& queues() { return *queues_; }

  // Request/reply (docs/protocol.md §4.11): routes the request with a broker-made reply
  // address; refuses at once with no_responders when nobody can answer. The reply comes
  // back through s.owner().replied(), a timeout through request_failed().
  refusal request(client_state& s, std::uint32_t id, request_target kind, std::string_view target,
                  std::uint32_t timeout_ms, const message_in& m);
  // Ends the open request whose reply address is `address` without a reply (an uplink
  // heard that nobody beyond the machine answers: no_responders); unknown ones are ignored.
  void fail_request(std::string_view address, errc code, std::string_view message);
  // Times out requests past their deadline and expires queue messages; periodic.
  void housekeeping();
  // Delayed messages (docs/protocol.md §4.12.10): `wake(due_ms)` is called with the due
  // time (steady ms) of each newly delayed message; promote_due() shows those due.
  void set_delay_waker(std::function<void(std::uint64_t due_ms)> wake);
  std::uint64_t next_due();
  void promote_due();

  // Admin requests (docs/protocol.md §5): returns JSON; `status` ok or why not.
  std::string admin(client_state& s, std::string_view command, std::string_view args_json,
                    errc& status);
  // The JSON of a read-only admin command (status, conn.list, queue.list, topic.list)
  // without a client to check: for the monitoring endpoint, which checks access itself.
  std::string report(std::string_view command) const;
  // An admin command beyond the built-in ones (the embedding program's; tests use it).
  using admin_handler = std::function<std::string(std::string_view args_json, errc& status)>;
  void add_admin_command(std::string name, admin_handler handler) {
    extra_admin_[std::move(name)] = std::move(handler);
  }
  // A front-end's read-only report (uplink.list): an admin command, a report() for the
  // monitoring endpoint and, with `status_key`, a member of `status`. `produce` returns
  // JSON text.
  void add_report(std::string command, std::function<std::string()> produce,
                  std::string status_key = {});

  // Reload (docs/operations.md §3): applies the reloadable parts of `next` (limits, auth
  // with its effect on open connections, queues) and notes what needs a restart.
  // `next` has been validated.
  void reload(const config::broker_config& next, reload_report& report);
  // What the admin command `reload` runs: re-reads the config and applies it (set by the
  // server; without it `reload` is refused).
  void set_reloader(std::function<reload_report()> reloader) { reloader_ = std::move(reloader); }

  std::size_t pending_confirms() const { return pending_confirms_.size(); }
  // The id of the latest message routed (after publish(): that message's, when it had
  // recipients), for a front-end that must know its own messages (MQTT No Local).
  std::uint64_t last_message_id() const { return last_message_id_; }
  // Called once a second: message rates for `status`.
  void sample_rates();

  // What a front-end handles from one read is one batch: hold one of these while
  // handling the frames of a read (it nests; only the outermost counts). Its messages
  // share one timestamp, the clock's reading when the first of them needs it
  // (docs/protocol.md §4.1). The output they give connections is written when the batch
  // ends, once per connection and without waking its writer (defer_write): a message
  // relayed from one connection to another costs one system call for its way out
  // (docs/architecture.md §3).
  class read_batch {
   public:
    explicit read_batch(broker_core& core) : core_(core) { ++core_.read_batches_; }
    ~read_batch() {
      if (core_.read_batches_ == 1) core_.write_deferred();
      if (--core_.read_batches_ == 0) core_.batch_now_ns_ = 0;
    }
    read_batch(const read_batch&) = delete;
    read_batch& operator=(const read_batch&) = delete;

   private:
    broker_core& core_;
  };
  // A connection's output grew: true when a read batch is open, which then calls its
  // client::write_deferred() as it ends (ask once per batch: the front-end remembers
  // that it asked); false when none is: the caller starts the write itself.
  bool defer_write(client_state& s);

 private:
  refusal denied(client_state& s, const std::string& what);
  // The checks every subscription passes (subscribe, bind_subscription): permission,
  // grammar, no reply addresses.
  refusal may_subscribe(client_state& s, std::string_view pattern);
  // Room for one more subscription or consumer (they share limits.max_subscriptions).
  refusal subscription_room(const client_state& s) const;
  // Encodes the record once and hands it to every route; returns its message id.
  std::uint64_t fan_out(const std::vector<routing::route>& routes, const message_in& m,
                        std::uint64_t timestamp_ns, std::uint64_t expires_at_ms = 0,
                        std::uint8_t priority = 0);
  // Routes a checked publish to its subscribers and bindings, and keeps or clears it as
  // retained (its room was checked).
  void route(const message_in& m, const message_record::attributes& attributes);
  // Holds a sent message back until its ipc-delay or ipc-deliver-at (requests.cpp).
  void delay(stored_message& message, const message_record::attributes& attributes,
             std::uint64_t now_ms);
  // The message attributes of a client's message (ipc-… headers), checked.
  refusal read_attributes(const message_in& m, message_record::attributes& out) const;
  // The checks and attributes of a message published to a topic (publish,
  // publish_reply): its fields when it has any, no delay.
  refusal read_published(const message_in& m, message_record::attributes& attributes) const;
  // A publish to a reply address (requests.cpp): the reply to the open request `found`
  // of requests_, or a late one, dropped.
  refusal publish_reply(client_state& s, const message_in& m, std::uint32_t confirm_ref);
  refusal enqueue(std::string_view queue_name, bool create, std::string_view reply_to,
                  const header_map& headers, std::span<const std::uint8_t> payload,
                  const message_record::attributes& attributes, std::uint64_t& id);
  std::uint64_t now_ns() const;
  refusal check_message(std::string_view topic, std::string_view reply_to,
                        const header_map& headers, std::size_t payload_size) const;
  // The name checks of check_message: syntax, limits, the reserved '$'.
  refusal check_topic_name(std::string_view topic) const;
  refusal check_fields(std::string_view reply_to, const header_map& headers,
                       std::size_t payload_size) const;
  void drop_requests(client_state& s);
  // memory_alarm.cpp: limits.max_memory in bytes; the alarm's log line, $SYS event and
  // client notifications, run from post_ after the gauge flipped.
  static std::uint64_t memory_limit(const config::limits& limits);
  void memory_alarm_changed();
  // wills.cpp
  void end_with_will(client_state& s);
  void publish_will(const std::string& user, const will_message& will, std::uint64_t connection);
  void cancel_pending_will(const std::string& user, const std::string& client_name);
  void fire_due_wills();
  // retained.cpp: the retained store's side of publish and subscribe, its durability,
  // expiry and admin commands.
  refusal retained_room(const message_in& m) const;
  void retain(const message_in& m, std::uint64_t id, std::uint64_t timestamp_ns,
              std::uint64_t expires_at_ms);
  void clear_retained(std::string_view topic);
  void restore_retained();
  void expire_retained();
  std::string admin_retained(std::string_view command, const nlohmann::json& args, errc& status);
  void reauthorize(client_state& s);

  // Confirms (storage): what was appended since `mark` is stored under the fsync policy.
  std::uint64_t storage_mark() const;
  void confirm(client_state& s, std::uint32_t ref, std::uint64_t value, std::uint64_t mark);
  void on_stored(std::uint64_t lsn, std::error_code error);

  std::string admin_status() const;
  std::string admin_conn_list() const;
  std::string admin_topic_list() const;
  std::string admin_queue(std::string_view command, const nlohmann::json& args, errc& status);
  std::string admin_reload(client_state& s, errc& status);

  struct pending_confirm {
    std::uint64_t mark;  // the log position before the operation appended
    std::uint64_t lsn;
    std::uint64_t client_id;
    std::uint32_t ref;
    std::uint64_t value;
  };

  struct pending_will {
    std::string user, client_name;
    std::uint64_t connection;
    std::uint64_t due_ms;  // steady clock
    std::unique_ptr<will_message> will;
  };

  struct open_request {
    std::uint64_t client_id;
    std::uint32_t id;
    std::uint64_t deadline_ms;
  };

  config::broker_config config_;
  const config::limits& limits_ = config_.limits;
  std::shared_ptr<spdlog::logger> logger_;
  routing::name_limits name_limits_;
  message_pool pool_;
  std::shared_ptr<memory_gauge> memory_ = std::make_shared<memory_gauge>();
  storage::durable_log::poster post_;
  bool alarm_posted_ = false;     // a memory_alarm_changed() is on its way
  bool alarm_announced_ = false;  // the alarm state last logged and published
  routing::topic_trie trie_;
  retained_store retained_;
  std::unique_ptr<queue_manager> queues_;
  std::unique_ptr<authenticator> auth_;
  login_throttle throttle_;
  std::unordered_map<std::string, std::uint32_t> user_connections_;
  struct address_hash {  // transparent: a reply's topic is looked up without a copy
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  // reply address → requester
  using request_map = std::unordered_map<std::string, open_request, address_hash, std::equal_to<>>;
  request_map requests_;
  void reply(request_map::iterator found, const message_in& m);
  credentials::random_pool reply_randomness_;  // the random part of reply addresses
  std::vector<pending_will> pending_wills_;    // delayed, in due order
  bool stopping_ = false;  // shut_down_clients() ran: connections end without wills
  std::deque<pending_confirm> pending_confirms_;  // in log order
  bool storage_failing_ = false;
  std::uint64_t last_failed_lsn_ = 0;  // end of the latest buffer whose write failed
  std::unordered_map<std::uint64_t, std::unique_ptr<client_state>> clients_;
  std::uint64_t last_connection_id_ = 0;
  std::uint64_t last_message_id_ = 0;
  void write_deferred();                                  // the outermost read_batch ends
  int read_batches_ = 0;                                  // read_batch scopes open
  mutable std::uint64_t batch_now_ns_ = 0;                // their timestamp, once read
  std::vector<std::shared_ptr<client>> deferred_writes_;  // defer_write() during the batch
  std::vector<std::uint8_t> scratch_body_;  // small records are encoded here, then copied
  std::array<std::uint8_t, inline_body_limit> inline_record_;  // fan_out's, likewise
  broker_counters counters_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  broker_counters last_sample_;
  std::function<reload_report()> reloader_;
  std::unordered_map<std::string, admin_handler> extra_admin_;
  struct extra_report {
    std::function<std::string()> produce;
    std::string status_key;
  };
  std::map<std::string, extra_report, std::less<>> extra_reports_;
  log_limiter limiters_[4];  // by noisy_event
  double rate_in_ = 0, rate_out_ = 0;
};

}  // namespace ipc::broker
