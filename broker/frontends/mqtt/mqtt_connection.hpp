// One MQTT 3.1, 3.1.1 or 5 connection (docs/mqtt.md): the MQTT front-end on the core's
// client contract (core/client.hpp), a sibling of the native session with the same fixed
// shape (DESIGN rule 2): one reader, one writer with one gathered write in flight, a
// watchdog for CONNECT and keep alive, and stop() safe to call twice.
// mqtt_connection.cpp drives; mqtt_connect.cpp logs in (CONNECT, CONNACK, takeover, will);
// mqtt_publish.cpp carries messages both ways with their QoS flows; mqtt_subscribe.cpp
// handles SUBSCRIBE and UNSUBSCRIBE.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "access/login_throttle.hpp"
#include "access/password_checker.hpp"
#include "core/client.hpp"
#include "core/refusal.hpp"
#include "frontends/mqtt/mqtt_mapping.hpp"
#include "frontends/mqtt/mqtt_registry.hpp"
#include "frontends/output_writer.hpp"
#include "ipc/mqtt/codec.hpp"
#include "ipc/transport/stream.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

class broker_core;

class mqtt_connection final : public client,
                              public output_writer::connection,
                              public std::enable_shared_from_this<mqtt_connection> {
 public:
  mqtt_connection(broker_core& core, std::shared_ptr<mqtt_registry> registry,
                  std::unique_ptr<transport::stream> stream, std::uint64_t id,
                  std::string listener);
  ~mqtt_connection();

  // Attaches to the core and starts the loops; refused past the connection limit (the
  // CONNECT is then answered with Server unavailable / Quota exceeded).
  void start();
  // Another connection CONNECTed with this one's client identifier (MQTT 5 §3.1.4-3).
  void taken_over();

  // client (core/client.hpp).
  std::uint64_t id() const override { return id_; }
  const transport::peer_info& peer() const override { return stream_->peer(); }
  std::string_view protocol_name() const override { return "mqtt"; }
  const std::string& listener() const override { return listener_; }
  const std::string& client_name() const override { return client_id_; }
  std::chrono::system_clock::time_point connected_at() const override { return connected_at_; }
  const client_counters& counters() const override { return counters_; }
  std::size_t pending_bytes() const override { return writer_.pending_bytes() + waiting_bytes_; }
  std::size_t consumer_count() const override { return 0; }
  void deliver_message(std::uint32_t sid, const outgoing_message& message) override;
  void confirmed(std::uint32_t ref, std::uint64_t value, errc outcome,
                 std::string_view message) override;
  void replied(std::uint32_t, std::span<const std::uint8_t>) override {}
  void request_failed(std::uint32_t, errc, std::string_view) override {}
  void subscription_ended(std::uint32_t sid, std::string_view pattern,
                          std::string_view message) override;
  void permissions_changed(const permissions&) override {}
  void limits_changed() override;
  void memory_alarm(bool on) override;
  void close(errc code, std::string_view message) override;
  void write_deferred() noexcept override;
  void stop() override;
  std::string_view close_reason() const override { return close_reason_; }

 private:
  // A subscription of this connection's session, by topic filter: a core subscription,
  // or (QoS 1 and 2 in a persistent session) a binding into the session's queue.
  struct subscription : mqtt_subscription_options {
    std::uint32_t sid = 0;  // the core's subscription id, or ours for a binding
    bool bound = false;     // a binding into the session queue
    bool shared = false;    // $share/GROUP/FILTER: a consumer of the group's queue
  };
  // The session queue's consumer (a persistent session while connected).
  class session_consumer final : public queue_consumer {
   public:
    explicit session_consumer(mqtt_connection& owner) : owner_(owner) {}
    void deliver(queue& from, std::uint64_t delivery, const stored_message& message) override {
      owner_.deliver_from_queue(from, delivery, message);
    }
    bool ready_for_more() const override { return owner_.ready_for_more(); }
    void queue_deleted(queue& from) override { owner_.session_queue_deleted(from); }

   private:
    mqtt_connection& owner_;
  };
  // A shared subscription's consumer of its group's queue (docs/mqtt.md §4.3.1).
  class share_consumer final : public queue_consumer {
   public:
    share_consumer(mqtt_connection& owner, std::string filter, std::shared_ptr<queue> source)
        : owner_(owner), filter_(std::move(filter)), source_(std::move(source)) {}
    void deliver(queue& from, std::uint64_t delivery, const stored_message& message) override {
      owner_.deliver_shared(*this, from, delivery, message);
    }
    bool ready_for_more() const override { return owner_.ready_for_more(); }
    void queue_deleted(queue&) override { owner_.share_queue_deleted(*this); }
    const std::string& filter() const { return filter_; }
    const std::shared_ptr<queue>& source() const { return source_; }

   private:
    mqtt_connection& owner_;
    std::string filter_;  // the whole $share/GROUP/FILTER
    std::shared_ptr<queue> source_;
  };
  struct queue_delivery {
    std::uint64_t delivery = 0;    // the queue's id of the delivery
    std::uint64_t message_id = 0;  // the message's id (its packet id is kept by it)
    std::string share;             // the shared subscription's filter; "" = the session queue
  };
  // A QoS 1/2 delivery waiting for room in the in-flight window.
  struct waiting_delivery {
    std::vector<std::uint8_t> record;
    std::uint8_t qos = 1;
    bool retain = false;
    std::uint32_t subscription_id = 0;
    std::uint64_t expires_at_ms = 0;
  };
  enum class outbound_state : std::uint8_t { puback, pubrec, pubcomp };

  // mqtt_connection.cpp
  void spawn(asio::awaitable<void> (mqtt_connection::*loop)(), bool counted);
  void on_unexpected(std::exception_ptr error);
  void on_loop_end();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> watchdog();
  void handle_read_batch();
  void handle_packet_safely(const mqtt::raw_packet& packet);
  void handle_packet(const mqtt::raw_packet& packet);
  // Ends the connection for a protocol error of the client's: counted, logged
  // (rate-limited), an MQTT 5 DISCONNECT with `code` and `message`, then close.
  void protocol_error(mqtt::reason code, std::string_view message);
  // Sends DISCONNECT (MQTT 5, once connected) after what is queued, then closes.
  void close_with(mqtt::reason code, std::string_view message);
  void queue_packet();  // moves scratch_ into the output
  void wake_writer();
  // output_writer::connection
  bool stopped() const override { return stopped_; }
  bool draining() const override { return draining_; }
  void written(std::size_t bytes) override;
  bool over_pending_limit(std::size_t more) const;
  void on_slow_consumer();
  std::uint32_t max_packet_size() const;  // the broker's Maximum Packet Size
  bool v5() const { return version_ == mqtt::version::v5; }

  // mqtt_connect.cpp
  void on_connect(const mqtt::raw_packet& packet);
  void refuse_connect(mqtt::reason code, std::string_view message);
  void auth_failed(const std::string& user, std::string_view reason, mqtt::reason code);
  asio::awaitable<void> check_password();
  void accept_user(const std::string& user, const std::string& basis);
  void on_disconnect(const mqtt::raw_packet& packet);

  // mqtt_publish.cpp
  void on_publish(const mqtt::raw_packet& packet);
  void answer_publish(std::uint8_t qos, std::uint16_t packet_id, mqtt::reason code,
                      std::string_view message);
  void on_ack(const mqtt::raw_packet& packet);  // PUBACK, PUBREC, PUBREL, PUBCOMP
  void send_ack(mqtt::packet_type type, std::uint16_t packet_id, mqtt::reason code,
                std::string_view message = {});
  // One delivery: QoS 0 goes out now, QoS 1/2 when the window has room.
  void deliver(const mqtt_outbound& m, std::span<const std::uint8_t> body, std::uint8_t qos,
               bool retain, std::uint32_t subscription_id, std::uint64_t expires_at_ms);
  // Encodes and queues one PUBLISH; returns its packet id (0 for QoS 0, or when it was
  // dropped). `packet_id` and `dup`: a redelivery's own.
  std::uint16_t send_publish(const mqtt_outbound& m, std::uint8_t qos, bool retain,
                             std::uint32_t subscription_id, std::uint64_t expires_at_ms,
                             std::uint16_t packet_id = 0, bool dup = false);
  // The acknowledgement of packet `packet_id` settles the queue delivery it carried.
  void settle_queue_delivery(std::uint16_t packet_id);
  std::uint16_t next_packet_id();
  void send_waiting();  // fills the window from waiting_
  void drop_waiting();  // forgets waiting_ (the connection ends)

  // mqtt_subscribe.cpp
  void on_subscribe(const mqtt::raw_packet& packet);
  void on_unsubscribe(const mqtt::raw_packet& packet);
  // Adds or changes a subscription (core subscription or binding); a refusal says why.
  refusal apply_subscription(std::string_view filter, const mqtt_subscription_options& options,
                             bool& is_new);
  void remove_subscription(std::map<std::string, subscription, std::less<>>::iterator found);
  void save_subscriptions();  // into the persistent session's record

  // mqtt_session.cpp: persistent sessions (docs/mqtt.md §3.4).
  // Takes over or makes the session for this CONNECT; false when it cannot be made.
  bool open_session(const std::string& user, bool clean_start, bool& present);
  // After CONNACK: the session's subscriptions, consumer and unfinished flows come back.
  void restore_session();
  // The connection ends (or is taken over): unacknowledged deliveries go back to the
  // queue, the flows' state to the record.
  void leave_session();
  void deliver_from_queue(queue& from, std::uint64_t delivery, const stored_message& message);
  // A delivery of a queue (`share` names a shared subscription, "" the session queue):
  // sent at `max_qos` at most, settled at once when it needs no acknowledgement.
  void deliver_queued(const std::string& share, std::uint64_t delivery,
                      const stored_message& message, std::uint8_t max_qos, bool retain_as_published,
                      std::uint32_t identifier, bool skip);
  // The queue and consumer a delivery came through, or nulls when they are gone.
  std::pair<queue*, queue_consumer*> source_of(const std::string& share);
  bool ready_for_more() const;
  void session_queue_deleted(queue& from);
  void after_write();
  void settle_later(const std::string& share, std::uint64_t delivery);  // once the queue is done

  // mqtt_shared.cpp: shared subscriptions (docs/mqtt.md §4.3.1).
  refusal open_share(std::string_view filter, std::string_view group, std::string_view topics,
                     std::size_t held);
  void close_share(const std::string& filter);
  void deliver_shared(share_consumer& consumer, queue& from, std::uint64_t delivery,
                      const stored_message& message);
  void share_queue_deleted(share_consumer& consumer);

  broker_core& core_;
  std::shared_ptr<mqtt_registry> registry_;
  client_state* state_ = nullptr;  // the core's record of us, from attach to detach
  std::unique_ptr<transport::stream> stream_;
  std::uint64_t id_;
  std::string listener_;
  std::string client_id_;
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  mqtt::version version_ = mqtt::version::v311;
  bool connected_ = false;        // CONNACK (success) queued
  bool connect_seen_ = false;     // a CONNECT came (a second one is a protocol error)
  bool holds_client_id_ = false;  // the registry has us under client_id_
  std::uint16_t keep_alive_s_ = 0;
  bool server_keep_alive_ = false;  // keep_alive_s_ is the broker's (mqtt.max_keepalive)
  struct pending_password {
    std::string user, hash, password, failure;
    std::string basis;
    password_checker::ticket place;
    login_throttle::in_flight slot;
  };
  std::optional<pending_password> pending_auth_;  // packets wait while it is checked
  std::unique_ptr<will_message> will_;            // from CONNECT until the core has it
  bool assigned_id_ = false;                      // client_id_ was made by the broker
  std::uint32_t session_expiry_s_ = 0;            // as granted in CONNACK
  // Refused by the core at attach: the CONNECT is answered with this, then closed.
  std::optional<mqtt::reason> refused_at_attach_;
  std::string refusal_message_;

  // Limits the client set in CONNECT (MQTT 5).
  std::uint32_t client_max_packet_ = mqtt::max_remaining_length + 5;
  std::uint16_t client_alias_max_ = 0;
  std::uint16_t window_ = 1;  // QoS 1/2 deliveries in flight at most

  // The session (clean: it ends with the connection).
  std::map<std::string, subscription, std::less<>> subscriptions_;  // by filter
  std::unordered_map<std::uint32_t, std::string> filters_;          // sid → filter
  std::uint32_t last_sid_ = 0;
  std::unordered_map<std::uint16_t, outbound_state> outbound_;  // packet id → awaiting
  std::deque<waiting_delivery> waiting_;
  std::size_t waiting_bytes_ = 0;
  std::uint16_t last_packet_id_ = 0;
  std::unordered_set<std::uint16_t> inbound_qos2_;  // PUBREL awaited
  std::uint32_t confirms_pending_ = 0;              // QoS 1/2 publishes not yet answered
  std::vector<std::string> inbound_aliases_;        // topic alias → topic (MQTT 5)
  std::unordered_map<std::string, std::uint16_t> outbound_aliases_;  // topic → alias
  bool publishing_ = false;  // inside core_.publish(): deliveries are our own (no-local)
  bool clean_start_ = true;

  // A persistent session (null for a clean one).
  std::shared_ptr<mqtt_session_record> session_;
  std::shared_ptr<queue> session_queue_;
  session_consumer consumer_{*this};
  std::unordered_map<std::uint16_t, queue_delivery> queue_deliveries_;  // by packet id
  std::vector<std::pair<std::string, std::uint64_t>> settle_soon_;      // after the dispatch
  std::map<std::string, std::unique_ptr<share_consumer>, std::less<>> shares_;  // by filter
  std::deque<std::uint64_t> own_ids_;  // ids of this connection's latest publishes (no local)
  std::unordered_set<std::uint64_t> own_id_set_;
  mutable bool congested_ = false;  // the queue skipped us for lack of room

  mqtt::packet_reader reader_;
  output_writer writer_;
  output_queue& out_;  // writer_'s
  std::shared_ptr<memory_gauge>
      core_memory_;            // counts waiting_ (a connection may outlive the core)
  mqtt::byte_buffer scratch_;  // control packets are encoded here first
  mqtt_headers headers_;
  mqtt_outbound outbound_scratch_;
  asio::steady_timer deadline_;  // CONNECT, keep alive and close-after-error deadlines
  asio::steady_timer resume_;    // a paused reader sleeps on it
  std::chrono::steady_clock::time_point last_heard_ = std::chrono::steady_clock::now();
  bool reading_paused_ = false;
  bool stopped_ = false;
  bool draining_ = false;                // no more reading; close once the output is written
  const char* close_reason_ = "client";  // client::close_reason
  int loops_running_ = 0;
  client_counters counters_;
};

}  // namespace ipc::broker
