// Client library vocabulary: options, connection states, received messages, errors.
// No Asio here: shared by the async client and the blocking ipc::Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "ipc/protocol/errc.hpp"
#include "ipc/protocol/frames.hpp"

namespace ipc {

// Errors from the broker and the client, as std::error_code (category "ipc").
using errc = protocol::errc;
using protocol::make_error_code;
inline const std::error_category& error_category() noexcept { return protocol::category(); }

using headers = std::vector<std::pair<std::string, std::string>>;

// Message attributes (docs/protocol.md §4.1.1) are headers the broker acts on; add these
// to a publish's or send's headers: publish("t", "on", {ipc::retain()}),
// send("jobs", "x", {ipc::time_to_live(std::chrono::seconds(30))}).
// Keep the message as the topic's retained message (publish only; an empty payload clears it).
std::pair<std::string, std::string> retain();
// Expire the message this long after the broker took it (1 ms to one year).
std::pair<std::string, std::string> time_to_live(std::chrono::milliseconds ttl);
// Its priority in a queue with max_priority (0-255, capped at the queue's maximum).
std::pair<std::string, std::string> priority(std::uint8_t level);
// Hold a sent message back: the queue shows it this long after the broker took it, or at
// a given time (send only; up to a year; durable queues keep the time across restarts).
std::pair<std::string, std::string> delay(std::chrono::milliseconds by);
std::pair<std::string, std::string> deliver_at(std::chrono::system_clock::time_point at);
using nack_disposition = protocol::nack_disposition;  // requeue | dead_letter | drop

// An owning copy of a received message (request replies, messages kept past a handler).
struct owned_message {
  std::string topic, reply_to, payload;
  ipc::headers headers;
  std::uint64_t id = 0, timestamp_ns = 0;
  std::uint32_t delivery_count = 0;
};

struct consume_options {
  std::uint32_t prefetch = 0;  // unacked deliveries at once; 0: the broker's default_prefetch
  bool no_ack = false;         // settled when delivered (at-most-once); no ack() needed
};

struct request_options {
  bool to_queue = false;  // the target names a queue (one consumer answers) not a topic
  std::chrono::milliseconds timeout{5000};
  ipc::headers headers;
};

// A last will (docs/protocol.md §3.1.4): published by the broker if the connection ends
// without close() — the process dies, the network goes, keepalive gives up, an
// administrator kills it — after `delay` unless a client with the same user and
// client_name connects first. Sent with every (re)connection's HELLO.
struct will {
  std::string topic;
  std::string payload;
  ipc::headers headers;  // message attributes too, e.g. time_to_live()
  bool retain = false;
  std::chrono::milliseconds delay{0};  // at most a day
};

enum class connection_state { connecting, connected, disconnected, closed };
std::string_view to_string(connection_state state);

struct client_options {
  std::string url;                         // "" → $IPCD_URL, then the default (SPEC §2)
  std::string client_name = "ipc-client";  // shown by `ipcctl conn list`
  // The connection's last will; close() says goodbye first, so the broker drops it.
  std::optional<ipc::will> will;
  // Credentials (docs/protocol.md §3.1.2): a token, else a user and password, else none
  // (mechanism "anonymous": on a Unix socket the broker may know the user by its uid).
  std::string user, password, token;
  // tls://: the CA that signs the broker's certificate (the system store when empty), and
  // a client certificate and key for brokers that ask for one (PEM files).
  std::string tls_ca, tls_cert, tls_key;
  // Shared memory (docs/shared-memory.md): on unix:// the client asks the broker to move
  // the connection to shared-memory rings, which it does when the listener allows it;
  // shm:// always asks and fails when the broker does not switch. `shm_spin_us`: how long
  // the client polls its ring before it sleeps (0: never; spinning needs a CPU to spare).
  bool shared_memory = true;
  std::uint32_t shm_spin_us = 0;
  bool auto_reconnect = true;  // after an established connection drops
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  std::chrono::milliseconds connect_timeout{5000};
  // How long the blocking ipc::Client waits for any answer from the broker.
  std::chrono::milliseconds request_timeout{10000};
  // Output the client buffers before publish() fails with errc::limit_exceeded.
  std::size_t max_pending_bytes = 64 * 1024 * 1024;
  // Called on the client's executor whenever the connection state changes.
  std::function<void(connection_state, std::error_code)> on_state;
  // Errors the broker reports for fire-and-forget operations (publish without confirm).
  std::function<void(std::error_code, std::string_view message)> on_error;
};

// A received message: a view valid only during the handler call. Copy what you keep.
class message {
 public:
  message() = default;
  message(const protocol::message_body& body, std::uint32_t subscription_id,
          std::uint64_t delivery_tag = 0, std::uint32_t delivery_count = 0)
      : body_(body),
        subscription_id_(subscription_id),
        delivery_tag_(delivery_tag),
        delivery_count_(delivery_count) {}

  std::string_view topic() const { return body_.topic; }
  std::string_view reply_to() const { return body_.reply_to; }
  std::string_view payload() const {
    return {reinterpret_cast<const char*>(body_.payload.data()), body_.payload.size()};
  }
  std::span<const std::uint8_t> payload_bytes() const { return body_.payload; }
  std::optional<std::string_view> header(std::string_view key) const;
  ipc::headers headers() const;
  std::uint64_t id() const { return body_.message_id; }
  std::uint64_t timestamp_ns() const { return body_.timestamp_ns; }
  // The subscription or consumer id the message arrived for.
  std::uint32_t subscription_id() const { return subscription_id_; }
  // Queue deliveries: the tag to ack/nack (0 for topic messages and for no_ack consumers'
  // deliveries, which need no ack; a tag from before a reconnection is refused with
  // unknown_delivery) and how often the message was delivered (1 the first time).
  std::uint64_t delivery_tag() const { return delivery_tag_; }
  std::uint32_t delivery_count() const { return delivery_count_; }
  // A topic's retained message, delivered because this subscription is new (ipc-retained).
  bool retained() const;
  // Its ipc-priority (0 when it has none).
  std::uint8_t priority() const;
  // When the message expires (its ipc-ttl after the broker's timestamp); nullopt: never.
  std::optional<std::chrono::system_clock::time_point> expires_at() const;
  owned_message copy() const;

 private:
  protocol::message_body body_;
  std::uint32_t subscription_id_ = 0;
  std::uint64_t delivery_tag_ = 0;
  std::uint32_t delivery_count_ = 0;
};

using message_handler = std::function<void(const message&)>;
// Answers a request: the reply payload, or nullopt to send none.
using reply_function = std::function<std::optional<std::string>(const message&)>;

// A reply with headers, sent later if need be (serve with an async_reply_function).
struct reply {
  std::string payload;
  ipc::headers headers;
};
// Sends the reply to the request it was made for: callable from any thread, at most once
// (later calls do nothing). nullopt answers nothing. A request taken from a queue is acked
// once the reply is queued; a sender dropped without a call leaves it unacknowledged, so
// the broker redelivers it when the connection ends.
using reply_sender = std::function<void(std::optional<reply>)>;
// Answers a request now or later: keep `respond` and call it once.
using async_reply_function = std::function<void(const message&, reply_sender respond)>;

// A queue's options for declare_queue (docs/protocol.md §4.12.4, §4.12.5).
struct queue_options {
  bool durable = false;
  std::uint64_t max_length = 0;            // messages, ready + unacked; 0: no count limit
  std::optional<std::uint64_t> max_bytes;  // stored bytes; absent: the broker's default
  std::string overflow = "reject";         // "reject" | "drop-oldest"
  std::chrono::milliseconds ttl{0};        // message time to live; 0: forever
  std::string dead_letter;                 // queue for expired, rejected, over-delivered
  std::uint32_t max_deliveries = 0;        // dead-letter after this many; 0: unlimited
  bool single_active_consumer = false;     // one consumer receives at a time, in order
  std::uint8_t max_priority = 0;           // 1-10: higher priority() first; 0: plain FIFO
  std::vector<std::string> bind;           // topic patterns whose publishes enqueue a copy
};
// The admin arguments of queue.create for `name` with `options` (a JSON object).
std::string queue_create_args(std::string_view name, const queue_options& options);
// Whether an admin answer of queue.create says the queue was created (not there before).
bool queue_created(std::string_view answer_json);
// The "error" sentence of a refused admin command's answer ("" when there is none).
std::string admin_error(std::string_view answer_json);

// The address a client uses when none is given (SPEC §2): $IPCD_URL, else the
// per-user socket, falling back to the system socket when the former does not exist.
std::string default_url();

}  // namespace ipc
