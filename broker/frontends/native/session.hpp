// One native-protocol connection: the front-end of docs/protocol.md on the core's
// client contract (core/client.hpp). A thin driver of fixed shape (DESIGN rule 2): one
// reader that handles every complete frame of each read, one writer with one gathered
// write in flight, a handshake watchdog, a keepalive loop, and stop() safe to call twice.
// session.cpp drives; session_handshake.cpp authenticates; session_frames.cpp turns
// frames into core calls and core callbacks into frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "access/login_throttle.hpp"
#include "access/password_checker.hpp"
#include "core/client.hpp"
#include "core/refusal.hpp"
#include "frontends/native/consumer_registry.hpp"
#include "frontends/native/session_fsm.hpp"
#include "frontends/output_writer.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::broker {

class broker_core;

class session final : public client,
                      public consumer_owner,
                      public output_writer::connection,
                      public std::enable_shared_from_this<session> {
 public:
  session(broker_core& core, std::unique_ptr<transport::stream> stream, std::uint64_t id,
          std::string listener);
  ~session();

  // Attaches to the core and starts the loops; the session lives until both the read
  // and the write loop have ended, and then detaches. Refused past the connection limit
  // (a fatal ERROR, then close).
  void start();
  // Sends a fatal ERROR after what is queued, then closes (with a deadline).
  void close_with_error(protocol::errc code, std::string_view message);
  // A protocol error of the client's: counted, logged (rate-limited; `context` before
  // the message), then a fatal ERROR with `message`.
  void protocol_error(protocol::errc code, std::string_view message, std::string_view context = {});

  // client (core/client.hpp).
  std::uint64_t id() const override { return id_; }
  const transport::peer_info& peer() const override { return stream_->peer(); }
  std::string_view protocol_name() const override { return "native"; }
  const std::string& listener() const override { return listener_; }
  const std::string& client_name() const override { return client_name_; }
  std::chrono::system_clock::time_point connected_at() const override { return connected_at_; }
  const client_counters& counters() const override { return counters_; }
  std::size_t pending_bytes() const override { return writer_.pending_bytes(); }
  std::size_t shared_memory_bytes() const override { return stream_->shared_memory_bytes(); }
  std::size_t consumer_count() const override { return consumers_.count(); }
  void deliver_message(std::uint32_t sid, const outgoing_message& message) override;
  void confirmed(std::uint32_t ref, std::uint64_t value, errc outcome,
                 std::string_view message) override;
  void replied(std::uint32_t request, std::span<const std::uint8_t> record) override;
  void request_failed(std::uint32_t request, errc code, std::string_view message) override;
  void subscription_ended(std::uint32_t sid, std::string_view pattern,
                          std::string_view message) override;
  void permissions_changed(const permissions& now) override;
  void limits_changed() override;
  void memory_alarm(bool on) override;
  void close(errc code, std::string_view message) override;
  void write_deferred() noexcept override;
  // Closes at once, dropping queued output. Idempotent.
  void stop() override;
  std::string_view close_reason() const override { return close_reason_; }

  // consumer_owner (consumer_registry.hpp).
  void deliver_from_queue(registered_consumer& consumer, std::uint64_t delivery,
                          const stored_message& message) override;
  bool ready_for_more() const override;
  void consumer_queue_deleted(registered_consumer& consumer) override;

 private:
  // Runs `loop` as a coroutine of this session; `counted` loops keep it registered.
  void spawn(asio::awaitable<void> (session::*loop)(), bool counted);
  void on_unexpected(std::exception_ptr error);
  void on_loop_end();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> handshake_watchdog();
  asio::awaitable<void> keepalive_loop();
  void handle_read_batch();
  void handle_frame_safely(const protocol::raw_frame& frame);
  void handle_frame(const protocol::raw_frame& frame);
  void handle_open_frame(const protocol::raw_frame& frame);

  // session_handshake.cpp
  void on_hello(const protocol::raw_frame& frame);
  void auth_failed(const std::string& user, std::string_view reason, protocol::errc code,
                   std::string_view message);
  // The login back-off (access/login_throttle.hpp): the peer's key, and a refusal.
  std::string peer_key() const;
  static std::chrono::steady_clock::time_point now();
  void locked_out(const std::string& user, std::chrono::steady_clock::duration wait);
  asio::awaitable<void> check_password();  // the slow hash, off the I/O thread
  void accept_user(const std::string& user, const std::string& basis);
  // When the HELLO asked: makes the rings (token: for the WELCOME, "" on Linux). False
  // with `refusal` set when the listener allows the switch but it cannot be made (the
  // WELCOME's shm_error); `refusal` stays empty when the listener does not allow it.
  bool offer_shared_memory(std::string& token, std::string& refusal);
  std::uint32_t max_frame_size() const;

  // session_frames.cpp
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
  void refuse(const refusal& refused, std::uint32_t ref);  // a non-fatal ERROR
  void send_ok(std::uint32_t ref, std::uint64_t value = 0);
  void send_error(protocol::errc code, std::uint32_t ref, std::string_view message,
                  bool fatal = false);

  // Output.
  void queue_frame();  // moves frame_scratch_ into the output queue
  void wake_writer();
  // output_writer::connection
  bool stopped() const override { return stopped_; }
  bool draining() const override { return draining_; }
  void written(std::size_t bytes) override;
  bool over_pending_limit(std::size_t more) const;
  void on_slow_consumer();
  void after_write();

  broker_core& core_;
  client_state* state_ = nullptr;  // the core's record of us, from attach to detach
  std::unique_ptr<transport::stream> stream_;
  std::uint64_t id_;
  std::string listener_;
  std::string client_name_;
  struct pending_password {
    std::string user, hash, password, failure;  // failure: what the log says if it fails
    std::string basis;
    password_checker::ticket place;
    login_throttle::in_flight slot;  // this login's place in its user's and peer's checks
  };
  std::optional<pending_password> pending_auth_;  // frames wait while it is checked
  std::unique_ptr<will_message> will_;            // from HELLO until the core has it
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();

  session_fsm fsm_;
  protocol::frame_reader reader_;
  output_writer writer_;
  output_queue& out_;                    // writer_'s
  protocol::byte_buffer frame_scratch_;  // control frames are encoded here first
  asio::steady_timer deadline_;          // handshake and close-after-error deadlines
  asio::steady_timer keepalive_;         // PINGs an idle client, closes a silent one
  asio::steady_timer resume_;            // a paused reader sleeps on it; cancel() wakes it
  bool shm_asked_ = false;               // the HELLO's shm property (docs/shared-memory.md §4)
  bool shm_takes_token_ = false;         // and its shm_token: it can open a named segment
  bool reading_paused_ = false;          // a publish met the memory alarm: read on once it clears
  bool stopped_ = false;
  bool draining_ = false;                // no more reading; close once the queue is written
  const char* close_reason_ = "client";  // the first fatal error's kind, else "client"
  int loops_running_ = 0;
  client_counters counters_;
  consumer_registry consumers_;
  mutable bool congested_ = false;  // a queue skipped us for lack of room: resume after a write
};

}  // namespace ipc::broker
