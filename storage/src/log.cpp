// durable_log: the owning thread's side (buffering, segment roll, live counts, head
// deletion, recovery) and the writer thread (ordered writes, group-commit syncs).
#include "ipc/storage/log.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

namespace ipc::storage {

fsync_policy parse_fsync_policy(std::string_view name) {
  if (name == "always") return fsync_policy::always;
  if (name == "never") return fsync_policy::never;
  return fsync_policy::batch;
}

namespace {

constexpr std::size_t segment_name_digits = 10;

// "0000000042.log" → 42; anything else is not a segment.
bool parse_segment_name(const std::string& name, std::uint32_t& number) {
  if (name.size() != segment_name_digits + 4 || !name.ends_with(".log")) return false;
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < segment_name_digits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  if (value == 0 || value > 0xFFFFFFFFu) return false;
  number = static_cast<std::uint32_t>(value);
  return true;
}

}  // namespace

// The writer thread: takes every command queued so far, writes them in order, syncs once
// for all of them (always), or on the interval (batch), then posts the outcomes.
class durable_log::writer {
 public:
  struct command {
    bool remove = false;   // delete `segment` instead of writing to it
    bool guarded = false;  // remove only if nothing has failed (its messages were copied)
    std::uint32_t segment = 0;
    std::vector<std::uint8_t> bytes;
    std::uint64_t end_lsn = 0;
    bool holds_messages = false;  // else only deliveries/settlements: no sync of its own
  };

  writer(durable_log& owner) : owner_(owner), fs_(owner.fs_), options_(owner.options_) {
    thread_ = std::thread([this] { run(); });
  }
  ~writer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void push(command c) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(c));
    }
    wake_.notify_one();
  }

 private:
  using clock = std::chrono::steady_clock;

  void run() {
    std::vector<std::pair<std::uint64_t, std::error_code>> outcomes;
    for (;;) {
      std::deque<command> batch;
      bool stopping = false;
      {
        std::unique_lock lock(mutex_);
        auto ready = [&] { return !queue_.empty() || stop_; };
        if (unsynced_ && options_.fsync == fsync_policy::batch)
          wake_.wait_until(lock, last_sync_ + options_.fsync_interval, ready);
        else
          wake_.wait(lock, ready);
        batch.swap(queue_);
        stopping = stop_ && batch.empty();
      }
      outcomes.clear();
      std::uint64_t written = 0, syncs = 0;
      timings_ = {};
      bool messages = false;
      for (auto& c : batch) {
        if (c.remove) {
          remove_segment(c, syncs);
          continue;
        }
        auto ec = write(c);
        if (!ec) written += c.bytes.size();
        messages = messages || c.holds_messages;
        outcomes.emplace_back(c.end_lsn, ec);
      }
      // Under `always`, deliveries and settlements alone wait for the next message's sync:
      // losing one costs a redelivery, never a message, and acks then cost no sync.
      bool sync_now =
          unsynced_ && ((options_.fsync == fsync_policy::always && messages) || stopping ||
                        (options_.fsync == fsync_policy::batch &&
                         clock::now() - last_sync_ >= options_.fsync_interval));
      if (batch_sync_error_ && options_.fsync == fsync_policy::always) {
        // A sync inside the batch (segment switch, removal) failed: nothing of it is sure.
        for (auto& [lsn, outcome] : outcomes)
          if (!outcome) outcome = batch_sync_error_;
      }
      batch_sync_error_.clear();
      if (sync_now) {
        auto ec = sync(syncs);
        // Under `always` nothing of this batch is durable when the sync failed. Under
        // `batch` the buffers were reported written already: report the failure alone.
        if (ec && options_.fsync == fsync_policy::always) {
          for (auto& [lsn, outcome] : outcomes)
            if (!outcome) outcome = ec;
        } else if (ec) {
          outcomes.emplace_back(0, ec);
        }
      }
      if (!outcomes.empty() || syncs != 0) report(outcomes, written, syncs);
      if (stopping) break;
    }
    file_.reset();
  }

  std::error_code open_segment(std::uint32_t segment) {
    if (file_ && file_segment_ == segment) return {};
    if (file_ && unsynced_ && options_.fsync != fsync_policy::never) {
      std::uint64_t ignored = 0;
      if (auto ec = sync(ignored)) batch_sync_error_ = ec;  // synced before the next starts
    }
    file_.reset();
    std::error_code ec;
    file_ = fs_->open_append(owner_.segment_path(segment), ec);
    if (!file_) return ec;
    file_segment_ = segment;
    return {};
  }

  std::error_code write(const command& c) {
    if (auto ec = open_segment(c.segment)) return ec;
    std::uint64_t good = file_->size();
    std::vector<std::uint8_t> header;
    if (good == 0) append_segment_header(header, c.segment);
    std::error_code ec;
    if (!header.empty()) ec = file_->write(header);
    if (!ec) ec = file_->write(c.bytes);
    // A new segment's directory entry is synced too, or a power loss could lose the file.
    if (!ec && !header.empty() && options_.fsync != fsync_policy::never)
      ec = fs_->sync_directory(options_.dir);
    if (ec) {
      // Cut the partial write off so the next record follows a whole one. If even that
      // fails, recovery skips the damaged stretch by its checksums.
      if (file_->truncate(good)) file_.reset();
      ++failures_;
      return ec;
    }
    unsynced_ = true;
    return {};
  }

  std::error_code sync(std::uint64_t& syncs) {
    if (!file_) return {};
    auto began = clock::now();
    auto ec = file_->sync();
    ++syncs;
    last_sync_ = clock::now();
    timings_.add(std::chrono::duration<double>(last_sync_ - began).count());
    unsynced_ = false;
    if (ec) {
      file_.reset();  // its pages may be gone: the next write reopens
      ++failures_;
    }
    return ec;
  }

  void remove_segment(const command& c, std::uint64_t& syncs) {
    // What was copied out of the segment must be on disk before the segment goes.
    if (unsynced_ && options_.fsync != fsync_policy::never) {
      if (auto ec = sync(syncs)) batch_sync_error_ = ec;
    }
    // A segment whose live messages were copied forward stays if any write or sync has
    // failed since start: the copies may be missing. Recovery then reads both, and the
    // copies (later records) win where they exist.
    if (c.guarded && failures_ > 0) return;
    if (file_ && file_segment_ == c.segment) file_.reset();
    (void)fs_->remove(owner_.segment_path(c.segment));
    if (options_.fsync != fsync_policy::never) (void)fs_->sync_directory(options_.dir);
  }

  void report(std::vector<std::pair<std::uint64_t, std::error_code>> outcomes,
              std::uint64_t written, std::uint64_t syncs) {
    auto* owner = &owner_;
    owner_.post_([owner, alive = owner_.alive_, outcomes = std::move(outcomes), written, syncs,
                  synced = timings_]() mutable {
      if (*alive) owner->on_written(std::move(outcomes), synced, written, syncs);
    });
  }

  durable_log& owner_;
  std::shared_ptr<file_system> fs_;
  log_options options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<command> queue_;
  bool stop_ = false;
  // Writer-thread state.
  std::unique_ptr<append_file> file_;
  std::uint32_t file_segment_ = 0;
  bool unsynced_ = false;
  std::error_code batch_sync_error_;  // a sync inside the current batch failed
  sync_histogram timings_;            // the syncs of the current batch
  std::uint64_t failures_ = 0;        // failed writes and syncs since start
  clock::time_point last_sync_ = clock::now();
  std::thread thread_;
};

durable_log::durable_log(std::shared_ptr<file_system> fs, log_options options, poster post,
                         outcome_handler on_outcome)
    : fs_(std::move(fs)),
      options_(std::move(options)),
      post_(std::move(post)),
      on_outcome_(std::move(on_outcome)) {}

durable_log::~durable_log() {
  close();
  *alive_ = false;
}

std::string durable_log::segment_path(std::uint32_t segment) const {
  char name[32];
  std::snprintf(name, sizeof name, "%010u.log", segment);
  return options_.dir + "/" + name;
}

std::uint64_t durable_log::live_in(std::uint32_t segment) const {
  auto found = live_.find(segment);
  return found == live_.end() ? 0 : found->second;
}

bool durable_log::open(recovery_report& report, std::string& error) {
  auto started = std::chrono::steady_clock::now();
  if (auto ec = fs_->create_directories(options_.dir)) {
    error = "cannot create storage directory " + options_.dir + ": " + ec.message();
    return false;
  }
  std::error_code ec;
  std::string holder;
  lock_ = fs_->lock(options_.dir + "/LOCK", ec, holder);
  if (!lock_) {
    bool held =
        ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
    error = held ? "storage directory " + options_.dir + " is in use by another ipcd" +
                       (holder.empty() ? "" : " (pid " + holder + ")")
                 : "cannot lock storage directory " + options_.dir + ": " + ec.message();
    return false;
  }
  std::vector<std::string> names;
  if ((ec = fs_->list(options_.dir, names))) {
    error = "cannot list storage directory " + options_.dir + ": " + ec.message();
    lock_.reset();
    return false;
  }
  std::vector<std::uint32_t> segments;
  for (const auto& name : names) {
    std::uint32_t number = 0;
    if (parse_segment_name(name, number)) segments.push_back(number);
  }
  std::sort(segments.begin(), segments.end());

  // Unsettled messages by (queue, id); later records win (a compaction copy replaces
  // the original).
  std::map<std::pair<std::uint32_t, std::uint64_t>, recovered_message> messages;
  std::vector<std::uint8_t> data;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::uint32_t segment = segments[i];
    if (i > 0 && segment != segments[i - 1] + 1)
      report.missing_segments += segment - segments[i - 1] - 1;
    if ((ec = fs_->read_file(segment_path(segment), data))) {
      error = "cannot read " + segment_path(segment) + ": " + ec.message();
      lock_.reset();
      return false;
    }
    report.bytes += data.size();
    // Shorter than a header: a segment whose first write failed (disk full: the writer
    // cut it back to nothing) or was cut short by a crash. It holds no record, so it is
    // not damage; it stays, empty, until it reaches the head of the log.
    if (data.size() < segment_header_size) {
      if (!data.empty()) {
        ++report.torn_tails;
        (void)fs_->truncate(segment_path(segment), 0);
      }
      ++report.segments;
      live_[segment] = 0;
      continue;
    }
    auto scan = scan_segment(data, [&](const record& r) {
      if (r.type == record_type::message) {
        message_record m;
        if (!parse(r, m)) return;
        auto& entry = messages[{m.queue, m.id}];
        entry.queue = m.queue;
        entry.id = m.id;
        entry.delivery_count = m.delivery_count;
        entry.expires_unix_ms = m.expires_unix_ms;
        entry.segment = segment;
        entry.body.assign(m.body.begin(), m.body.end());
        return;
      }
      ref_record ref;
      if (!parse(r, ref)) return;
      auto found = messages.find({ref.queue, ref.id});
      if (found == messages.end()) return;
      if (r.type == record_type::delivered)
        ++found->second.delivery_count;
      else
        messages.erase(found);
    });
    ++report.segments;
    report.records += scan.records;
    report.corrupt += scan.corrupt + (scan.bad_header ? 1 : 0);
    if (scan.torn_tail) {
      ++report.torn_tails;
      (void)fs_->truncate(segment_path(segment), scan.valid_end);
    }
    live_[segment] = 0;
  }
  report.messages.reserve(messages.size());
  for (auto& [key, message] : messages) {
    ++live_[message.segment];
    report.messages.push_back(std::move(message));
  }
  // A restart always starts a fresh segment: nothing is appended after a torn tail.
  active_ = segments.empty() ? 1 : segments.back() + 1;
  live_[active_] = 0;
  active_bytes_ = segment_header_size;
  // Segments with nothing left in them go now (from the head, as at run time).
  while (live_.size() > 1 && live_.begin()->second == 0) {
    (void)fs_->remove(segment_path(live_.begin()->first));
    live_.erase(live_.begin());
    ++stats_.segments_deleted;
  }
  stats_.segments = live_.size();
  report.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  writer_ = std::make_unique<writer>(*this);
  return true;
}

void durable_log::close() {
  if (!writer_) return;
  flush();
  writer_.reset();  // drains the queue, syncs, joins
  lock_.reset();
}

bool durable_log::full_for(std::uint64_t size) const {
  // A record larger than a segment still goes in one, alone: an empty segment never rolls.
  return active_bytes_ > segment_header_size && active_bytes_ + size > options_.segment_bytes;
}

std::uint32_t durable_log::append_message(const message_record& message) {
  std::uint64_t size = record_header_size + message_record_fixed + message.body.size();
  if (full_for(size)) roll();
  std::size_t before = buffer_.size();
  storage::append_message(buffer_, message);
  buffer_holds_messages_ = true;
  std::uint64_t added = buffer_.size() - before;
  active_bytes_ += added;
  appended_ += added;
  stats_.appended_bytes += added;
  ++live_[active_];
  schedule_flush();
  return active_;
}

void durable_log::append_ref(record_type type, const ref_record& ref) {
  if (full_for(record_header_size + 12)) roll();
  std::size_t before = buffer_.size();
  storage::append_ref(buffer_, type, ref);
  std::uint64_t added = buffer_.size() - before;
  active_bytes_ += added;
  appended_ += added;
  stats_.appended_bytes += added;
  schedule_flush();
}

void durable_log::release(std::uint32_t segment, bool copied) {
  auto found = live_.find(segment);
  if (found == live_.end() || found->second == 0) return;
  if (copied) guarded_.insert(segment);
  if (--found->second == 0 && found == live_.begin()) delete_settled_head();
}

void durable_log::delete_settled_head() {
  if (!writer_) return;
  bool flushed = false;
  while (live_.size() > 1 && live_.begin()->second == 0 && live_.begin()->first != active_) {
    if (!flushed) {
      flush();  // records written before the deletion stay in order before it
      flushed = true;
    }
    writer::command c;
    c.remove = true;
    c.segment = live_.begin()->first;
    c.guarded = guarded_.erase(c.segment) > 0;
    writer_->push(std::move(c));
    live_.erase(live_.begin());
    ++stats_.segments_deleted;
  }
  stats_.segments = live_.size();
}

void durable_log::roll() {
  flush();
  ++active_;
  live_[active_] = 0;
  active_bytes_ = segment_header_size;
  stats_.segments = live_.size();
  if (live_.begin()->second == 0) delete_settled_head();
}

void durable_log::schedule_flush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  post_([this, alive = alive_] {
    if (*alive) flush();
  });
}

void durable_log::flush() {
  flush_scheduled_ = false;
  if (buffer_.empty() || !writer_) return;
  writer::command c;
  c.segment = active_;
  c.bytes = std::move(buffer_);
  c.end_lsn = appended_;
  c.holds_messages = buffer_holds_messages_;
  buffer_holds_messages_ = false;
  buffer_ = {};
  buffer_.reserve(c.bytes.capacity());
  writer_->push(std::move(c));
}

void durable_log::on_written(std::vector<std::pair<std::uint64_t, std::error_code>> outcomes,
                             const sync_histogram& synced, std::uint64_t written,
                             std::uint64_t syncs) {
  stats_.written_bytes += written;
  stats_.syncs += syncs;
  stats_.sync_seconds.merge(synced);
  for (auto& [lsn, ec] : outcomes) {
    if (ec) ++stats_.write_errors;
    stats_.failing = static_cast<bool>(ec);
    on_outcome_(lsn, ec);
  }
}

}  // namespace ipc::storage
