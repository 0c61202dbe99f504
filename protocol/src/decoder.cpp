// Typed decoding of frame bodies with the message library's bounds-checked cursor.
#include "ipc/protocol/decoder.hpp"

namespace ipc::protocol {
namespace {

using message_record::byte_cursor;

errc finish(const byte_cursor& in) { return in.at_end() ? errc::ok : errc::malformed_frame; }

bool wrong_type(const raw_frame& frame, frame_type expected) { return frame.type != expected; }

void read_body(byte_cursor& in, message_body& out) { message_record::read_record(in, out); }

}  // namespace

bool is_known_frame_type(std::uint8_t type) noexcept {
  switch (static_cast<frame_type>(type)) {
    case frame_type::hello:
    case frame_type::welcome:
    case frame_type::ping:
    case frame_type::pong:
    case frame_type::error:
    case frame_type::ok:
    case frame_type::goodbye:
    case frame_type::publish:
    case frame_type::subscribe:
    case frame_type::unsubscribe:
    case frame_type::message:
    case frame_type::send:
    case frame_type::consume:
    case frame_type::cancel:
    case frame_type::deliver:
    case frame_type::ack:
    case frame_type::nack:
    case frame_type::request:
    case frame_type::response:
    case frame_type::admin:
    case frame_type::admin_result: return true;
  }
  return false;
}

std::string_view frame_type_name(frame_type type) noexcept {
  switch (type) {
    case frame_type::hello: return "HELLO";
    case frame_type::welcome: return "WELCOME";
    case frame_type::ping: return "PING";
    case frame_type::pong: return "PONG";
    case frame_type::error: return "ERROR";
    case frame_type::ok: return "OK";
    case frame_type::goodbye: return "GOODBYE";
    case frame_type::publish: return "PUBLISH";
    case frame_type::subscribe: return "SUBSCRIBE";
    case frame_type::unsubscribe: return "UNSUBSCRIBE";
    case frame_type::message: return "MESSAGE";
    case frame_type::send: return "SEND";
    case frame_type::consume: return "CONSUME";
    case frame_type::cancel: return "CANCEL";
    case frame_type::deliver: return "DELIVER";
    case frame_type::ack: return "ACK";
    case frame_type::nack: return "NACK";
    case frame_type::request: return "REQUEST";
    case frame_type::response: return "RESPONSE";
    case frame_type::admin: return "ADMIN";
    case frame_type::admin_result: return "ADMIN_RESULT";
  }
  return "?";
}

errc decode(const raw_frame& frame, hello_frame& out) {
  if (wrong_type(frame, frame_type::hello)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  if (in.u32() != hello_magic) return errc::malformed_frame;
  out.min_version = in.u16();
  out.max_version = in.u16();
  out.mechanism = in.str16();
  out.properties = message_record::read_map(in);
  return finish(in);
}

errc decode(const raw_frame& frame, welcome_frame& out) {
  if (wrong_type(frame, frame_type::welcome)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.version = in.u16();
  out.connection_id = in.u64();
  out.max_payload = in.u32();
  out.properties = message_record::read_map(in);
  return finish(in);
}

errc decode(const raw_frame& frame, ping_frame& out) {
  if (frame.type != frame_type::ping && frame.type != frame_type::pong)
    return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.token = in.u64();
  return finish(in);
}

errc decode_goodbye(const raw_frame& frame) {
  if (wrong_type(frame, frame_type::goodbye)) return errc::malformed_frame;
  return frame.body.empty() ? errc::ok : errc::malformed_frame;
}

errc decode(const raw_frame& frame, error_frame& out) {
  if (wrong_type(frame, frame_type::error)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.code = in.u16();
  out.ref = in.u32();
  std::uint8_t fatal = in.u8();
  out.fatal = fatal == 1;
  out.message = in.str16();
  return fatal > 1 ? errc::malformed_frame : finish(in);
}

errc decode(const raw_frame& frame, ok_frame& out) {
  if (wrong_type(frame, frame_type::ok)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.ref = in.u32();
  out.value = in.u64();
  return finish(in);
}

errc decode(const raw_frame& frame, publish_frame& out) {
  if (wrong_type(frame, frame_type::publish)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  std::size_t fields_begin = in.offset();
  out.topic = in.str16();
  out.reply_to = in.str16();
  out.headers = message_record::read_map(in);
  out.payload = in.bytes32();
  if (in.ok()) out.record_fields = in.since(fields_begin);
  return finish(in);
}

errc decode(const raw_frame& frame, subscribe_frame& out) {
  if (wrong_type(frame, frame_type::subscribe)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.sid = in.u32();
  out.pattern = in.str16();
  return finish(in);
}

errc decode(const raw_frame& frame, unsubscribe_frame& out) {
  if (wrong_type(frame, frame_type::unsubscribe)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.sid = in.u32();
  return finish(in);
}

errc decode_message_body(std::span<const std::uint8_t> bytes, message_body& out) {
  byte_cursor in(bytes);
  read_body(in, out);
  return finish(in);
}

errc decode(const raw_frame& frame, message_frame& out) {
  if (wrong_type(frame, frame_type::message)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.sid = in.u32();
  read_body(in, out.body);
  return finish(in);
}

errc decode(const raw_frame& frame, send_frame& out) {
  if (wrong_type(frame, frame_type::send)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.queue = in.str16();
  out.reply_to = in.str16();
  out.headers = message_record::read_map(in);
  out.payload = in.bytes32();
  return finish(in);
}

errc decode(const raw_frame& frame, consume_frame& out) {
  if (wrong_type(frame, frame_type::consume)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.cid = in.u32();
  out.queue = in.str16();
  out.prefetch = in.u32();
  out.flags = in.u8();
  return finish(in);
}

errc decode(const raw_frame& frame, cancel_frame& out) {
  if (wrong_type(frame, frame_type::cancel)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.cid = in.u32();
  return finish(in);
}

errc decode(const raw_frame& frame, deliver_frame& out) {
  if (wrong_type(frame, frame_type::deliver)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.cid = in.u32();
  out.delivery_tag = in.u64();
  out.delivery_count = in.u32();
  read_body(in, out.body);
  return finish(in);
}

errc decode(const raw_frame& frame, ack_frame& out) {
  if (wrong_type(frame, frame_type::ack)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.delivery_tag = in.u64();
  return finish(in);
}

errc decode(const raw_frame& frame, nack_frame& out) {
  if (wrong_type(frame, frame_type::nack)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.delivery_tag = in.u64();
  std::uint8_t disposition = in.u8();
  out.disposition = static_cast<nack_disposition>(disposition);
  return disposition > 2 ? errc::malformed_frame : finish(in);
}

errc decode(const raw_frame& frame, request_frame& out) {
  if (wrong_type(frame, frame_type::request)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  std::uint8_t kind = in.u8();
  out.target_kind = static_cast<request_target>(kind);
  out.target = in.str16();
  out.timeout_ms = in.u32();
  out.headers = message_record::read_map(in);
  out.payload = in.bytes32();
  return kind > 1 ? errc::malformed_frame : finish(in);
}

errc decode(const raw_frame& frame, response_frame& out) {
  if (wrong_type(frame, frame_type::response)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  read_body(in, out.body);
  return finish(in);
}

errc decode(const raw_frame& frame, admin_frame& out) {
  if (wrong_type(frame, frame_type::admin)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.command = in.str16();
  out.args = byte_cursor::as_text(in.bytes32());
  return finish(in);
}

errc decode(const raw_frame& frame, admin_result_frame& out) {
  if (wrong_type(frame, frame_type::admin_result)) return errc::malformed_frame;
  byte_cursor in(frame.body);
  out.id = in.u32();
  out.status = in.u16();
  out.body = byte_cursor::as_text(in.bytes32());
  return finish(in);
}

}  // namespace ipc::protocol
