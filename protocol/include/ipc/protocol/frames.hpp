// Frame types and their decoded forms (docs/protocol.md §3–5). Decoded frames are views
// into the bytes they were decoded from: valid until the reader's buffer changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

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

// An encoded string→string map (headers, properties): u16 count, then pairs of str16.
// Iterating decodes lazily; the map was validated when its frame was decoded.
class map_view {
 public:
  map_view() = default;
  map_view(std::span<const std::uint8_t> raw, std::uint16_t count) : raw_(raw), count_(count) {}

  struct entry {
    std::string_view key;
    std::string_view value;
  };
  class iterator {
   public:
    iterator(const std::uint8_t* at, std::uint16_t left) : at_(at), left_(left) {}
    entry operator*() const;
    iterator& operator++();
    bool operator==(const iterator& other) const { return left_ == other.left_; }

   private:
    const std::uint8_t* at_;
    std::uint16_t left_;
  };

  iterator begin() const { return {raw_.data() + 2, count_}; }
  iterator end() const { return {nullptr, 0}; }
  std::uint16_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The whole encoding including the count, to copy it through unchanged.
  std::span<const std::uint8_t> raw() const { return raw_; }
  // Sum of key and value bytes (what limits.max_header_bytes counts).
  std::size_t content_bytes() const { return raw_.empty() ? 0 : raw_.size() - 2 - 4u * count_; }
  // First value for `key`: true and `value` set when present.
  bool find(std::string_view key, std::string_view& value) const;

 private:
  std::span<const std::uint8_t> raw_;  // includes the u16 count
  std::uint16_t count_ = 0;
};

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

// The broker-encoded part shared by MESSAGE, DELIVER and RESPONSE (docs/protocol.md §4.1).
struct message_body {
  std::uint64_t message_id = 0;
  std::uint64_t timestamp_ns = 0;  // broker receive time, ns since the UNIX epoch
  std::string_view topic;
  std::string_view reply_to;
  map_view headers;
  std::span<const std::uint8_t> payload;
};

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
