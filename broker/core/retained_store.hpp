// Retained messages (docs/protocol.md §4.2.1): the last message published with
// `ipc-retain` on each topic, kept as the record new subscribers receive (with
// `ipc-retained: 1` among its headers), bounded by limits.max_retained and
// max_retained_bytes, expiring with the message's `ipc-ttl`. Durable when storage is
// on: each record is also in the durable log, under the reserved queue id 0
// (docs/storage.md §2.2), settled when it is replaced, cleared or expires. Sans-I/O: the
// core drives it and gives it the time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/message_pool.hpp"

namespace ipc::broker {

class retained_store {
 public:
  struct entry {
    body_ref record;  // the record as new subscribers get it
    std::uint64_t message_id = 0;
    std::uint64_t expires_at_ms = 0;  // steady-clock ms; 0 = never
    std::uint32_t segment = 0;        // its durable log segment; 0 = not stored
  };

  // Whether `topic` may hold a record of `bytes` (replacing what it holds): "" or why not.
  std::string room_for(std::string_view topic, std::size_t bytes, std::uint64_t max_count,
                       std::uint64_t max_bytes) const;
  // Sets the retained message of `topic`; returns the one it replaces, if any.
  std::optional<entry> put(std::string_view topic, entry e);
  // Clears `topic`; returns what it held, if anything.
  std::optional<entry> remove(std::string_view topic);
  const entry* find(std::string_view topic) const;

  // Visits every retained message whose topic `pattern` matches (topics.md, the `$`
  // rule included) and that has not expired at `now_ms`.
  void for_each_match(std::string_view pattern, std::uint64_t now_ms,
                      const std::function<void(const std::string&, const entry&)>& visit) const;
  // Visits every retained message (listing, compaction); `visit` may change the segment.
  void for_each(const std::function<void(const std::string&, entry&)>& visit);
  // Removes the messages expired at `now_ms`, passing each to `gone`.
  void expire(std::uint64_t now_ms, const std::function<void(const std::string&, entry&)>& gone);

  std::size_t count() const { return entries_.size(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::map<std::string, entry, std::less<>> entries_;
  // Expiry times of the entries with a ttl, one node each (remove() takes it out).
  std::multimap<std::uint64_t, std::string> deadlines_;
  std::uint64_t bytes_ = 0;
};

}  // namespace ipc::broker
