// broker_core's confirms (docs/storage.md): an operation that appended to the durable log
// is answered once the writer has stored that far under the fsync policy; one that did
// not append is answered at once. Clients are found again by id, never by pointer.
#include "core/broker_core.hpp"
#include "queues/queue_manager.hpp"
#include "queues/queue_store.hpp"

namespace ipc::broker {

std::uint64_t broker_core::storage_mark() const {
  auto* store = queues_->store();
  return store ? store->appended() : 0;
}

void broker_core::confirm(client_state& s, std::uint32_t ref, std::uint64_t value,
                          std::uint64_t mark) {
  std::uint64_t now = storage_mark();
  if (now == mark) return s.owner().confirmed(ref, value, errc::ok, {});
  pending_confirms_.push_back({mark, now, s.id(), ref, value});
}

void broker_core::on_stored(std::uint64_t lsn, std::error_code error) {
  if (error && !storage_failing_)
    logger_->error(
        "storage: write failed: {}; confirmed sends to durable queues fail until "
        "it works again",
        error.message());
  else if (!error && storage_failing_ && lsn != 0)
    logger_->info("storage: writing again");
  if (lsn != 0) storage_failing_ = static_cast<bool>(error);
  if (error && lsn != 0) last_failed_lsn_ = lsn;
  while (!pending_confirms_.empty() && pending_confirms_.front().lsn <= lsn) {
    auto c = pending_confirms_.front();
    pending_confirms_.pop_front();
    auto* s = find(c.client_id);
    if (s == nullptr) continue;
    // Its records may span buffers: one that failed before this one fails it too.
    if (error)
      s->owner().confirmed(c.ref, c.value, errc::storage_error, "not stored: " + error.message());
    else if (c.mark < last_failed_lsn_)
      s->owner().confirmed(c.ref, c.value, errc::storage_error,
                           "not stored: part of it failed to write");
    else
      s->owner().confirmed(c.ref, c.value, errc::ok, {});
  }
}

}  // namespace ipc::broker
