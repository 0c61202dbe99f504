// broker_core's queue sends and request/reply: enqueueing sends, routing requests with a
// broker-made reply address, delivering the first reply, timing requests out.
#include <nlohmann/json.hpp>

#include "core/broker_core.hpp"
#include "frontends/native/session.hpp"
#include "ipc/credentials/password.hpp"
#include "ipc/protocol/encoder.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

using protocol::errc;

namespace {
constexpr std::string_view reply_prefix = "$reply/";
constexpr std::uint64_t default_request_ms = 30'000;  // a request without a timeout
constexpr std::uint64_t max_request_ms = 600'000;     // no request lives longer (10 min)

}  // namespace

refusal broker_core::enqueue(std::string_view queue_name, bool create, std::string_view reply_to,
                             const protocol::map_view& headers,
                             std::span<const std::uint8_t> payload, std::uint64_t& id) {
  std::shared_ptr<queue> target;
  if (create) {
    if (auto refused = queues_->find_or_create(queue_name, target)) return refused;
  } else if (!(target = queues_->find(queue_name))) {
    return {errc::unknown_queue, "no queue '" + std::string(queue_name) + "'"};
  }
  stored_message message;
  message.id = id = ++last_message_id_;
  message.body = pool_.acquire();
  protocol::encode_message_body(message.body.get()->buffer(), message.id, now_ns(), {}, reply_to,
                                {{}, &headers}, payload);
  // Limits count the whole stored body, so headers and reply_to cannot evade max_bytes.
  message.stored_bytes = static_cast<std::uint32_t>(message.body.bytes().size());
  if (queues_->enqueue(*target, std::move(message)) != errc::ok)
    return {errc::queue_full, "queue '" + target->name() + "' is full (max_length/max_bytes)"};
  ++counters_.messages_in;
  return {};
}

refusal broker_core::send(const protocol::send_frame& frame, std::uint64_t& id) {
  if (!config::valid_queue_name(frame.queue))
    return {errc::invalid_queue_name, "invalid queue name: use 1 to 255 of A-Z a-z 0-9 . _ -"};
  if (auto refused = check_fields(frame.reply_to, frame.headers, frame.payload.size()))
    return refused;
  return enqueue(frame.queue, true, frame.reply_to, frame.headers, frame.payload, id);
}

refusal broker_core::request(session& s, const protocol::request_frame& frame) {
  bool to_queue = frame.target_kind == protocol::request_target::queue;
  if (to_queue && !config::valid_queue_name(frame.target))
    return {errc::invalid_queue_name, "invalid queue name: use 1 to 255 of A-Z a-z 0-9 . _ -"};
  auto refused = to_queue ? check_fields({}, frame.headers, frame.payload.size())
                          : check_message(frame.target, {}, frame.headers, frame.payload.size());
  if (refused) return refused;
  if (!to_queue && frame.target.starts_with("$"))
    return {errc::permission_denied, "topics starting with '$' are reserved for the broker"};
  if (s.open_requests().size() >= limits_.max_pending_requests)
    return {errc::limit_exceeded, "too many open requests (limits.max_pending_requests)"};
  // 64 random bits (16 hex digits): an address cannot be guessed from those seen before.
  std::string address = std::string(reply_prefix) + std::to_string(s.id()) + "/" +
                        std::to_string(frame.id) + "/" + credentials::random_hex(8);
  if (to_queue) {
    auto target = queues_->find(frame.target);
    if (!target || target->consumer_count() == 0)
      return {errc::no_responders, "no consumer on queue '" + std::string(frame.target) + "'"};
    std::uint64_t id = 0;
    if (auto full = enqueue(frame.target, false, address, frame.headers, frame.payload, id))
      return full;
  } else {
    const auto& routes = trie_.match(frame.target);
    bool anyone = false;
    for (const auto& route : routes) anyone = anyone || route.target->has_responders();
    if (!anyone)
      return {errc::no_responders, "no subscriber for '" + std::string(frame.target) + "'"};
    ++counters_.messages_in;
    fan_out(routes, frame.target, address, &frame.headers, frame.payload);
  }
  std::uint64_t timeout = frame.timeout_ms == 0
                              ? default_request_ms
                              : std::min<std::uint64_t>(frame.timeout_ms, max_request_ms);
  requests_.emplace(address, open_request{s.id(), frame.id, queue_manager::now_ms() + timeout});
  s.open_requests().emplace(frame.id, address);
  ++counters_.requests;
  return {};
}

void broker_core::reply(const protocol::publish_frame& frame) {
  auto found = requests_.find(std::string(frame.topic));
  if (found == requests_.end()) {
    ++counters_.late_replies;  // answered already, timed out, or never asked: dropped
    return;
  }
  auto pending = found->second;
  requests_.erase(found);
  auto requester = find_session(pending.session_id);
  if (!requester) return;
  requester->open_requests().erase(pending.id);
  scratch_body_.clear();
  protocol::encode_message_body(scratch_body_, ++last_message_id_, now_ns(), frame.topic, {},
                                {{}, &frame.headers}, frame.payload);
  requester->send_response(pending.id, scratch_body_);
  ++counters_.replies;
}

void broker_core::drop_requests(session& s) {
  for (const auto& [id, address] : s.open_requests()) requests_.erase(address);
  s.open_requests().clear();
}

void broker_core::housekeeping() {
  auto now = queue_manager::now_ms();
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    if (auto requester = find_session(it->second.session_id)) {
      requester->open_requests().erase(it->second.id);
      requester->send_error(errc::timeout, it->second.id, "no reply within the request's timeout");
    }
    ++counters_.request_timeouts;
    it = requests_.erase(it);
  }
  queues_->expire_all();
}

}  // namespace ipc::broker
