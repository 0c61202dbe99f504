// The broker core: the registry of sessions, subscriptions and the topic trie, the
// publish path (validate, match, encode once, fan out) and the admin commands.
// Owned by the single I/O thread (docs/architecture.md): no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json_fwd.hpp>

#include "core/message_pool.hpp"
#include "core/refusal.hpp"
#include "core/reload_report.hpp"
#include "ipc/config/config.hpp"
#include "ipc/protocol/errc.hpp"
#include "ipc/protocol/frames.hpp"
#include "ipc/routing/topic.hpp"
#include "ipc/routing/topic_trie.hpp"
#include "ipc/storage/log.hpp"

namespace ipc::broker {

class session;
class queue_manager;
class authenticator;

struct broker_counters {
  std::uint64_t messages_in = 0;   // publishes accepted
  std::uint64_t messages_out = 0;  // deliveries queued to subscribers
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t slow_consumers = 0;       // connections closed for pending output over the limit
  std::uint64_t slow_consumer_drops = 0;  // messages dropped (limits.slow_consumer = drop)
  std::uint64_t protocol_errors = 0;
  std::uint64_t internal_errors = 0;  // connections ended by an unexpected exception
  std::uint64_t auth_failures = 0;
  std::uint64_t requests = 0, replies = 0, late_replies = 0, request_timeouts = 0;
};

class broker_core {
 public:
  broker_core(const config::broker_config& config, std::shared_ptr<spdlog::logger> logger);
  ~broker_core();
  broker_core(const broker_core&) = delete;
  broker_core& operator=(const broker_core&) = delete;

  // Opens storage (recovering durable queues) and declares the configured queues; false
  // with `error` when the broker must not start.
  bool open(std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
            std::string& error);
  // Writes and syncs what storage holds in memory (graceful stop).
  void close_storage();

  const config::limits& limits() const { return limits_; }
  spdlog::logger& log() { return *logger_; }
  message_pool& pool() { return pool_; }
  broker_counters& counters() { return counters_; }
  // Largest frame accepted after the handshake: a maximal message with maximal fields.
  std::uint32_t max_frame_size() const;

  // Authentication (docs/security.md): who a HELLO is, and what each user may do.
  const authenticator& auth() const { return *auth_; }
  // A connection authenticated as `user`: refused past the user's connection limit.
  refusal admit_user(session& s, const std::string& user);

  // Sessions.
  std::uint64_t allocate_connection_id() { return ++last_connection_id_; }
  refusal add_session(const std::shared_ptr<session>& s);
  void remove_session(session& s);  // drops its subscriptions
  std::shared_ptr<session> find_session(std::uint64_t id) const;
  void for_each_session(const std::function<void(session&)>& visit) const;
  std::size_t session_count() const { return sessions_.size(); }
  void shut_down_sessions();  // tells every session the broker is stopping

  // Topic operations on behalf of a session.
  refusal subscribe(session& s, std::uint32_t sid, std::string_view pattern);
  refusal unsubscribe(session& s, std::uint32_t sid);
  refusal publish(const protocol::publish_frame& frame);

  // Queue operations (the consumer side lives in session).
  queue_manager& queues() { return *queues_; }
  // Confirmed or not, a send either enqueues (message id in `id`) or is refused.
  refusal send(const protocol::send_frame& frame, std::uint64_t& id);
  // Builds a queue message from fields (also used for requests to queues).
  refusal enqueue(std::string_view queue_name, bool create, std::string_view reply_to,
                  const protocol::map_view& headers, std::span<const std::uint8_t> payload,
                  std::uint64_t& id);

  // Confirms (OK with `value`) once what was appended to storage since `mark` is stored
  // under the fsync policy; at once when nothing was. A failed write answers storage_error.
  std::uint64_t storage_mark() const;
  void confirm(session& s, std::uint32_t ref, std::uint64_t value, std::uint64_t mark);
  std::size_t pending_confirms() const { return pending_confirms_.size(); }

  // Request/reply (docs/protocol.md §4.11): routes the request with a broker-made reply
  // address; refuses at once with no_responders when nobody can answer.
  refusal request(session& s, const protocol::request_frame& frame);
  // Forgets a session's open requests (it is going away).
  void drop_requests(session& s);
  // Times out requests past their deadline and expires queue messages; periodic.
  void housekeeping();
  // Broker events on $SYS topics, encoded only when someone listens.
  void publish_system(std::string_view topic, std::string_view json);

  // Admin requests (docs/protocol.md §5): returns JSON, sets status (0 ok or an errc).
  std::string admin(session& s, std::string_view command, std::string_view args_json,
                    std::uint16_t& status);
  // An admin command beyond the built-in ones (the embedding program's; tests use it).
  using admin_handler =
      std::function<std::string(std::string_view args_json, std::uint16_t& status)>;
  void add_admin_command(std::string name, admin_handler handler) {
    extra_admin_[std::move(name)] = std::move(handler);
  }

  // Reload (docs/operations.md §3): applies the reloadable parts of `next` (limits, auth
  // with its effect on open connections, queues) and notes what needs a restart.
  // `next` has been validated.
  void reload(const config::broker_config& next, reload_report& report);
  // What the admin command `reload` runs: re-reads the config and applies it (set by the
  // server; without it `reload` is refused).
  void set_reloader(std::function<reload_report()> reloader) { reloader_ = std::move(reloader); }

  // Called once a second: message rates for `status`.
  void sample_rates();

 private:
  void fan_out(const std::vector<routing::route>& routes, std::string_view topic,
               std::string_view reply_to, const protocol::map_view* headers,
               std::span<const std::uint8_t> payload);
  void reply(const protocol::publish_frame& frame);
  std::uint64_t now_ns() const;
  refusal check_message(std::string_view topic, std::string_view reply_to,
                        const protocol::map_view& headers, std::size_t payload_size) const;
  refusal check_fields(std::string_view reply_to, const protocol::map_view& headers,
                       std::size_t payload_size) const;
  std::string admin_status() const;
  std::string admin_conn_list() const;
  std::string admin_topic_list() const;
  std::string admin_queue(std::string_view command, const nlohmann::json& args,
                          std::uint16_t& status);
  std::string admin_reload(session& s, std::uint16_t& status);

  void on_stored(std::uint64_t lsn, std::error_code error);

  struct pending_confirm {
    std::uint64_t mark;  // the log position before the operation appended
    std::uint64_t lsn;
    std::uint64_t session_id;
    std::uint32_t ref;
    std::uint64_t value;
  };

  struct open_request {
    std::uint64_t session_id;
    std::uint32_t id;
    std::uint64_t deadline_ms;
  };

  config::broker_config config_;
  const config::limits& limits_ = config_.limits;
  std::shared_ptr<spdlog::logger> logger_;
  routing::name_limits name_limits_;
  message_pool pool_;
  routing::topic_trie trie_;
  std::unique_ptr<queue_manager> queues_;
  std::unique_ptr<authenticator> auth_;
  std::unordered_map<std::string, std::uint32_t> user_connections_;
  std::unordered_map<std::string, open_request> requests_;  // reply address → requester
  std::deque<pending_confirm> pending_confirms_;            // in log order
  bool storage_failing_ = false;
  std::uint64_t last_failed_lsn_ = 0;  // end of the latest buffer whose write failed
  std::unordered_map<std::uint64_t, std::shared_ptr<session>> sessions_;
  std::uint64_t last_connection_id_ = 0;
  std::uint64_t last_message_id_ = 0;
  std::vector<std::uint8_t> scratch_body_;  // small bodies are encoded here, then copied
  broker_counters counters_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  broker_counters last_sample_;
  std::function<reload_report()> reloader_;
  std::unordered_map<std::string, admin_handler> extra_admin_;
  double rate_in_ = 0, rate_out_ = 0;
};

}  // namespace ipc::broker
