// queue_store: catalog file, recovery hand-off, journal records, compaction.
#include "queues/queue_store.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

namespace ipc::broker {
namespace {

constexpr int catalog_format = 1;
// A head segment holding at most this many unsettled messages is compacted (they are
// copied forward) once the log has this many segments: a few stuck messages then pin
// one segment's worth of disk, not the whole history after them.
constexpr std::uint64_t compact_max_live = 1024;
constexpr std::size_t compact_min_segments = 3;

std::uint64_t unix_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
std::uint64_t steady_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

storage::log_options log_options_of(const config::storage& settings) {
  storage::log_options options;
  options.dir = settings.dir;
  options.fsync = storage::parse_fsync_policy(settings.fsync);
  options.fsync_interval = std::chrono::milliseconds(settings.fsync_interval_ms);
  options.segment_bytes = settings.segment_bytes;
  return options;
}

}  // namespace

nlohmann::json options_json(const config::queue_options& o) {
  return {{"durable", o.durable},
          {"max_length", o.max_length},
          {"max_bytes", o.max_bytes},
          {"overflow", o.overflow},
          {"ttl", o.ttl_ms},
          {"dead_letter", o.dead_letter},
          {"max_deliveries", o.max_deliveries},
          {"single_active_consumer", o.single_active_consumer},
          {"max_priority", o.max_priority},
          {"bind", o.bind}};
}

queue_store::queue_store(const config::storage& settings, spdlog::logger& log,
                         std::shared_ptr<storage::file_system> fs,
                         storage::durable_log::poster post,
                         storage::durable_log::outcome_handler on_outcome)
    : settings_(settings),
      logger_(log),
      fs_(fs),
      log_(fs, log_options_of(settings), std::move(post), std::move(on_outcome)) {}

queue_store::~queue_store() { close(); }

bool queue_store::open(std::string& error) {
  if (!log_.open(report_, error)) return false;
  if (!read_catalog(error)) {
    log_.close();
    return false;
  }
  recovered_ = std::move(report_.messages);
  report_.messages.clear();
  recovered_count_ = recovered_.size();
  // Ids stay unique even when the catalog was lost or replaced: records of an old queue
  // never attach to a new one.
  for (const auto& m : recovered_) next_id_ = std::max(next_id_, m.queue + 1);
  logger_.info(
      "storage {}: {} segment(s), {} bytes, {} record(s), {} message(s) recovered in {} ms",
      settings_.dir, report_.segments, report_.bytes, report_.records, recovered_.size(),
      report_.took.count());
  if (report_.corrupt > 0)
    logger_.error("storage {}: {} corrupt stretch(es) skipped (records after them were kept)",
                  settings_.dir, report_.corrupt);
  if (report_.torn_tails > 0)
    logger_.warn("storage {}: {} torn tail(s) truncated (an interrupted write)", settings_.dir,
                 report_.torn_tails);
  if (report_.missing_segments > 0)
    logger_.error("storage {}: {} segment file(s) missing from the sequence", settings_.dir,
                  report_.missing_segments);
  return true;
}

void queue_store::close() { log_.close(); }

bool queue_store::read_catalog(std::string& error) {
  std::string path = settings_.dir + "/queues.json";
  std::vector<std::uint8_t> bytes;
  if (auto ec = fs_->read_file(path, bytes)) {
    if (ec == std::errc::no_such_file_or_directory) return true;  // no durable queue yet
    error = "cannot read " + path + ": " + ec.message();
    return false;
  }
  auto doc = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  auto bad = [&](const std::string& why) {
    error = path + ": " + why +
            " (the file is written by ipcd; restore it or remove it to "
            "drop every durable queue)";
    return false;
  };
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  if (doc.value("format", 0) != catalog_format) return bad("unknown format");
  if (!doc.contains("next_id") || !doc["next_id"].is_number_unsigned())
    return bad("next_id missing");
  next_id_ = doc["next_id"].get<std::uint32_t>();
  if (!doc.contains("queues") || !doc["queues"].is_array()) return bad("queues missing");
  for (const auto& q : doc["queues"]) {
    if (!q.is_object() || !q.contains("name") || !q["name"].is_string() || !q.contains("id") ||
        !q["id"].is_number_unsigned() || !q.contains("options"))
      return bad("a queue entry lacks name, id or options");
    std::string name = q["name"].get<std::string>();
    entry e;
    e.id = q["id"].get<std::uint32_t>();
    auto problems = config::parse_queue_options(q["options"].dump(), e.options);
    if (problems.empty()) {
      auto more = config::validate_queue(name, e.options);
      problems.insert(problems.end(), more.begin(), more.end());
    }
    if (!problems.empty())
      return bad("queue '" + name + "': " + problems.front().path + " " + problems.front().message);
    if (e.id == 0 || e.id >= next_id_) return bad("queue '" + name + "' has an invalid id");
    e.options.durable = true;
    catalog_[name] = std::move(e);
  }
  return true;
}

std::error_code queue_store::write_catalog() {
  nlohmann::json queues = nlohmann::json::array();
  for (const auto& [name, e] : catalog_)
    queues.push_back({{"name", name}, {"id", e.id}, {"options", options_json(e.options)}});
  nlohmann::json doc = {{"format", catalog_format}, {"next_id", next_id_}, {"queues", queues}};
  std::string text = doc.dump(2) + "\n";
  return fs_->write_atomic(settings_.dir + "/queues.json",
                           {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::error_code queue_store::save_queue(const std::string& name,
                                        const config::queue_options& options, std::uint32_t& id) {
  auto found = catalog_.find(name);
  entry e;
  if (found != catalog_.end()) {
    e = found->second;
  } else {
    e.id = next_id_;
  }
  auto previous = found != catalog_.end() ? std::optional<entry>(found->second) : std::nullopt;
  std::uint32_t previous_next = next_id_;
  e.options = options;
  e.options.durable = true;
  if (found == catalog_.end()) ++next_id_;
  catalog_[name] = e;
  if (auto ec = write_catalog()) {
    next_id_ = previous_next;
    if (previous)
      catalog_[name] = *previous;
    else
      catalog_.erase(name);
    return ec;
  }
  id = e.id;
  return {};
}

std::error_code queue_store::drop_queue(const std::string& name) {
  auto found = catalog_.find(name);
  if (found == catalog_.end()) return {};
  entry previous = found->second;
  catalog_.erase(found);
  if (auto ec = write_catalog()) {
    catalog_[name] = previous;
    return ec;
  }
  return {};
}

storage::message_record queue_store::record_of(const queue& q,
                                               const stored_message& message) const {
  storage::message_record r;
  r.queue = q.store_id();
  r.id = message.id;
  r.delivery_count = message.delivery_count;
  if (message.expires_at_ms != 0) {
    auto now = steady_now_ms();
    auto left = message.expires_at_ms > now ? message.expires_at_ms - now : 0;
    r.expires_unix_ms = unix_now_ms() + left;
  }
  r.body = message.body.bytes();
  return r;
}

void queue_store::stored(queue& q, stored_message& message) {
  message.segment = log_.append_message(record_of(q, message));
}

void queue_store::delivered(queue& q, const stored_message& message) {
  log_.append_ref(storage::record_type::delivered, {q.store_id(), message.id});
}

void queue_store::removed(queue& q, std::uint64_t id, std::uint32_t segment) {
  log_.append_ref(storage::record_type::settled, {q.store_id(), id});
  log_.release(segment);
}

void queue_store::forgotten(std::uint32_t segment) { log_.release(segment); }

std::uint32_t queue_store::store_other(std::uint32_t queue_id, std::uint64_t id,
                                       std::uint64_t expires_unix_ms,
                                       std::span<const std::uint8_t> body) {
  storage::message_record r;
  r.queue = queue_id;
  r.id = id;
  r.expires_unix_ms = expires_unix_ms;
  r.body = body;
  return log_.append_message(r);
}

void queue_store::settle_other(std::uint32_t queue_id, std::uint64_t id, std::uint32_t segment) {
  log_.append_ref(storage::record_type::settled, {queue_id, id});
  log_.release(segment);
}

std::uint32_t queue_store::relocate_other(std::uint32_t queue_id, std::uint64_t id,
                                          std::uint64_t expires_unix_ms,
                                          std::span<const std::uint8_t> body,
                                          std::uint32_t old_segment) {
  auto segment = store_other(queue_id, id, expires_unix_ms, body);
  log_.release(old_segment, true);
  return segment;
}

void queue_store::compact(const std::vector<queue*>& durable_queues) {
  if (log_.segment_count() < compact_min_segments) return;
  std::uint32_t head = log_.head_segment();
  if (head == log_.active_segment() || log_.live_in(head) > compact_max_live) return;
  if (holder_) holder_(head);
  for (queue* q : durable_queues) {
    q->for_each_message([&](stored_message& m) {
      if (m.segment != head) return;
      m.segment = log_.append_message(record_of(*q, m));
      log_.release(head, true);
    });
  }
}

nlohmann::json queue_store::describe() const {
  const auto& s = log_.stats();
  return {{"dir", settings_.dir},
          {"fsync", settings_.fsync},
          {"durable_queues", catalog_.size()},
          {"segments", s.segments},
          {"appended_bytes", s.appended_bytes},
          {"written_bytes", s.written_bytes},
          {"syncs", s.syncs},
          {"sync_seconds",
           {{"bounds", std::vector<double>(std::begin(storage::sync_histogram::bounds),
                                           std::end(storage::sync_histogram::bounds))},
            {"counts", std::vector<std::uint64_t>(std::begin(s.sync_seconds.counts),
                                                  std::end(s.sync_seconds.counts))},
            {"sum", s.sync_seconds.sum_seconds}}},
          {"write_errors", s.write_errors},
          {"segments_deleted", s.segments_deleted},
          {"failing", s.failing},
          {"recovered_messages", recovered_count_},
          {"recovery_ms", report_.took.count()},
          {"corrupt_records_skipped", report_.corrupt}};
}

}  // namespace ipc::broker
