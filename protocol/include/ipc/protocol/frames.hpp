// Frame types and their decoded forms (docs/protocol.md §3–5). Decoded frames are views
// into the bytes they were decoded from: valid until the reader's buffer changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ipc/message/record.hpp"
#include "ipc/protocol/errc.hpp"

namespace ipc::protocol {

inline constexpr std::uint32_t hello_magic = 0x49504344;  // "IPCD"
inline constexpr std::uint16_t protocol_version = 1;
inline constexpr std::size_t length_prefix_size = 4;  // u32 big-endian, counts type + body
// Before HELLO is accepted a frame may be at most this large (docs/protocol.md §2.3):
// enough for a hello with credentials and a certificate-sized property, no more.
inline constexpr std::uint32_t max_handshake_frame = 64 * 1024;

// Values are wire numbers: never renumber, only append.
enum class frame_type : std::uint8_t {
  hello = 0x01,
  welcome = 0x02,
  ping = 0x03,
  pong = 0x04,
  error = 0x05,
  ok = 0x06,
  goodbye = 0x07,  // a clean close: the connection ends without its will (§3.5)
  publish = 0x10,
  subscribe = 0x11,
  unsubscribe = 0x12,
  message = 0x13,
  send = 0x20,
  consume = 0x21,
  cancel = 0x22,
  deliver = 0x23,
  ack = 0x24,
  nack = 0x25,
  request = 0x30,
  response = 0x31,
  admin = 0x40,
  admin_result = 0x41,
};

bool is_known_frame_type(std::uint8_t type) noexcept;
std::string_view frame_type_name(frame_type type) noexcept;

// Maps (headers, properties) and the message body are the message record's
// (ipc/message/record.hpp): the native protocol carries the record verbatim.
using map_view = message_record::map_view;

struct hello_frame {
  std::uint16_t min_version = 0;
  std::uint16_t max_version = 0;
  std::string_view mechanism;  // "anonymous" | "password" | "token" | …
  map_view properties;         // credentials ("user", "password", "token") and client info
};

struct welcome_frame {
  std::uint16_t version = 0;
  std::uint64_t connection_id = 0;
  std::uint32_t max_payload = 0;
  map_view properties;  // "server", "user", …
};

struct ping_frame {
  std::uint64_t token = 0;
};

struct error_frame {
  std::uint16_t code = 0;
  std::uint32_t ref = 0;  // id of the operation it answers; 0 = the connection
  bool fatal = false;     // the broker closes the connection after sending it
  std::string_view message;
};

struct ok_frame {
  std::uint32_t ref = 0;
  std::uint64_t value = 0;  // operation specific (message id of a confirmed send)
};

struct publish_frame {
  std::uint32_t id = 0;  // 0: no OK wanted; errors still come back with ref 0
  std::string_view topic;
  std::string_view reply_to;
  map_view headers;
  std::span<const std::uint8_t> payload;
  // topic to payload as they are in the frame, the same bytes as in the message record
  // after its id and timestamp (§4.1)
  std::span<const std::uint8_t> record_fields;
};

struct subscribe_frame {
  std::uint32_t id = 0;
  std::uint32_t sid = 0;  // chosen by the client, unique on its connection
  std::string_view pattern;
};

struct unsubscribe_frame {
  std::uint32_t id = 0;
  std::uint32_t sid = 0;
};

// The broker-encoded part shared by MESSAGE, DELIVER and RESPONSE (docs/protocol.md §4.1):
// the message record.
using message_body = message_record::fields;

struct message_frame {
  std::uint32_t sid = 0;
  message_body body;
};

struct send_frame {
  std::uint32_t id = 0;  // non-zero: confirm wanted (OK once the broker owns the message)
  std::string_view queue;
  std::string_view reply_to;
  map_view headers;
  std::span<const std::uint8_t> payload;
};

inline constexpr std::uint8_t consume_flag_no_ack = 0x01;

struct consume_frame {
  std::uint32_t id = 0;
  std::uint32_t cid = 0;  // consumer id chosen by the client
  std::string_view queue;
  std::uint32_t prefetch = 0;  // unacked deliveries allowed at once; 0 = broker default
  std::uint8_t flags = 0;
};

struct cancel_frame {
  std::uint32_t id = 0;
  std::uint32_t cid = 0;
};

struct deliver_frame {
  std::uint32_t cid = 0;
  std::uint64_t delivery_tag = 0;
  std::uint32_t delivery_count = 0;  // 1 on first delivery
  message_body body;
};

struct ack_frame {
  std::uint64_t delivery_tag = 0;
};

enum class nack_disposition : std::uint8_t { requeue = 0, dead_letter = 1, drop = 2 };

struct nack_frame {
  std::uint64_t delivery_tag = 0;
  nack_disposition disposition = nack_disposition::requeue;
};

enum class request_target : std::uint8_t { topic = 0, queue = 1 };

struct request_frame {
  std::uint32_t id = 0;  // correlation id, unique among the requester's open requests
  request_target target_kind = request_target::topic;
  std::string_view target;
  std::uint32_t timeout_ms = 0;
  map_view headers;
  std::span<const std::uint8_t> payload;
};

struct response_frame {
  std::uint32_t id = 0;  // the request's correlation id
  message_body body;
};

struct admin_frame {
  std::uint32_t id = 0;
  std::string_view command;  // "status", "conn.list", …
  std::string_view args;     // JSON object text
};

struct admin_result_frame {
  std::uint32_t id = 0;
  std::uint16_t status = 0;  // 0 ok, else an errc value
  std::string_view body;     // JSON text
};

}  // namespace ipc::protocol
