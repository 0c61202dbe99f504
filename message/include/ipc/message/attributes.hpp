// Message attributes (docs/protocol.md §4.1.1): what the broker does with a message beyond
// routing it — keep it as its topic's retained message, let it expire — is carried in the
// record's headers under reserved keys, so that every front-end, queue and the durable
// log carry it without a field of their own and every receiver sees it as it was sent
// (NATS carries its per-message TTL the same way, in a `Nats-TTL` header). Every key that
// starts with `ipc-`, in any letter case, is reserved: read_attributes() refuses one it
// does not know. Standard library only, sans-I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ipc/message/record.hpp"

namespace ipc::message_record {

inline constexpr std::string_view reserved_prefix = "ipc-";

// The reserved header keys. A client may set the first group; the broker sets the second.
namespace attribute {
inline constexpr std::string_view retain = "ipc-retain";          // "1" / "true": keep as retained
inline constexpr std::string_view ttl = "ipc-ttl";                // milliseconds to live
inline constexpr std::string_view priority = "ipc-priority";      // 0-255; a queue caps it
inline constexpr std::string_view delay = "ipc-delay";            // ms before a queue shows it
inline constexpr std::string_view deliver_at = "ipc-deliver-at";  // UNIX ms: the same, absolute
// What an MQTT PUBLISH carries beside its topic (docs/mqtt.md §5); any client may set them.
inline constexpr std::string_view qos = "ipc-qos";  // "0", "1", "2": the publisher's QoS
inline constexpr std::string_view content_type = "ipc-content-type";      // MQTT 5 Content Type
inline constexpr std::string_view payload_format = "ipc-payload-format";  // "1": UTF-8 text
inline constexpr std::string_view correlation = "ipc-correlation";        // MQTT 5 Correlation Data
// The uplink a message came in by (docs/uplinks.md §4): never sent back up that uplink.
inline constexpr std::string_view uplink = "ipc-uplink";
inline constexpr std::string_view retained = "ipc-retained";  // delivered from the store
// Set on a dead-lettered message (docs/protocol.md §4.12.4), replacing earlier ones.
inline constexpr std::string_view death_prefix = "ipc-death-";
inline constexpr std::string_view death_reason = "ipc-death-reason";  // expired, rejected, …
inline constexpr std::string_view death_queue = "ipc-death-queue";    // the queue it left
inline constexpr std::string_view death_time = "ipc-death-time";      // UNIX time in ms
inline constexpr std::string_view death_count = "ipc-death-count";    // times dead-lettered
inline constexpr std::string_view death_deliveries = "ipc-death-deliveries";  // deliveries before
}  // namespace attribute

// The longest time to live: one year (MQTT's four-byte expiry interval goes further, but
// a message nobody reads for a year is not waiting for a reader).
inline constexpr std::uint64_t max_ttl_ms = 365ull * 24 * 3600 * 1000;

struct attributes {
  bool retain = false;
  std::uint64_t ttl_ms = 0;  // 0: never expires
  std::uint8_t priority = 0;
  std::uint64_t delay_ms = 0;       // ipc-delay; 0: none
  std::uint64_t deliver_at_ms = 0;  // ipc-deliver-at (UNIX ms); 0: none
  bool retained = false;            // set by the broker on a delivery from the retained store
  std::uint8_t qos = no_qos;        // ipc-qos: 0-2, or no_qos when not given
  static constexpr std::uint8_t no_qos = 0xff;
};

// Whether `key` is reserved (starts with "ipc-", any case).
bool is_reserved(std::string_view key);
// Whether `key` is `reserved_key` (which is lower case), in any letter case.
bool is_key(std::string_view key, std::string_view reserved_key);

// Reads the reserved headers of a message a client sent: "" when every one is known,
// settable by a client, given once and valid; otherwise a sentence saying which is not
// and why (for an invalid_argument refusal).
std::string read_attributes(const map_view& headers, attributes& out);

// Whether a header stays on a delayed message once the broker has made its time absolute:
// all but ipc-delay (which becomes ipc-deliver-at, so a restart keeps the time).
bool kept_when_scheduled(std::string_view key);

// Whether a header stays on a message that is dead-lettered: all but ipc-ttl (the message
// would expire again at once) and the ipc-death-… of an earlier dead-lettering.
bool kept_when_dead_lettered(std::string_view key);

// Re-encodes the record `f` with its headers filtered and extended: the entries for
// which `keep(key)` is true, in order, then `add` (the broker's own attributes).
void encode_rewritten(byte_buffer& out, const fields& f, bool (*keep)(std::string_view key),
                      string_pairs add);

// Reads the reserved headers of a record the broker wrote (a delivery): what is there,
// ignoring what it does not know (a newer broker's keys).
attributes attributes_of(const map_view& headers);

}  // namespace ipc::message_record
