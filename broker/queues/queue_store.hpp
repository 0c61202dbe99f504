// The durable side of queues (docs/storage.md): the catalog of durable queues
// (queues.json: name, store id, options) and the shared durable log their messages,
// deliveries and settlements are recorded in. Implements queue_journal for every
// durable queue; owned by the queue manager, used on the I/O thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json_fwd.hpp>

#include "ipc/config/config.hpp"
#include "ipc/storage/log.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

// The reserved queue id of retained messages in the log (docs/storage.md §2.2): catalog
// ids start at 1.
inline constexpr std::uint32_t retained_queue_id = 0;

class queue_store final : public queue_journal {
 public:
  // Something besides the durable queues that keeps messages in the log (the retained
  // store): compaction asks it to copy forward those still in segment `head`, with
  // relocate() for each.
  using holder = std::function<void(std::uint32_t head)>;
  struct entry {
    std::uint32_t id = 0;
    config::queue_options options;
  };

  queue_store(const config::storage& settings, spdlog::logger& log,
              std::shared_ptr<storage::file_system> fs, storage::durable_log::poster post,
              storage::durable_log::outcome_handler on_outcome);
  ~queue_store();

  // Locks the directory, reads the catalog and recovers the log; false (with `error`)
  // when the broker must not start.
  bool open(std::string& error);
  void close();

  const std::map<std::string, entry, std::less<>>& catalog() const { return catalog_; }
  // The messages recovered by open(), by queue id then message id (taken once).
  std::vector<storage::recovered_message> take_recovered() { return std::move(recovered_); }

  // Records a durable queue (new, or new options) in the catalog; its id in `id`.
  std::error_code save_queue(const std::string& name, const config::queue_options& options,
                             std::uint32_t& id);
  std::error_code drop_queue(const std::string& name);

  // Copies the few messages still held by the oldest segment forward so that it can be
  // deleted (called periodically with every durable queue).
  void compact(const std::vector<queue*>& durable_queues);
  void set_holder(holder h) { holder_ = std::move(h); }

  // Messages kept under another id than a queue's (retained_queue_id): written, settled,
  // and copied forward by a holder; each returns or takes the segment as queues do.
  std::uint32_t store_other(std::uint32_t queue_id, std::uint64_t id, std::uint64_t expires_unix_ms,
                            std::span<const std::uint8_t> body);
  void settle_other(std::uint32_t queue_id, std::uint64_t id, std::uint32_t segment);
  std::uint32_t relocate_other(std::uint32_t queue_id, std::uint64_t id,
                               std::uint64_t expires_unix_ms, std::span<const std::uint8_t> body,
                               std::uint32_t old_segment);

  std::uint64_t appended() const { return log_.appended(); }
  nlohmann::json describe() const;

  // queue_journal
  void stored(queue& q, stored_message& message) override;
  void delivered(queue& q, const stored_message& message) override;
  void removed(queue& q, std::uint64_t id, std::uint32_t segment) override;
  void forgotten(std::uint32_t segment) override;

 private:
  std::error_code write_catalog();
  bool read_catalog(std::string& error);
  storage::message_record record_of(const queue& q, const stored_message& message) const;

  config::storage settings_;
  spdlog::logger& logger_;
  std::shared_ptr<storage::file_system> fs_;
  storage::durable_log log_;
  std::map<std::string, entry, std::less<>> catalog_;
  std::uint32_t next_id_ = 1;
  std::vector<storage::recovered_message> recovered_;
  storage::recovery_report report_;
  std::size_t recovered_count_ = 0;
  holder holder_;
};

// Options as stored in the catalog (and shown by queue.info): the keys of config queues.
nlohmann::json options_json(const config::queue_options& options);

}  // namespace ipc::broker
