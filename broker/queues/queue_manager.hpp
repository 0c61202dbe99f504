// The broker's queues by name: creation (config, admin, auto-create), deletion, purge,
// topic bindings (routes in the topic trie), dead-letter routing between queues, the
// deferred dispatch of queues that changed, and TTL expiry.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json_fwd.hpp>

#include "core/memory_gauge.hpp"
#include "core/message_pool.hpp"
#include "core/refusal.hpp"
#include "core/reload_report.hpp"
#include "core/route_target.hpp"
#include "ipc/config/config.hpp"
#include "ipc/routing/topic_trie.hpp"
#include "ipc/storage/log.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {
class queue_store;
}

namespace ipc::broker {

class queue_manager {
 public:
  // Queue messages count in `gauge` (limits.max_memory).
  queue_manager(const config::broker_config& config, routing::topic_trie& trie, message_pool& pool,
                std::shared_ptr<memory_gauge> gauge, spdlog::logger& log);
  ~queue_manager();

  // Opens the storage directory (lock, catalog, log recovery); false with `error` when
  // the broker must not start. Without it durable queues are refused.
  bool open_storage(std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
                    storage::durable_log::outcome_handler on_outcome, std::string& error);
  // Recreates the durable queues and their messages, then the queues declared in config
  // (errors there were caught by validation). Returns the highest message id restored.
  std::uint64_t declare_configured();
  // After a reload replaced config.queues (`previous` was in force): creates the newly
  // declared queues, gives changed ones their new options and added bindings.
  void reload(const config::queues& previous, reload_report& report);
  // Writes what is buffered and syncs (graceful stop).
  void close_storage();
  queue_store* store() const { return store_.get(); }
  // The retained messages declare_configured() found in the log (taken once).
  std::vector<storage::recovered_message> take_retained() { return std::move(retained_recovered_); }

  std::shared_ptr<queue> find(std::string_view name) const;
  // The queue, created with default options when missing and auto_create is on.
  refusal find_or_create(std::string_view name, std::shared_ptr<queue>& out);
  refusal create(const std::string& name, const config::queue_options& options, bool& created);
  refusal remove(const std::string& name);
  refusal bind(const std::string& name, const std::string& pattern);
  refusal unbind(const std::string& name, const std::string& pattern);

  // Enqueues and schedules dispatch; returns the refusal (queue_full) if any.
  errc enqueue(queue& target, stored_message&& message);
  // Runs the dispatch of every queue that changed since the last call.
  void dispatch_pending();
  void schedule(queue& q) { dirty_.insert(q.name()); }
  // Expires messages past their ttl in every queue and compacts the log (periodically).
  void expire_all();
  // Delayed messages (ipc-delay, ipc-deliver-at): `on_delayed(due)` is told of each newly
  // delayed message's due time (steady ms), so the server's timer can wake for it;
  // next_due() is the earliest of all (0: none); promote_due() shows those due and
  // delivers them.
  void set_delay_waker(std::function<void(std::uint64_t due_ms)> on_delayed) {
    on_delayed_ = std::move(on_delayed);
  }
  std::uint64_t next_due();
  void promote_due();

  std::size_t size() const { return queues_.size(); }
  nlohmann::json describe(const queue& q) const;
  nlohmann::json list() const;

  static std::uint64_t now_ms();

 private:
  class binding;
  void dead_letter(queue& from, stored_message&& message, dead_letter_reason reason);
  void note_delayed(queue& q);
  void mark_dead(const queue& from, stored_message& message, dead_letter_reason reason);
  std::shared_ptr<queue> make_queue(const std::string& name, const config::queue_options& options);
  std::uint64_t restore_durable();
  refusal persist(queue& q);  // the catalog gets the queue's options and bindings
  std::vector<std::string> patterns_of(const std::string& name) const;

  const config::broker_config& config_;
  routing::topic_trie& trie_;
  message_pool& pool_;
  std::shared_ptr<memory_gauge> gauge_;
  spdlog::logger& log_;
  std::map<std::string, std::shared_ptr<queue>, std::less<>> queues_;
  std::map<std::string, std::vector<std::unique_ptr<binding>>, std::less<>> bindings_;
  std::set<std::string> dirty_;    // queues to dispatch after the current operation
  std::set<std::string> delayed_;  // queues holding delayed messages
  std::function<void(std::uint64_t)> on_delayed_;
  std::unique_ptr<queue_store> store_;
  bool recording_paused_ = false;
  std::vector<storage::recovered_message> retained_recovered_;
};

}  // namespace ipc::broker
