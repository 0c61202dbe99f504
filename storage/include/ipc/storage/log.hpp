// The durable log (docs/storage.md): one append-only log, cut into numbered segment
// files, shared by every durable queue. The owning (I/O) thread appends records to a
// buffer; a writer thread writes the buffers in order, syncs them under the fsync policy
// (group commit: every buffer waiting when a sync starts shares it), and reports each
// buffer's outcome back through `post`. Segments whose messages are all settled are
// deleted from the head; recovery rebuilds the unsettled messages at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "ipc/storage/file_system.hpp"
#include "ipc/storage/record.hpp"

namespace ipc::storage {

enum class fsync_policy { always, batch, never };
fsync_policy parse_fsync_policy(std::string_view name);  // "always" | "batch" | "never"

struct log_options {
  std::string dir;
  fsync_policy fsync = fsync_policy::batch;
  std::chrono::milliseconds fsync_interval{10};
  std::uint64_t segment_bytes = 64ull * 1024 * 1024;
};

// A message that was stored and not settled when the log was last written.
struct recovered_message {
  std::uint32_t queue = 0;
  std::uint64_t id = 0;
  std::uint32_t delivery_count = 0;  // stored count plus deliveries recorded since
  std::uint64_t expires_unix_ms = 0;
  std::uint32_t segment = 0;
  std::vector<std::uint8_t> body;
};

struct recovery_report {
  std::vector<recovered_message> messages;  // by queue, then message id
  std::size_t segments = 0, records = 0, corrupt = 0, torn_tails = 0, missing_segments = 0;
  std::uint64_t bytes = 0;
  std::chrono::milliseconds took{0};
};

// How long fsync calls take (docs/monitoring.md §3): counts per bucket of seconds, the
// last bucket past the largest bound, and their sum.
struct sync_histogram {
  static constexpr double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,   0.25,   0.5,   1.0};
  std::uint64_t counts[std::size(bounds) + 1] = {};
  double sum_seconds = 0;
  void add(double seconds) {
    std::size_t i = 0;
    while (i < std::size(bounds) && seconds > bounds[i]) ++i;
    ++counts[i];
    sum_seconds += seconds;
  }
  void merge(const sync_histogram& other) {
    for (std::size_t i = 0; i < std::size(counts); ++i) counts[i] += other.counts[i];
    sum_seconds += other.sum_seconds;
  }
};

struct log_stats {
  std::uint64_t appended_bytes = 0;  // records handed to the log
  std::uint64_t written_bytes = 0;   // confirmed written by the writer
  std::uint64_t syncs = 0;
  sync_histogram sync_seconds;
  std::uint64_t write_errors = 0;
  std::uint64_t segments_deleted = 0;
  std::size_t segments = 0;  // segment files in use
  bool failing = false;      // the last write or sync failed
};

class durable_log {
 public:
  // Runs a function on the owning thread (asio::post onto the I/O context).
  using poster = std::function<void(std::function<void()>)>;
  // Every byte up to `lsn` was written (and synced under `always`) when `error` is empty;
  // else the buffer ending at `lsn` may be lost. Called on the owning thread, in order.
  using outcome_handler = std::function<void(std::uint64_t lsn, std::error_code error)>;

  durable_log(std::shared_ptr<file_system> fs, log_options options, poster post,
              outcome_handler on_outcome);
  ~durable_log();  // close()
  durable_log(const durable_log&) = delete;
  durable_log& operator=(const durable_log&) = delete;

  // Locks the directory, scans every segment and starts the writer. On failure `error`
  // says why (another broker holds the lock, an unreadable segment) and nothing runs.
  bool open(recovery_report& report, std::string& error);
  // Writes what is buffered, syncs, stops the writer and releases the lock.
  void close();

  // Appends a message record; returns the segment it lands in (hold()s it).
  std::uint32_t append_message(const message_record& message);
  void append_ref(record_type type, const ref_record& ref);
  // A stored message was settled or forgotten (or, `copied`, copied forward by
  // compaction): its segment holds one fewer.
  void release(std::uint32_t segment, bool copied = false);
  // The position after the last appended record: a confirm waits for this.
  std::uint64_t appended() const { return appended_; }
  // Hands the buffer to the writer now (otherwise done once per I/O loop turn).
  void flush();

  std::uint32_t head_segment() const { return live_.empty() ? 0 : live_.begin()->first; }
  std::uint32_t active_segment() const { return active_; }
  std::size_t segment_count() const { return live_.size(); }
  std::uint64_t live_in(std::uint32_t segment) const;
  const log_stats& stats() const { return stats_; }
  const log_options& options() const { return options_; }
  std::string segment_path(std::uint32_t segment) const;

 private:
  class writer;
  bool full_for(std::uint64_t size) const;
  void roll();
  void schedule_flush();
  void delete_settled_head();
  void on_written(std::vector<std::pair<std::uint64_t, std::error_code>> outcomes,
                  const sync_histogram& synced, std::uint64_t written, std::uint64_t syncs);

  std::shared_ptr<file_system> fs_;
  log_options options_;
  poster post_;
  outcome_handler on_outcome_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<dir_lock> lock_;
  std::unique_ptr<writer> writer_;

  std::vector<std::uint8_t> buffer_;  // records of active_ not yet handed to the writer
  std::uint32_t active_ = 0;
  std::uint64_t active_bytes_ = 0;
  std::uint64_t appended_ = 0;
  bool flush_scheduled_ = false;
  bool buffer_holds_messages_ = false;
  std::map<std::uint32_t, std::uint64_t> live_;  // segment → unsettled messages in it
  std::set<std::uint32_t> guarded_;  // segments emptied by copying: removed only if all went well
  log_stats stats_;
};

}  // namespace ipc::storage
