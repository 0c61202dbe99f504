// The message as the core routes it (docs/architecture.md §1.2): what a front-end hands in
// (message_in, views valid for the call) and what it gets out (outgoing_message: the
// message record, encoded once per message and shared by every recipient). The record
// (id, timestamp, topic, reply_to, headers, payload) is the one byte layout that queues,
// the durable log and the native protocol (docs/protocol.md §4.1) all carry; every other
// front-end decodes it (message_record::decode_record) and encodes its own wire once
// per message.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/message_pool.hpp"
#include "ipc/message/record.hpp"

namespace ipc::broker {

// Message headers in the record's map encoding (u16 count, then str16 key/value pairs),
// read lazily; a front-end with another header form encodes it into this one.
using header_map = message_record::map_view;

// Records up to this size are encoded into a scratch buffer and copied by each recipient
// into its output: a memcpy of a few hundred bytes is far cheaper than an extra iovec,
// and keeps many messages in one iovec. Larger ones are shared by reference.
inline constexpr std::size_t inline_body_limit = 4096;

// A message handed to the core by a front-end.
struct message_in {
  std::string_view topic;  // the topic of a publish or request ("" for a send)
  std::string_view reply_to;
  header_map headers;
  std::span<const std::uint8_t> payload;
  // The four fields above exactly as the record stores them after its id and timestamp,
  // when the front-end received them in that layout (a native PUBLISH: docs/protocol.md
  // §4.1); the record is then built with one copy. Empty: encoded field by field.
  std::span<const std::uint8_t> wire_fields = {};
};

// A message ready for its recipients: the record encoded once. Small records live in a
// scratch buffer valid only during the call; large ones are shared (`shared` set).
struct outgoing_message {
  std::span<const std::uint8_t> body;  // the message record
  const body_ref* shared = nullptr;    // set when body.size() > inline_body_limit
  std::uint64_t message_id = 0;
  std::uint64_t expires_at_ms = 0;  // steady-clock ms from its ipc-ttl; 0 = never
  std::uint8_t priority = 0;        // its ipc-priority, for bindings into priority queues
  bool retained = false;            // from the retained store, for a new subscription
};

// Appends the record of one message to `out` (from its wire_fields when it has them).
void encode_record(std::vector<std::uint8_t>& out, std::uint64_t message_id,
                   std::uint64_t timestamp_ns, const message_in& m);
// Writes the record at `at` (room for record_size() bytes).
void encode_record_at(std::uint8_t* at, std::uint64_t message_id, std::uint64_t timestamp_ns,
                      const message_in& m);
// The record's size before encoding it (to choose between inline and shared).
std::size_t record_size(const message_in& m);

}  // namespace ipc::broker
