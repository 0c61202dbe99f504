// queue_manager: queue lifecycle, bindings, dead letters, deferred dispatch, expiry.
#include "queues/queue_manager.hpp"

#include <algorithm>

#include <charconv>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "ipc/message/attributes.hpp"
#include "queues/queue_store.hpp"

namespace ipc::broker {

// A topic-trie route into a queue: a publish to a matching topic enqueues a copy.
class queue_manager::binding final : public routing::route_target {
 public:
  binding(queue_manager& manager, std::shared_ptr<queue> target, std::string pattern)
      : manager_(manager), target_(std::move(target)), pattern_(std::move(pattern)) {}

  void deliver_message(std::uint32_t, const outgoing_message& message) override {
    stored_message stored;
    if (message.shared != nullptr) {
      stored.body = *message.shared;
    } else {
      stored.body = manager_.pool_.acquire();
      auto& buffer = stored.body.get()->buffer();
      buffer.assign(message.body.begin(), message.body.end());
    }
    stored.id = message.message_id;
    stored.expires_at_ms = message.expires_at_ms;  // the message's own ipc-ttl
    stored.priority = message.priority;
    stored.stored_bytes = static_cast<std::uint32_t>(message.body.size());
    manager_.enqueue(*target_, std::move(stored));  // a full queue drops its copy
  }
  bool has_responders() const override { return target_->consumer_count() > 0; }
  bool remote() const override { return target_->remote_consumers_only(); }

  const std::string& pattern() const { return pattern_; }
  queue& target() { return *target_; }

 private:
  queue_manager& manager_;
  std::shared_ptr<queue> target_;
  std::string pattern_;
};

queue_manager::queue_manager(const config::broker_config& config, routing::topic_trie& trie,
                             message_pool& pool, std::shared_ptr<memory_gauge> gauge,
                             spdlog::logger& log)
    : config_(config), trie_(trie), pool_(pool), gauge_(std::move(gauge)), log_(log) {}

queue_manager::~queue_manager() {
  for (auto& [name, list] : bindings_)
    for (auto& b : list) trie_.erase(b->pattern(), {b.get(), 0});
}

std::uint64_t queue_manager::now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

bool queue_manager::open_storage(std::shared_ptr<storage::file_system> fs,
                                 storage::durable_log::poster post,
                                 storage::durable_log::outcome_handler on_outcome,
                                 std::string& error) {
  auto store = std::make_unique<queue_store>(config_.storage, log_, std::move(fs), std::move(post),
                                             std::move(on_outcome));
  if (!store->open(error)) return false;
  store_ = std::move(store);
  return true;
}

void queue_manager::close_storage() {
  if (store_) store_->close();
}

std::uint64_t queue_manager::declare_configured() {
  std::uint64_t last_id = restore_durable();
  for (const auto& [name, options] : config_.queues.declared) {
    auto existing = find(name);
    if (existing && existing->durable() && !options.durable) {
      // The config's declaration wins: the stored messages stay for this run only.
      log_.warn(
          "queue {} is no longer durable: its {} stored message(s) are kept in memory "
          "only",
          name, existing->ready_count());
      existing->detach_journal();
      if (auto ec = store_->drop_queue(name))
        log_.error("queue {}: cannot update the catalog: {}", name, ec.message());
      continue;
    }
    if (existing && existing->durable()) {
      existing->set_options(options);  // the config's options replace the stored ones
      for (const auto& pattern : options.bind)
        if (auto refused = bind(name, pattern)) log_.error("queue {}: {}", name, refused.message);
      if (auto refused = persist(*existing)) log_.error("queue {}: {}", name, refused.message);
      continue;
    }
    bool created = false;
    if (auto refused = create(name, options, created))
      log_.error("queue {}: {}", name, refused.message);
  }
  return last_id;
}

namespace {
// What a stored record's headers say beyond its log record: priority, delivery time.
message_record::attributes attributes_of_record(std::span<const std::uint8_t> record) {
  message_record::fields f;
  if (!message_record::decode_record(record, f) || f.headers.empty()) return {};
  return message_record::attributes_of(f.headers);
}
}  // namespace

std::uint64_t queue_manager::restore_durable() {
  if (!store_) return 0;
  std::map<std::uint32_t, queue*> by_id;
  recording_paused_ = true;  // the catalog holds what bind() would record
  for (const auto& [name, e] : store_->catalog()) {
    auto q = make_queue(name, e.options);
    q->set_journal(store_.get(), e.id);
    by_id[e.id] = q.get();
    for (const auto& pattern : e.options.bind)
      if (auto refused = bind(name, pattern)) log_.warn("queue {}: {}", name, refused.message);
  }
  recording_paused_ = false;
  std::uint64_t last_id = 0, unix_now = static_cast<std::uint64_t>(
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::size_t orphans = 0;
  auto steady_now = now_ms();
  for (auto& recovered : store_->take_recovered()) {
    last_id = std::max(last_id, recovered.id);
    if (recovered.queue == retained_queue_id) {  // the core's retained messages
      retained_recovered_.push_back(std::move(recovered));
      continue;
    }
    auto target = by_id.find(recovered.queue);
    if (target == by_id.end()) {
      store_->forgotten(recovered.segment);  // its queue was deleted
      ++orphans;
      continue;
    }
    stored_message message;
    message.body = pool_.acquire();
    message.body.get()->buffer().assign(recovered.body.begin(), recovered.body.end());
    message.id = recovered.id;
    message.stored_bytes = static_cast<std::uint32_t>(recovered.body.size());
    message.delivery_count = recovered.delivery_count;
    message.segment = recovered.segment;
    auto attributes = attributes_of_record(message.body.bytes());  // kept in its headers
    message.priority = attributes.priority;
    if (attributes.deliver_at_ms > unix_now)  // still delayed; past ones show at once
      message.visible_at_ms = steady_now + (attributes.deliver_at_ms - unix_now);
    if (recovered.expires_unix_ms != 0)
      message.expires_at_ms = recovered.expires_unix_ms > unix_now
                                  ? steady_now + (recovered.expires_unix_ms - unix_now)
                                  : 1;  // expired while the broker was down
    target->second->restore(std::move(message));
    schedule(*target->second);
    if (target->second->next_visible() != 0) delayed_.insert(target->second->name());
  }
  if (orphans > 0) log_.debug("storage: {} message(s) of deleted queues dropped", orphans);
  return last_id;
}

std::shared_ptr<queue> queue_manager::make_queue(const std::string& name,
                                                 const config::queue_options& options) {
  auto sink = [this](queue& from, stored_message&& message, dead_letter_reason reason) {
    dead_letter(from, std::move(message), reason);
  };
  auto q = std::make_shared<queue>(name, options, sink, gauge_);
  queues_.emplace(name, q);
  return q;
}

std::vector<std::string> queue_manager::patterns_of(const std::string& name) const {
  std::vector<std::string> out;
  if (auto list = bindings_.find(name); list != bindings_.end())
    for (const auto& b : list->second) out.push_back(b->pattern());
  return out;
}

refusal queue_manager::persist(queue& q) {
  if (!q.durable() || !store_ || recording_paused_) return {};
  auto options = q.options();
  options.bind = patterns_of(q.name());
  std::uint32_t id = 0;
  if (auto ec = store_->save_queue(q.name(), options, id))
    return {errc::storage_error, "cannot record queue '" + q.name() + "': " + ec.message()};
  return {};
}

std::shared_ptr<queue> queue_manager::find(std::string_view name) const {
  auto found = queues_.find(name);
  return found == queues_.end() ? nullptr : found->second;
}

refusal queue_manager::find_or_create(std::string_view name, std::shared_ptr<queue>& out) {
  if (!config::valid_queue_name(name))
    return {errc::invalid_queue_name,
            "invalid queue name '" + std::string(name) + "': use 1 to 255 of A-Z a-z 0-9 . _ -"};
  out = find(name);
  if (out) return {};
  if (!config_.queues.auto_create)
    return {errc::unknown_queue,
            "no queue '" + std::string(name) + "' (queues.auto_create is off)"};
  bool created = false;
  if (auto refused = create(std::string(name), {}, created)) return refused;
  out = find(name);
  return {};
}

refusal queue_manager::create(const std::string& name, const config::queue_options& options,
                              bool& created) {
  created = false;
  auto problems = config::validate_queue(name, options);
  if (!problems.empty()) {
    auto code = config::valid_queue_name(name) ? errc::invalid_argument : errc::invalid_queue_name;
    std::string text = problems.front().path.empty()
                           ? problems.front().message
                           : problems.front().path + ": " + problems.front().message;
    return {code, text};
  }
  if (queues_.contains(name)) return {};  // creating an existing queue is a no-op
  for (const auto& pattern : options.bind) {
    auto problem = routing::check_pattern(
        pattern, {config_.limits.max_topic_length, config_.limits.max_topic_levels});
    if (problem != routing::topic_error::none)
      return {errc::invalid_pattern,
              "bind '" + pattern + "': " + std::string(routing::describe(problem))};
  }
  if (queues_.size() >= config_.limits.max_queues)
    return {errc::limit_exceeded, "too many queues (limits.max_queues)"};
  std::uint32_t store_id = 0;
  if (options.durable) {
    if (!store_) return {errc::storage_error, "durable queues need storage, which is not open"};
    if (auto ec = store_->save_queue(name, options, store_id))
      return {errc::storage_error, "cannot record queue '" + name + "': " + ec.message()};
  }
  auto q = make_queue(name, options);
  if (options.durable) q->set_journal(store_.get(), store_id);
  created = true;
  recording_paused_ = true;  // the catalog holds the patterns already
  for (const auto& pattern : options.bind) (void)bind(name, pattern);  // checked above
  recording_paused_ = false;
  log_.debug("queue {} created", name);
  return {};
}

refusal queue_manager::remove(const std::string& name) {
  auto found = queues_.find(name);
  if (found == queues_.end()) return {errc::unknown_queue, "no queue '" + name + "'"};
  auto doomed = found->second;
  if (doomed->durable()) {  // first: a failure leaves the queue exactly as it was
    if (auto ec = store_->drop_queue(name))
      return {errc::storage_error,
              "cannot remove queue '" + name + "' from storage: " + ec.message()};
    doomed->detach_journal();
  }
  if (auto list = bindings_.find(name); list != bindings_.end()) {
    for (auto& b : list->second) trie_.erase(b->pattern(), {b.get(), 0});
    bindings_.erase(list);
  }
  queues_.erase(found);
  dirty_.erase(name);
  doomed->detach_consumers();
  log_.debug("queue {} deleted", name);
  return {};
}

refusal queue_manager::bind(const std::string& name, const std::string& pattern) {
  auto target = find(name);
  if (!target) return {errc::unknown_queue, "no queue '" + name + "'"};
  auto problem = routing::check_pattern(
      pattern, {config_.limits.max_topic_length, config_.limits.max_topic_levels});
  if (problem != routing::topic_error::none)
    return {errc::invalid_pattern, "invalid pattern: " + std::string(routing::describe(problem))};
  auto& list = bindings_[name];
  for (const auto& b : list)
    if (b->pattern() == pattern) return {};  // already bound
  list.push_back(std::make_unique<binding>(*this, target, pattern));
  trie_.insert(pattern, {list.back().get(), 0});
  if (auto refused = persist(*target)) {  // not recorded: not bound
    trie_.erase(pattern, {list.back().get(), 0});
    list.pop_back();
    return refused;
  }
  return {};
}

refusal queue_manager::unbind(const std::string& name, const std::string& pattern) {
  auto list = bindings_.find(name);
  if (list != bindings_.end()) {
    for (auto it = list->second.begin(); it != list->second.end(); ++it) {
      if ((*it)->pattern() != pattern) continue;
      auto removed = std::move(*it);
      list->second.erase(it);
      if (auto q = find(name)) {
        if (auto refused = persist(*q)) {  // not recorded: still bound
          list->second.push_back(std::move(removed));
          return refused;
        }
      }
      trie_.erase(pattern, {removed.get(), 0});
      return {};
    }
  }
  return {errc::invalid_argument, "queue '" + name + "' is not bound to '" + pattern + "'"};
}

errc queue_manager::enqueue(queue& target, stored_message&& message) {
  errc result = target.enqueue(std::move(message), now_ms());
  if (result == errc::ok) {
    schedule(target);
    note_delayed(target);
  }
  return result;
}

void queue_manager::note_delayed(queue& q) {
  auto due = q.next_visible();
  if (due == 0) return;
  delayed_.insert(q.name());
  if (on_delayed_) on_delayed_(due);  // the server's timer moves earlier if need be
}

std::uint64_t queue_manager::next_due() {
  std::uint64_t earliest = 0;
  for (auto it = delayed_.begin(); it != delayed_.end();) {
    auto found = queues_.find(*it);
    auto due = found == queues_.end() ? 0 : found->second->next_visible();
    if (due == 0) {
      it = delayed_.erase(it);  // deleted, or nothing delayed left
      continue;
    }
    if (earliest == 0 || due < earliest) earliest = due;
    ++it;
  }
  return earliest;
}

void queue_manager::promote_due() {
  auto now = now_ms();
  for (const auto& name : delayed_) {
    auto found = queues_.find(name);
    if (found != queues_.end() && found->second->promote(now) > 0) schedule(*found->second);
  }
  dispatch_pending();
}

void queue_manager::dispatch_pending() {
  // Dispatch can dead-letter into other queues, which schedules them: loop until quiet.
  for (int round = 0; round < 16 && !dirty_.empty(); ++round) {
    auto names = std::move(dirty_);
    dirty_.clear();
    auto now = now_ms();
    for (const auto& name : names)
      if (auto q = find(name)) q->dispatch(now);
  }
}

void queue_manager::expire_all() {
  auto now = now_ms();
  for (auto& [name, q] : queues_)  // queue ttl or a message's own ipc-ttl
    if (q->expire(now) > 0) schedule(*q);
  dispatch_pending();
  if (store_) {
    std::vector<queue*> durable;
    for (auto& [name, q] : queues_)
      if (q->durable()) durable.push_back(q.get());
    store_->compact(durable);
  }
}

void queue_manager::mark_dead(const queue& from, stored_message& message,
                              dead_letter_reason reason) {
  // The record gets why, from where, when, how often (like RabbitMQ's x-death), and
  // loses its ipc-ttl (docs/protocol.md §4.12.4).
  message_record::fields f;
  if (!message_record::decode_record(message.body.bytes(), f)) return;
  std::uint64_t count = 1;
  std::string_view previous;
  if (f.headers.find(message_record::attribute::death_count, previous)) {
    std::uint64_t before = 0;
    auto [end, ec] = std::from_chars(previous.data(), previous.data() + previous.size(), before);
    if (ec == std::errc() && end == previous.data() + previous.size()) count = before + 1;
  }
  auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  std::string when = std::to_string(unix_ms), times = std::to_string(count),
              deliveries = std::to_string(message.delivery_count);
  namespace attribute = message_record::attribute;
  const std::pair<std::string_view, std::string_view> added[] = {
      {attribute::death_reason, reason_name(reason)},
      {attribute::death_queue, from.name()},
      {attribute::death_time, when},
      {attribute::death_count, times},
      {attribute::death_deliveries, deliveries}};
  body_ref rewritten = pool_.acquire();
  message_record::encode_rewritten(rewritten.get()->buffer(), f,
                                   message_record::kept_when_dead_lettered, added);
  message.body = std::move(rewritten);
  message.stored_bytes = static_cast<std::uint32_t>(message.body.bytes().size());
}

void queue_manager::dead_letter(queue& from, stored_message&& message, dead_letter_reason reason) {
  std::shared_ptr<queue> target;
  if (auto refused = find_or_create(from.options().dead_letter, target)) {
    log_.warn("queue {}: dead letter dropped: {}", from.name(), refused.message);
    return;
  }
  mark_dead(from, message, reason);
  message.expires_at_ms = 0;  // the dead-letter queue's own ttl applies
  message.delivery_count = 0;
  if (target->enqueue(std::move(message), now_ms(), false) != errc::ok)
    log_.warn("queue {}: dead letter ({}) dropped: {} is full", from.name(), reason_name(reason),
              target->name());
  else
    schedule(*target);
}

nlohmann::json queue_manager::describe(const queue& q) const {
  const auto& o = q.options();
  const auto& s = q.stats();
  nlohmann::json binds = nlohmann::json::array();
  if (auto list = bindings_.find(q.name()); list != bindings_.end())
    for (const auto& b : list->second) binds.push_back(b->pattern());
  return {{"name", q.name()},
          {"ready", q.ready_count()},
          {"scheduled", q.scheduled_count()},
          {"unacked", q.unacked_count()},
          {"bytes", q.bytes()},
          {"consumers", q.consumer_count()},
          {"options",
           {{"durable", q.durable()},
            {"max_length", o.max_length},
            {"max_bytes", o.max_bytes},
            {"overflow", o.overflow},
            {"ttl", o.ttl_ms},
            {"dead_letter", o.dead_letter},
            {"max_deliveries", o.max_deliveries},
            {"single_active_consumer", o.single_active_consumer},
            {"max_priority", o.max_priority}}},
          {"bind", binds},
          {"stats",
           {{"enqueued", s.enqueued},
            {"delivered", s.delivered},
            {"redelivered", s.redelivered},
            {"acked", s.acked},
            {"expired", s.expired},
            {"dead_lettered", s.dead_lettered},
            {"dropped", s.dropped},
            {"rejected_full", s.rejected_full}}}};
}

nlohmann::json queue_manager::list() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, q] : queues_) out.push_back(describe(*q));
  return out;
}

}  // namespace ipc::broker

namespace ipc::broker {

void queue_manager::reload(const config::queues& previous, reload_report& report) {
  if (previous.auto_create != config_.queues.auto_create)
    report.changes.push_back(std::string("queues.auto_create ") +
                             (config_.queues.auto_create ? "on" : "off"));
  for (const auto& [name, options] : config_.queues.declared) {
    // A declaration the file already had is left alone: its queue may have been changed
    // or deleted by an administrator since, and the reload does not undo that.
    bool unchanged =
        std::any_of(previous.declared.begin(), previous.declared.end(),
                    [&](const auto& d) { return d.first == name && d.second == options; });
    if (unchanged) continue;
    auto existing = find(name);
    if (!existing) {
      bool created = false;
      if (auto refused = create(name, options, created))
        log_.error("queue {}: {}", name, refused.message);
      else if (created)
        report.changes.push_back("queue " + name + " created");
      continue;
    }
    if (existing->options() == options) continue;
    if (existing->durable() != options.durable) {
      report.restart.push_back("queues." + name + ".durable");
      continue;
    }
    existing->set_options(options);
    for (const auto& pattern : options.bind)
      if (auto refused = bind(name, pattern)) log_.error("queue {}: {}", name, refused.message);
    if (auto refused = persist(*existing)) log_.error("queue {}: {}", name, refused.message);
    schedule(*existing);
    report.changes.push_back("queue " + name + " options");
  }
}

}  // namespace ipc::broker
