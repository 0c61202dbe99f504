// The durable side of queues (docs/storage.md): the catalog of durable queues
// (queues.json: name, store id, options) and the shared durable log their messages,
// deliveries and settlements are recorded in. Implements queue_journal for every
// durable queue; owned by the queue manager, used on the I/O thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>
#include <nlohmann/json_fwd.hpp>

#include "ipc/config/config.hpp"
#include "ipc/storage/log.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

class queue_store final : public queue_journal {
 public:
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
};

// Options as stored in the catalog (and shown by queue.info): the keys of config queues.
nlohmann::json options_json(const config::queue_options& options);

}  // namespace ipc::broker
