// broker_core's retained messages (docs/protocol.md §4.2.1): the store's side of publish
// and subscribe, its durable records (queue id 0 in the log), expiry, the admin commands.
#include <chrono>

#include <nlohmann/json.hpp>

#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "core/json_text.hpp"
#include "ipc/routing/topic.hpp"
#include "queues/queue_manager.hpp"
#include "queues/queue_store.hpp"

namespace ipc::broker {

namespace {

std::uint64_t unix_now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Steady-clock expiry ↔ wall-clock expiry, for the log (which outlives the process).
std::uint64_t to_unix(std::uint64_t expires_at_ms) {
  if (expires_at_ms == 0) return 0;
  auto now = queue_manager::now_ms();
  return unix_now_ms() + (expires_at_ms > now ? expires_at_ms - now : 0);
}

bool keep_all(std::string_view) { return true; }

}  // namespace

refusal broker_core::retained_room(const message_in& m) const {
  if (m.payload.empty()) return {};  // clearing always fits
  // The stored record: the message's plus the ipc-retained header (2 + 12 + 2 + 1 bytes).
  auto bytes = record_size(m) + 17;
  auto problem =
      retained_.room_for(m.topic, bytes, limits_.max_retained, limits_.max_retained_bytes);
  if (problem.empty()) return {};
  return {errc::limit_exceeded, std::move(problem)};
}

void broker_core::retain(const message_in& m, std::uint64_t id, std::uint64_t timestamp_ns,
                         std::uint64_t expires_at_ms) {
  // New subscribers get the record with ipc-retained: 1 added; it is encoded here once.
  scratch_body_.clear();
  encode_record(scratch_body_, id, timestamp_ns, m);
  message_record::fields f;
  message_record::decode_record(scratch_body_, f);
  const std::pair<std::string_view, std::string_view> marker[] = {
      {message_record::attribute::retained, "1"}};
  retained_store::entry e;
  e.record = pool_.acquire();
  message_record::encode_rewritten(e.record.get()->buffer(), f, keep_all, marker);
  e.message_id = id;
  e.expires_at_ms = expires_at_ms;
  if (auto* store = queues_->store())
    e.segment = store->store_other(retained_queue_id, id, to_unix(expires_at_ms), e.record.bytes());
  auto previous = retained_.put(m.topic, std::move(e));
  if (previous && previous->segment != 0)
    if (auto* store = queues_->store())
      store->settle_other(retained_queue_id, previous->message_id, previous->segment);
}

void broker_core::clear_retained(std::string_view topic) {
  auto previous = retained_.remove(topic);
  if (previous && previous->segment != 0)
    if (auto* store = queues_->store())
      store->settle_other(retained_queue_id, previous->message_id, previous->segment);
}

void broker_core::send_retained(client_state& s, std::uint32_t sid) {
  if (retained_.count() == 0) return;
  auto found = s.subscriptions_.find(sid);
  if (found == s.subscriptions_.end()) return;
  send_retained(s, sid, found->second);
}

void broker_core::send_retained(client_state& s, std::uint32_t sid, std::string_view pattern) {
  if (retained_.count() == 0) return;
  retained_.for_each_match(pattern, queue_manager::now_ms(),
                           [&](const std::string& topic, const retained_store::entry& e) {
                             // A subscription to '#' that the user may make does not open topics
                             // the user may not subscribe to one by one (docs/security.md §3).
                             if (!s.perms().may_subscribe(topic)) return;
                             outgoing_message message;
                             message.body = e.record.bytes();
                             if (message.body.size() > inline_body_limit)
                               message.shared = &e.record;
                             message.message_id = e.message_id;
                             message.expires_at_ms = e.expires_at_ms;
                             message.retained = true;
                             s.owner().deliver_message(sid, message);
                           });
}

void broker_core::restore_retained() {
  auto* store = queues_->store();
  if (store == nullptr) return;
  store->set_holder([this, store](std::uint32_t head) {
    retained_.for_each([&](const std::string&, retained_store::entry& e) {
      if (e.segment != head) return;
      e.segment = store->relocate_other(retained_queue_id, e.message_id, to_unix(e.expires_at_ms),
                                        e.record.bytes(), head);
    });
  });
  auto now_unix = unix_now_ms();
  auto now = queue_manager::now_ms();
  std::size_t restored = 0;
  for (auto& recovered : queues_->take_retained()) {  // in message id order
    message_record::fields f;
    bool expired = recovered.expires_unix_ms != 0 && recovered.expires_unix_ms <= now_unix;
    if (expired || !message_record::decode_record(recovered.body, f)) {
      store->settle_other(retained_queue_id, recovered.id, recovered.segment);
      continue;
    }
    retained_store::entry e;
    e.record = pool_.acquire();
    e.record.get()->buffer() = std::move(recovered.body);
    e.message_id = recovered.id;
    e.segment = recovered.segment;
    if (recovered.expires_unix_ms != 0)
      e.expires_at_ms = now + (recovered.expires_unix_ms - now_unix);
    std::string topic(f.topic);
    // A later record of the same topic replaces an earlier one (a crash between writing
    // the new record and settling the old leaves both).
    auto previous = retained_.put(topic, std::move(e));
    if (previous) store->settle_other(retained_queue_id, previous->message_id, previous->segment);
    ++restored;
  }
  if (restored > 0) logger_->info("storage: {} retained message(s) restored", retained_.count());
}

void broker_core::expire_retained() {
  retained_.expire(queue_manager::now_ms(), [&](const std::string&, retained_store::entry& e) {
    if (e.segment != 0)
      if (auto* store = queues_->store())
        store->settle_other(retained_queue_id, e.message_id, e.segment);
  });
}

std::string broker_core::admin_retained(std::string_view command, const nlohmann::json& args,
                                        errc& status) {
  using nlohmann::json;
  auto fail = [&](errc code, const std::string& message) {
    status = code;
    return json_text(json{{"error", message}, {"code", errc_name(code)}});
  };
  if (command == "retained.list") {
    std::string pattern = "#";
    if (args.contains("pattern")) {
      if (!args["pattern"].is_string())
        return fail(errc::invalid_argument, "pattern must be a string");
      pattern = args["pattern"].get<std::string>();
    }
    if (routing::check_pattern(pattern, name_limits_) != routing::topic_error::none)
      return fail(errc::invalid_pattern, "invalid pattern '" + pattern + "'");
    auto now = queue_manager::now_ms();
    json list = json::array();
    retained_.for_each_match(pattern, now,
                             [&](const std::string& topic, const retained_store::entry& e) {
                               message_record::fields f;
                               message_record::decode_record(e.record.bytes(), f);
                               json item{{"topic", topic},
                                         {"message_id", e.message_id},
                                         {"timestamp_ns", f.timestamp_ns},
                                         {"payload_bytes", f.payload.size()},
                                         {"bytes", e.record.bytes().size()}};
                               if (e.expires_at_ms != 0)
                                 item["expires_in_ms"] = e.expires_at_ms - now;
                               list.push_back(std::move(item));
                             });
    return json_text(list);
  }
  // retained.clear: {"topic": T} or {"all": true}
  bool all = args.contains("all") && args["all"] == true;
  if (all) {
    std::vector<std::string> topics;
    retained_.for_each(
        [&](const std::string& topic, retained_store::entry&) { topics.push_back(topic); });
    for (const auto& topic : topics) clear_retained(topic);
    return json_text(json{{"cleared", topics.size()}});
  }
  if (!args.contains("topic") || !args["topic"].is_string())
    return fail(errc::invalid_argument, "retained.clear needs \"topic\" or \"all\": true");
  auto topic = args["topic"].get<std::string>();
  bool had = retained_.find(topic) != nullptr;
  clear_retained(topic);
  return json_text(json{{"cleared", had ? 1 : 0}});
}

}  // namespace ipc::broker
