// Frame encoders: big-endian primitives and one function per frame type.
#include "ipc/protocol/encoder.hpp"

#include <cstring>

namespace ipc::protocol {

namespace {

// Starts a frame: reserves the length prefix and writes the type; returns its offset.
std::size_t begin_frame(byte_buffer& out, frame_type type) {
  auto start = out.size();
  out.resize(start + length_prefix_size);
  out.push_back(static_cast<std::uint8_t>(type));
  return start;
}

void end_frame(byte_buffer& out, std::size_t start) {
  auto length = out.size() - start - length_prefix_size;
  wire::store_u32(out.data() + start, static_cast<std::uint32_t>(length));
}

void write_prefix(std::uint8_t* at, frame_type type, std::size_t rest) {
  wire::store_u32(at, static_cast<std::uint32_t>(1 + rest));
  at[4] = static_cast<std::uint8_t>(type);
}

// The frames a client sends per message are sized once, then written in place; most
// carry no headers (a map of no entries: its count), and their payload ends them.
bool no_headers(const map_source& headers) {
  return headers.pairs.empty() && headers.encoded == nullptr;
}

std::size_t headers_and_payload_size(const map_source& headers,
                                     std::span<const std::uint8_t> payload) {
  return (no_headers(headers) ? 2 : message_record::map_size(headers)) + 4 + payload.size();
}

void store_headers_and_payload(std::uint8_t* at, const map_source& headers,
                               std::span<const std::uint8_t> payload) {
  at = no_headers(headers) ? message_record::store_u16(at, 0)
                           : message_record::store_map(at, headers);
  message_record::store_bytes32(at, payload);
}

// Grows `out` by a frame of `type` with `rest` bytes after the type; returns where they go.
std::uint8_t* append_frame(byte_buffer& out, frame_type type, std::size_t rest) {
  std::size_t start = out.size();
  out.resize(start + length_prefix_size + 1 + rest);
  std::uint8_t* at = out.data() + start;
  write_prefix(at, type, rest);
  return at + length_prefix_size + 1;
}

// PUBLISH and SEND share one layout: id, destination, reply_to, headers, payload.
void encode_addressed(byte_buffer& out, frame_type type, std::uint32_t id,
                      std::string_view destination, std::string_view reply_to,
                      const map_source& headers, std::span<const std::uint8_t> payload) {
  std::size_t rest =
      4 + 2 + destination.size() + 2 + reply_to.size() + headers_and_payload_size(headers, payload);
  std::uint8_t* at = append_frame(out, type, rest);
  wire::store_u32(at, id);
  at = message_record::store_str16(at + 4, destination);
  at = message_record::store_str16(at, reply_to);
  store_headers_and_payload(at, headers, payload);
}

}  // namespace

using namespace wire;

void encode_hello(byte_buffer& out, std::string_view mechanism, string_pairs properties,
                  std::uint16_t min_version, std::uint16_t max_version) {
  auto start = begin_frame(out, frame_type::hello);
  put_u32(out, hello_magic);
  put_u16(out, min_version);
  put_u16(out, max_version);
  put_str16(out, mechanism);
  put_map(out, {properties, nullptr});
  end_frame(out, start);
}

void encode_ping(byte_buffer& out, std::uint64_t token) {
  auto start = begin_frame(out, frame_type::ping);
  put_u64(out, token);
  end_frame(out, start);
}

void encode_goodbye(byte_buffer& out) {
  auto start = begin_frame(out, frame_type::goodbye);
  end_frame(out, start);
}

void encode_pong(byte_buffer& out, std::uint64_t token) {
  auto start = begin_frame(out, frame_type::pong);
  put_u64(out, token);
  end_frame(out, start);
}

void encode_publish(byte_buffer& out, std::uint32_t id, std::string_view topic,
                    std::string_view reply_to, const map_source& headers,
                    std::span<const std::uint8_t> payload) {
  encode_addressed(out, frame_type::publish, id, topic, reply_to, headers, payload);
}

void encode_subscribe(byte_buffer& out, std::uint32_t id, std::uint32_t sid,
                      std::string_view pattern) {
  auto start = begin_frame(out, frame_type::subscribe);
  put_u32(out, id);
  put_u32(out, sid);
  put_str16(out, pattern);
  end_frame(out, start);
}

void encode_unsubscribe(byte_buffer& out, std::uint32_t id, std::uint32_t sid) {
  auto start = begin_frame(out, frame_type::unsubscribe);
  put_u32(out, id);
  put_u32(out, sid);
  end_frame(out, start);
}

void encode_send(byte_buffer& out, std::uint32_t id, std::string_view queue,
                 std::string_view reply_to, const map_source& headers,
                 std::span<const std::uint8_t> payload) {
  encode_addressed(out, frame_type::send, id, queue, reply_to, headers, payload);
}

void encode_consume(byte_buffer& out, std::uint32_t id, std::uint32_t cid, std::string_view queue,
                    std::uint32_t prefetch, std::uint8_t flags) {
  auto start = begin_frame(out, frame_type::consume);
  put_u32(out, id);
  put_u32(out, cid);
  put_str16(out, queue);
  put_u32(out, prefetch);
  put_u8(out, flags);
  end_frame(out, start);
}

void encode_cancel(byte_buffer& out, std::uint32_t id, std::uint32_t cid) {
  auto start = begin_frame(out, frame_type::cancel);
  put_u32(out, id);
  put_u32(out, cid);
  end_frame(out, start);
}

void encode_ack(byte_buffer& out, std::uint64_t delivery_tag) {
  auto start = begin_frame(out, frame_type::ack);
  put_u64(out, delivery_tag);
  end_frame(out, start);
}

void encode_nack(byte_buffer& out, std::uint64_t delivery_tag, nack_disposition disposition) {
  auto start = begin_frame(out, frame_type::nack);
  put_u64(out, delivery_tag);
  put_u8(out, static_cast<std::uint8_t>(disposition));
  end_frame(out, start);
}

void encode_request(byte_buffer& out, std::uint32_t id, request_target kind,
                    std::string_view target, std::uint32_t timeout_ms, const map_source& headers,
                    std::span<const std::uint8_t> payload) {
  // Written in place as PUBLISH is: a request per round trip.
  std::size_t rest = 4 + 1 + 2 + target.size() + 4 + headers_and_payload_size(headers, payload);
  std::uint8_t* at = append_frame(out, frame_type::request, rest);
  wire::store_u32(at, id);
  at[4] = static_cast<std::uint8_t>(kind);
  at = message_record::store_str16(at + 5, target);
  wire::store_u32(at, timeout_ms);
  store_headers_and_payload(at + 4, headers, payload);
}

void encode_admin(byte_buffer& out, std::uint32_t id, std::string_view command,
                  std::string_view args_json) {
  auto start = begin_frame(out, frame_type::admin);
  put_u32(out, id);
  put_str16(out, command);
  put_bytes32(out, {reinterpret_cast<const std::uint8_t*>(args_json.data()), args_json.size()});
  end_frame(out, start);
}

void encode_welcome(byte_buffer& out, std::uint64_t connection_id, std::uint32_t max_payload,
                    string_pairs properties) {
  auto start = begin_frame(out, frame_type::welcome);
  put_u16(out, protocol_version);
  put_u64(out, connection_id);
  put_u32(out, max_payload);
  put_map(out, {properties, nullptr});
  end_frame(out, start);
}

void encode_error(byte_buffer& out, errc code, std::uint32_t ref, bool fatal,
                  std::string_view message) {
  auto start = begin_frame(out, frame_type::error);
  put_u16(out, static_cast<std::uint16_t>(code));
  put_u32(out, ref);
  put_u8(out, fatal ? 1 : 0);
  put_str16(out, message.substr(0, 65535));
  end_frame(out, start);
}

void encode_ok(byte_buffer& out, std::uint32_t ref, std::uint64_t value) {
  auto start = begin_frame(out, frame_type::ok);
  put_u32(out, ref);
  put_u64(out, value);
  end_frame(out, start);
}

void encode_admin_result(byte_buffer& out, std::uint32_t id, std::uint16_t status,
                         std::string_view body_json) {
  auto start = begin_frame(out, frame_type::admin_result);
  put_u32(out, id);
  put_u16(out, status);
  put_bytes32(out, {reinterpret_cast<const std::uint8_t*>(body_json.data()), body_json.size()});
  end_frame(out, start);
}

void encode_message_body(byte_buffer& out, std::uint64_t message_id, std::uint64_t timestamp_ns,
                         std::string_view topic, std::string_view reply_to,
                         const map_source& headers, std::span<const std::uint8_t> payload) {
  message_record::encode_record(out, message_id, timestamp_ns, topic, reply_to, headers, payload);
}

void write_message_prefix(std::uint8_t* at, std::uint32_t sid, std::size_t body_size) {
  write_prefix(at, frame_type::message, 4 + body_size);
  store_u32(at + 5, sid);
}

void write_deliver_prefix(std::uint8_t* at, std::uint32_t cid, std::uint64_t delivery_tag,
                          std::uint32_t delivery_count, std::size_t body_size) {
  write_prefix(at, frame_type::deliver, 16 + body_size);
  store_u32(at + 5, cid);
  store_u64(at + 9, delivery_tag);
  store_u32(at + 17, delivery_count);
}

void write_response_prefix(std::uint8_t* at, std::uint32_t id, std::size_t body_size) {
  write_prefix(at, frame_type::response, 4 + body_size);
  store_u32(at + 5, id);
}

std::size_t publish_frame_size(std::size_t topic, std::size_t reply_to, std::size_t header_bytes,
                               std::size_t payload) {
  return length_prefix_size + 1 + 4 + 2 + topic + 2 + reply_to + header_bytes + 4 + payload;
}

}  // namespace ipc::protocol
