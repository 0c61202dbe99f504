// One client connection: a thin driver of fixed shape (DESIGN rule 2) — one reader that
// parses every complete frame of each read, one writer with one gathered write in
// flight, a handshake watchdog, and stop() safe to call twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "access/permissions.hpp"
#include "core/route_target.hpp"
#include "frontends/native/session_fsm.hpp"
#include "frontends/output_queue.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/transport/stream.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

class broker_core;
class session;

// A consumer attached to a queue through a session (CONSUME, docs/protocol.md §4.10.2).
class session_consumer final : public queue_consumer {
 public:
  session_consumer(session& owner, std::uint32_t cid, std::shared_ptr<queue> source, bool no_ack)
      : owner_(owner), cid_(cid), queue_(std::move(source)), no_ack_(no_ack) {}
  void deliver(queue& from, std::uint64_t delivery, const stored_message& message) override;
  bool ready_for_more() const override;
  void queue_deleted(queue& from) override;

  std::uint32_t cid() const { return cid_; }
  queue& source() { return *queue_; }
  bool no_ack() const { return no_ack_; }

 private:
  session& owner_;
  std::uint32_t cid_;
  std::shared_ptr<queue> queue_;
  bool no_ack_;
};

struct session_counters {
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::uint64_t messages_in = 0, messages_out = 0;
  std::uint64_t dropped = 0;  // topic messages dropped (limits.slow_consumer = drop)
};

class session final : public routing::route_target, public std::enable_shared_from_this<session> {
 public:
  session(broker_core& core, std::unique_ptr<transport::stream> stream, std::uint64_t id,
          std::string listener);
  ~session();

  // Starts the read and write loops; the session lives until both have ended.
  void start();
  // Closes at once, dropping queued output. Idempotent.
  void stop();
  // Sends a fatal ERROR after what is queued, then closes (with a deadline).
  void close_with_error(protocol::errc code, std::string_view message);

  void deliver_message(std::uint32_t sid, const outgoing_message& message) override;
  // Queue side (called through session_consumer).
  void deliver_from_queue(session_consumer& consumer, std::uint64_t delivery,
                          const stored_message& message);
  bool ready_for_more() const;
  void consumer_cancelled(std::uint32_t cid);
  // Detaches every consumer (their unacked messages are requeued); on close.
  void detach_consumers();
  // After a reload changed the auth section: closes the connection when what vouched for
  // its user no longer does, else takes the user's new permissions and ends the
  // subscriptions and consumers they no longer allow (each with a non-fatal ERROR).
  void reauthorize();
  // After a reload changed the limits: the frame size limit follows the new ones.
  void limits_changed();
  // RESPONSE to one of this session's requests (docs/protocol.md §4.11.2).
  void send_response(std::uint32_t id, std::span<const std::uint8_t> body);
  void send_ok(std::uint32_t ref, std::uint64_t value = 0);
  void send_error(protocol::errc code, std::uint32_t ref, std::string_view message,
                  bool fatal = false);
  // Open requests of this connection: request id → reply address.
  std::unordered_map<std::uint32_t, std::string>& open_requests() { return open_requests_; }

  std::uint64_t id() const { return id_; }
  const transport::peer_info& peer() const { return stream_->peer(); }
  const std::string& listener() const { return listener_; }
  const std::string& user() const { return user_; }
  const permissions& perms() const { return *perms_; }
  const std::string& client_name() const { return client_name_; }
  const session_counters& counters() const { return counters_; }
  std::chrono::system_clock::time_point connected_at() const { return connected_at_; }
  std::size_t pending_bytes() const { return out_.pending_bytes() + in_flight_.bytes; }
  std::unordered_map<std::uint32_t, std::string>& subscriptions() { return subscriptions_; }
  // Consumers, including cancelled ones still holding unacked deliveries.
  std::size_t consumer_count() const { return consumers_.size() + cancelled_.size(); }

 private:
  // Runs `loop` as a coroutine of this session; `counted` loops keep it registered.
  void spawn(asio::awaitable<void> (session::*loop)(), bool counted);
  void on_unexpected(std::exception_ptr error);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> handshake_watchdog();
  asio::awaitable<void> keepalive_loop();
  void handle_read_batch();
  void handle_frame_safely(const protocol::raw_frame& frame);
  void handle_frame(const protocol::raw_frame& frame);
  void handle_open_frame(const protocol::raw_frame& frame);
  void on_hello(const protocol::raw_frame& frame);
  // Accepts the connection as `user`: per-user limit, WELCOME, events.
  void accept_user(const std::string& user, const std::string& basis);
  asio::awaitable<void> check_password();  // the slow hash, off the I/O thread
  bool denied(bool allowed, std::uint32_t ref, const std::string& what);
  void on_publish(const protocol::raw_frame& frame);
  void on_subscribe(const protocol::raw_frame& frame);
  void on_unsubscribe(const protocol::raw_frame& frame);
  void on_admin(const protocol::raw_frame& frame);
  void on_ping(const protocol::raw_frame& frame);
  void on_send(const protocol::raw_frame& frame);
  void on_consume(const protocol::raw_frame& frame);
  void on_cancel(const protocol::raw_frame& frame);
  void on_ack(const protocol::raw_frame& frame);
  void on_nack(const protocol::raw_frame& frame);
  void on_request(const protocol::raw_frame& frame);
  void remove_consumer(std::uint32_t cid);
  void release_if_cancelled(session_consumer* consumer);
  void after_write();
  void queue_frame();  // moves frame_scratch_ into the output queue
  void wake_writer();
  bool over_pending_limit(std::size_t more) const;
  void on_slow_consumer();
  void on_loop_end();

  broker_core& core_;
  std::unique_ptr<transport::stream> stream_;
  std::uint64_t id_;
  std::string listener_;
  std::string user_;
  std::string client_name_;
  std::string auth_basis_;  // auth_decision::basis, "" until authenticated
  std::shared_ptr<const permissions> perms_;
  struct pending_password {
    std::string user, hash, password, failure;  // failure: what the log says if it fails
    std::string basis;
  };
  std::optional<pending_password> pending_auth_;  // frames wait while it is checked
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();

  session_fsm fsm_;
  protocol::frame_reader reader_;
  output_queue out_;
  output_queue::batch in_flight_;
  protocol::byte_buffer frame_scratch_;  // control frames are encoded here first
  asio::steady_timer wake_;              // the writer sleeps on it; cancel() wakes it
  asio::steady_timer deadline_;          // handshake and close-after-error deadlines
  asio::steady_timer keepalive_;         // PINGs an idle client, closes a silent one
  bool writer_waiting_ = false;
  bool stopped_ = false;
  bool draining_ = false;  // no more reading; close once the queue is written
  int loops_running_ = 0;
  session_counters counters_;
  std::unordered_map<std::uint32_t, std::string> subscriptions_;  // sid → pattern
  std::unordered_map<std::uint32_t, std::unique_ptr<session_consumer>> consumers_;  // by cid
  struct tag_entry {
    session_consumer* consumer;
    std::uint64_t delivery;  // the queue's id of the delivery
  };
  std::unordered_map<std::uint64_t, tag_entry> tags_;  // unacked deliveries by tag
  std::uint64_t last_tag_ = 0;
  std::vector<std::unique_ptr<session_consumer>> retired_;  // cancelled by a queue delete
  // Cancelled by the client: no more deliveries, but its unacked ones can still be
  // settled; what is left is requeued when the connection ends.
  std::vector<std::unique_ptr<session_consumer>> cancelled_;
  mutable bool congested_ = false;  // a queue skipped us for lack of room: resume after a write
  std::unordered_map<std::uint32_t, std::string> open_requests_;
};

}  // namespace ipc::broker
