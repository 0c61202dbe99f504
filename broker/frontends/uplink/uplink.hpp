// One uplink to a NATS cluster (docs/uplinks.md): a client of the core (core/client.hpp)
// that the broker runs itself, bridging its nats_link to the local topics and queues.
// uplink.cpp: life cycle, the client contract, the report. uplink_export.cpp: local
// messages out (subscriptions of the export rules, the durable spool queue, requests to
// NATS). uplink_import.cpp: NATS messages in (import rules, duplicates and echoes dropped,
// replies, requests from NATS answered by local responders).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <spdlog/logger.h>
#include <asio/any_io_executor.hpp>
#include <nlohmann/json_fwd.hpp>

#include "core/client.hpp"
#include "frontends/uplink/nats_link.hpp"
#include "ipc/config/config.hpp"
#include "ipc/message/record.hpp"
#include "ipc/nats/client_ops.hpp"
#include "queues/queue.hpp"

namespace ipc::broker {

class broker_core;

struct uplink_counters {
  std::uint64_t exported = 0, imported = 0;              // messages each way
  std::uint64_t exported_bytes = 0, imported_bytes = 0;  // payload bytes each way
  std::uint64_t dropped_down = 0;       // non-durable exports while the link was down
  std::uint64_t dropped_too_large = 0;  // over the server's max_payload
  std::uint64_t dropped_slow = 0;       // non-durable exports past the output bound
  std::uint64_t duplicates = 0;         // durable messages seen before (dedupe window)
  std::uint64_t echoes = 0;             // our own messages come back, dropped
  std::uint64_t refused = 0;            // imports the core refused (topic, permission, …)
  std::uint64_t requests_out = 0, requests_in = 0;  // requests sent to / taken from NATS
};

class uplink final : public client,
                     public nats_link_events,
                     public std::enable_shared_from_this<uplink> {
 public:
  uplink(broker_core& core, const config::uplink& settings, std::string instance_id,
         asio::any_io_executor executor, std::uint64_t id, std::shared_ptr<spdlog::logger> logger);
  ~uplink();

  // Attaches to the core, subscribes the export rules, prepares the spool and starts the
  // link; false with `error` when the core refuses (a pattern the local user may not use).
  bool start(std::string& error);
  // Ends the link and detaches; what is spooled stays in the spool queue.
  void shut_down();
  const config::uplink& settings() const { return settings_; }
  // The uplink's state, counters and spool for `ipcctl uplink list` and the metrics.
  nlohmann::json describe() const;
  // The durable spool's queue name.
  static std::string spool_name(const std::string& uplink_name) { return "uplink." + uplink_name; }

  // client (core/client.hpp)
  std::uint64_t id() const override { return id_; }
  const transport::peer_info& peer() const override { return peer_; }
  std::string_view protocol_name() const override { return "nats-uplink"; }
  const std::string& listener() const override { return display_; }
  const std::string& client_name() const override { return settings_.name; }
  std::chrono::system_clock::time_point connected_at() const override { return started_at_; }
  const client_counters& counters() const override { return client_counters_; }
  std::size_t pending_bytes() const override { return link_ ? link_->pending_bytes() : 0; }
  std::size_t consumer_count() const override { return spool_ ? 1 : 0; }
  void deliver_message(std::uint32_t sid, const outgoing_message& message) override;
  bool remote() const override { return true; }
  bool has_responders() const override { return link_ && link_->up(); }
  void confirmed(std::uint32_t, std::uint64_t, errc, std::string_view) override {}
  void replied(std::uint32_t request, std::span<const std::uint8_t> record) override;
  void request_failed(std::uint32_t request, errc code, std::string_view message) override;
  void subscription_ended(std::uint32_t sid, std::string_view pattern,
                          std::string_view message) override;
  void permissions_changed(const permissions&) override {}
  void limits_changed() override {}
  void memory_alarm(bool) override {}
  void close(errc code, std::string_view message) override;
  void stop() override;
  std::string_view close_reason() const override { return close_reason_; }

  // nats_link_events
  void link_up() override;
  void link_down(std::string_view why) override;
  void link_message(const nats::server_op& op) override;
  void link_flushed(std::uint64_t mark) override;
  void link_wrote() override;

 private:
  // The spool queue's consumer while the link is up.
  class spool_consumer final : public queue_consumer {
   public:
    explicit spool_consumer(uplink& owner) : owner_(owner) {}
    void deliver(queue& from, std::uint64_t delivery, const stored_message& message) override {
      owner_.send_spooled(from, delivery, message);
    }
    bool ready_for_more() const override { return owner_.link_ready(); }
    void queue_deleted(queue&) override { owner_.spool_deleted(); }
    bool remote() const override { return true; }

   private:
    uplink& owner_;
  };
  struct in_flight {
    std::uint64_t seq;       // in sending order (link_flushed marks)
    std::uint64_t delivery;  // the spool queue's
  };
  struct pending_request {  // a local request sent to NATS, by inbox token
    std::string address;    // the core's reply address
    std::uint64_t deadline_ms;
  };

  // uplink_export.cpp
  bool prepare_spool(std::string& error);
  void attach_spool();
  void detach_spool();
  void send_spooled(queue& from, std::uint64_t delivery, const stored_message& message);
  bool link_ready() const;
  void spool_deleted();
  // Writes one message as PUB / HPUB; false when it cannot go (too large, headers).
  bool publish(const message_record::fields& record, std::string_view prefix,
               std::string_view message_id);
  std::string reply_subject(std::string_view reply_to, std::string_view prefix);
  // The NATS header block of a record going up: its headers, Ipc-Origin and, for a
  // spooled message, its ids; built in headers_, whose buffer every message reuses.
  const std::string& nats_headers(const message_record::fields& record,
                                  std::string_view message_id);
  void request_flush();
  const config::uplink_export* durable_rule_for(std::string_view topic) const;

  // uplink_import.cpp
  void subscribe_imports();
  void import_message(const config::uplink_import& rule, const nats::server_op& op);
  void take_reply(const nats::server_op& op);
  bool seen_before(std::string_view message_id);
  void answer_request(std::string_view reply_subject, std::span<const std::uint8_t> record);
  void expire_requests();

  broker_core& core_;
  config::uplink settings_;
  std::string instance_id_;  // this broker's, in Ipc-Origin (echo check) and message ids
  asio::any_io_executor executor_;
  std::uint64_t id_;
  std::string display_;  // "uplink NAME"
  transport::peer_info peer_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<nats_link> link_;
  client_state* state_ = nullptr;
  std::chrono::system_clock::time_point started_at_ = std::chrono::system_clock::now();
  client_counters client_counters_;
  uplink_counters counters_;
  std::string close_reason_ = "shutdown";
  bool stopped_ = false;

  // Export side.
  std::shared_ptr<queue> spool_;
  spool_consumer consumer_{*this};
  bool consuming_ = false;
  std::deque<in_flight> in_flight_;
  std::uint64_t sent_seq_ = 0, flushed_seq_ = 0;
  std::uint64_t last_exported_id_ = 0;
  std::string subject_;         // the subject being written (reused)
  nats::header_block headers_;  // the header block being written (reused)  // overlapping rules
                                // deliver one message twice
  mutable bool spool_waiting_ = false;  // the spool stopped for output room: wake it after a write
  bool flush_posted_ = false;
  std::string inbox_prefix_;  // "_INBOX.<random>.": replies to our requests
  std::uint64_t next_token_ = 0;
  std::unordered_map<std::string, pending_request> requests_out_;
  std::deque<std::string> request_order_;  // tokens, oldest first (bounded)

  // Import side.
  std::vector<std::size_t> sid_rules_;  // NATS sid - 2 → import rule index (sid 1: inbox)
  std::unordered_set<std::string> seen_;
  std::deque<std::string> seen_order_;
  std::uint32_t next_request_ = 0;
  std::unordered_map<std::uint32_t, std::string> requests_in_;  // request id → NATS reply subject
  std::vector<std::uint8_t> header_bytes_;  // the record map of an import's headers
};

}  // namespace ipc::broker
