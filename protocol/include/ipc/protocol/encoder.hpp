// Frame encoders (docs/protocol.md §3–5): each appends one complete frame to a byte
// buffer. Server fan-out uses the split form: a small per-recipient prefix plus a
// message body encoded once and shared by every recipient.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "ipc/protocol/frames.hpp"

namespace ipc::protocol {

using byte_buffer = message_record::byte_buffer;
using string_pairs = message_record::string_pairs;  // key/value pairs to encode as a map
using map_source = message_record::map_source;      // pairs, or an encoded map copied through

// The primitives frames are written with (ipc/message/bytes.hpp).
namespace wire {
using message_record::put_bytes32;
using message_record::put_map;
using message_record::put_str16;
using message_record::put_u16;
using message_record::put_u32;
using message_record::put_u64;
using message_record::put_u8;
using message_record::store_u32;
using message_record::store_u64;
}  // namespace wire

// Client → broker.
void encode_hello(byte_buffer& out, std::string_view mechanism, string_pairs properties,
                  std::uint16_t min_version = protocol_version,
                  std::uint16_t max_version = protocol_version);
void encode_ping(byte_buffer& out, std::uint64_t token);
void encode_pong(byte_buffer& out, std::uint64_t token);
void encode_goodbye(byte_buffer& out);
void encode_publish(byte_buffer& out, std::uint32_t id, std::string_view topic,
                    std::string_view reply_to, const map_source& headers,
                    std::span<const std::uint8_t> payload);
void encode_subscribe(byte_buffer& out, std::uint32_t id, std::uint32_t sid,
                      std::string_view pattern);
void encode_unsubscribe(byte_buffer& out, std::uint32_t id, std::uint32_t sid);
void encode_send(byte_buffer& out, std::uint32_t id, std::string_view queue,
                 std::string_view reply_to, const map_source& headers,
                 std::span<const std::uint8_t> payload);
void encode_consume(byte_buffer& out, std::uint32_t id, std::uint32_t cid, std::string_view queue,
                    std::uint32_t prefetch, std::uint8_t flags);
void encode_cancel(byte_buffer& out, std::uint32_t id, std::uint32_t cid);
void encode_ack(byte_buffer& out, std::uint64_t delivery_tag);
void encode_nack(byte_buffer& out, std::uint64_t delivery_tag, nack_disposition disposition);
void encode_request(byte_buffer& out, std::uint32_t id, request_target kind,
                    std::string_view target, std::uint32_t timeout_ms, const map_source& headers,
                    std::span<const std::uint8_t> payload);
void encode_admin(byte_buffer& out, std::uint32_t id, std::string_view command,
                  std::string_view args_json);

// Broker → client.
void encode_welcome(byte_buffer& out, std::uint64_t connection_id, std::uint32_t max_payload,
                    string_pairs properties);
void encode_error(byte_buffer& out, errc code, std::uint32_t ref, bool fatal,
                  std::string_view message);
void encode_ok(byte_buffer& out, std::uint32_t ref, std::uint64_t value = 0);
void encode_admin_result(byte_buffer& out, std::uint32_t id, std::uint16_t status,
                         std::string_view body_json);

// The shared message body (no length, no type): appended once per message.
void encode_message_body(byte_buffer& out, std::uint64_t message_id, std::uint64_t timestamp_ns,
                         std::string_view topic, std::string_view reply_to,
                         const map_source& headers, std::span<const std::uint8_t> payload);

// Per-recipient prefixes written in front of a shared body of `body_size` bytes.
inline constexpr std::size_t message_prefix_size = 4 + 1 + 4;
inline constexpr std::size_t deliver_prefix_size = 4 + 1 + 4 + 8 + 4;
inline constexpr std::size_t response_prefix_size = 4 + 1 + 4;
void write_message_prefix(std::uint8_t* at, std::uint32_t sid, std::size_t body_size);
void write_deliver_prefix(std::uint8_t* at, std::uint32_t cid, std::uint64_t delivery_tag,
                          std::uint32_t delivery_count, std::size_t body_size);
void write_response_prefix(std::uint8_t* at, std::uint32_t id, std::size_t body_size);

// Size of a frame carrying a message of these field sizes, for limit checks.
std::size_t publish_frame_size(std::size_t topic, std::size_t reply_to, std::size_t header_bytes,
                               std::size_t payload);

}  // namespace ipc::protocol
