// broker_core's queue side and request/reply: sends, consumer admission, requests with a
// broker-made reply address, the first reply delivered, requests timed out.
#include <charconv>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

#include "access/permissions.hpp"
#include "core/broker_core.hpp"
#include "ipc/credentials/password.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
constexpr std::string_view reply_prefix = "$reply/";
constexpr std::uint64_t default_request_ms = 30'000;  // a request without a timeout
constexpr std::uint64_t max_request_ms = 600'000;     // no request lives longer (10 min)
const char* const bad_queue_name = "invalid queue name: use 1 to 255 of A-Z a-z 0-9 . _ -";
constexpr std::uint64_t max_delay_ms = 365ull * 24 * 3600 * 1000;  // a year
std::uint64_t unix_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}
const refusal over_memory{errc::memory_alarm,
                          "broker memory over limits.max_memory: try again once it falls"};
}  // namespace

refusal broker_core::enqueue(std::string_view queue_name, bool create, std::string_view reply_to,
                             const header_map& headers, std::span<const std::uint8_t> payload,
                             const message_record::attributes& attributes, std::uint64_t& id) {
  std::shared_ptr<queue> target;
  if (create) {
    if (auto refused = queues_->find_or_create(queue_name, target)) return refused;
  } else if (!(target = queues_->find(queue_name))) {
    return {errc::unknown_queue, "no queue '" + std::string(queue_name) + "'"};
  }
  stored_message message;
  message.id = id = ++last_message_id_;
  message.body = pool_.acquire();
  encode_record(message.body.get()->buffer(), message.id, now_ns(),
                {{}, reply_to, headers, payload, {}});
  // Limits count the whole stored record, so headers and reply_to cannot evade max_bytes.
  message.stored_bytes = static_cast<std::uint32_t>(message.body.bytes().size());
  auto now = queue_manager::now_ms();
  if (attributes.ttl_ms != 0) message.expires_at_ms = now + attributes.ttl_ms;
  message.priority = attributes.priority;
  if (attributes.delay_ms != 0 || attributes.deliver_at_ms != 0) delay(message, attributes, now);
  if (queues_->enqueue(*target, std::move(message)) != errc::ok)
    return {errc::queue_full, "queue '" + target->name() + "' is full (max_length/max_bytes)"};
  ++counters_.messages_in;
  return {};
}

void broker_core::delay(stored_message& message, const message_record::attributes& attributes,
                        std::uint64_t now_ms) {
  // Held back until its time (docs/protocol.md §4.12.10). ipc-delay becomes an absolute
  // ipc-deliver-at in the stored record, so the time holds across a restart.
  // Clocks are read in whole milliseconds, rounded down: one more keeps "never before".
  auto unix_now = unix_ms();
  if (attributes.deliver_at_ms != 0) {
    if (attributes.deliver_at_ms > unix_now)
      message.visible_at_ms = now_ms + (attributes.deliver_at_ms - unix_now) + 1;
    return;  // a time already past: at once
  }
  message.visible_at_ms = now_ms + attributes.delay_ms + 1;
  message_record::fields f;
  if (!message_record::decode_record(message.body.bytes(), f)) return;
  std::string at = std::to_string(unix_now + attributes.delay_ms);
  const std::pair<std::string_view, std::string_view> added[] = {
      {message_record::attribute::deliver_at, at}};
  body_ref rewritten = pool_.acquire();
  message_record::encode_rewritten(rewritten.get()->buffer(), f,
                                   message_record::kept_when_scheduled, added);
  message.body = std::move(rewritten);
  message.stored_bytes = static_cast<std::uint32_t>(message.body.bytes().size());
}

refusal broker_core::send(client_state& s, std::string_view queue_name, const message_in& m,
                          std::uint32_t confirm_ref) {
  if (!s.perms().may_send(queue_name))
    return denied(s, "send to queue '" + std::string(queue_name) + "'");
  if (!config::valid_queue_name(queue_name)) return {errc::invalid_queue_name, bad_queue_name};
  if (auto refused = check_fields(m.reply_to, m.headers, m.payload.size())) return refused;
  message_record::attributes attributes;
  if (auto refused = read_attributes(m, attributes)) return refused;
  if (attributes.retain) return {errc::invalid_argument, "only a publish can be retained"};
  if (attributes.delay_ms > max_delay_ms ||
      (attributes.deliver_at_ms != 0 && attributes.deliver_at_ms > unix_ms() + max_delay_ms))
    return {errc::invalid_argument, "a send may be delayed by a year at most"};
  if (memory_->alarm()) return over_memory;
  auto mark = storage_mark();
  std::uint64_t id = 0;
  if (auto refused = enqueue(queue_name, true, m.reply_to, m.headers, m.payload, attributes, id))
    return refused;
  if (confirm_ref != 0) confirm(s, confirm_ref, id, mark);
  return {};
}

refusal broker_core::consume(client_state& s, std::string_view queue_name, std::uint32_t prefetch,
                             std::shared_ptr<queue>& out) {
  if (!s.perms().may_consume(queue_name))
    return denied(s, "consume from queue '" + std::string(queue_name) + "'");
  if (auto refused = subscription_room(s)) return refused;
  if (prefetch > limits_.max_prefetch)
    return {errc::invalid_argument,
            "prefetch over limits.max_prefetch (" + std::to_string(limits_.max_prefetch) + ")"};
  return queues_->find_or_create(queue_name, out);
}

std::size_t broker_core::address_hash::operator()(std::string_view s) const noexcept {
  // A reply address ends in 16 random hexadecimal digits (request()): those are hash
  // enough, and quicker to mix than the whole address. A late reply's topic may be any
  // text, but a lookup cannot lengthen the chains, which hold broker-made addresses.
  if (s.size() < 16) return std::hash<std::string_view>{}(s);
  std::uint64_t high = 0, low = 0;
  std::memcpy(&high, s.data() + s.size() - 16, 8);
  std::memcpy(&low, s.data() + s.size() - 8, 8);
  std::uint64_t h = high * 0x9E3779B97F4A7C15ull + low;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

refusal broker_core::request(client_state& s, std::uint32_t id, request_target kind,
                             std::string_view target, std::uint32_t timeout_ms,
                             const message_in& m) {
  if (id == 0) return {errc::invalid_argument, "a request needs a non-zero id"};
  if (s.requests_.contains(id)) return {errc::duplicate_id, "request id in use"};
  bool to_queue = kind == request_target::queue;
  // A topic the client last published or sent a request to passed the permission and
  // name checks then (publish(): the memo), '$' included.
  bool checked = !to_queue && !s.checked_topic_.empty() && target == s.checked_topic_;
  if (!checked && (to_queue ? !s.perms().may_send(target) : !s.perms().may_publish(target)))
    return denied(s, std::string(to_queue ? "request to queue '" : "request to '") +
                         std::string(target) + "'");
  if (to_queue && !config::valid_queue_name(target))
    return {errc::invalid_queue_name, bad_queue_name};
  if (!to_queue && !checked) {
    if (auto refused = check_topic_name(target)) return refused;
    if (target.starts_with('$'))  // a reply address too: a request cannot go to one
      return {errc::permission_denied, "topics starting with '$' are reserved for the broker"};
    s.checked_topic_.assign(target);
  }
  if (auto refused = check_fields({}, m.headers, m.payload.size())) return refused;
  message_record::attributes attributes;
  if (auto bad = read_attributes(m, attributes)) return bad;
  if (attributes.retain) return {errc::invalid_argument, "only a publish can be retained"};
  if (attributes.delay_ms != 0 || attributes.deliver_at_ms != 0)
    return {errc::invalid_argument, "only a send can be delayed"};
  if (s.requests_.size() >= limits_.max_pending_requests)
    return {errc::limit_exceeded, "too many open requests (limits.max_pending_requests)"};
  if (memory_->alarm()) return over_memory;
  // $reply/<client>/<request id>/<64 random bits as 16 hex digits>: an address cannot be
  // guessed from those seen before. Built in one allocation (every request makes one).
  char numbers[48];
  char* end = std::to_chars(numbers, numbers + 20, s.id()).ptr;
  *end++ = '/';
  end = std::to_chars(end, end + 10, id).ptr;
  *end++ = '/';
  std::string address;
  address.reserve(reply_prefix.size() + static_cast<std::size_t>(end - numbers) + 16);
  address.append(reply_prefix).append(numbers, end);
  reply_randomness_.append_hex(address, 8);
  if (to_queue) {
    auto destination = queues_->find(target);
    if (!destination || destination->consumer_count() == 0) {
      ++counters_.no_responders;
      return {errc::no_responders, "no consumer on queue '" + std::string(target) + "'"};
    }
    std::uint64_t message_id = 0;
    if (auto full = enqueue(target, false, address, m.headers, m.payload, attributes, message_id))
      return full;
  } else {
    const auto& routes = trie_.match(target);
    // Local responders first (docs/uplinks.md §5): a remote route (an uplink) takes the
    // request only when no local one can answer, and never the uplink that asked.
    bool local = false, remote = false, skipped = false;
    for (const auto& route : routes) {
      bool is_remote = route.target->remote();
      if (is_remote && route.target == &s.owner()) {
        skipped = true;
        continue;
      }
      if (!route.target->has_responders()) continue;
      (is_remote ? remote : local) = true;
    }
    if (!local && !remote) {
      ++counters_.no_responders;
      return {errc::no_responders, "no subscriber for '" + std::string(target) + "'"};
    }
    const std::vector<routing::route>* chosen = &routes;
    std::vector<routing::route> filtered;
    if (skipped || (local && remote)) {
      for (const auto& route : routes)
        if (!route.target->remote() || (!local && route.target != &s.owner()))
          filtered.push_back(route);
      chosen = &filtered;
    }
    ++counters_.messages_in;
    fan_out(*chosen, {target, address, m.headers, m.payload, {}}, now_ns(),
            attributes.ttl_ms == 0 ? 0 : queue_manager::now_ms() + attributes.ttl_ms,
            attributes.priority);
  }
  std::uint64_t timeout =
      timeout_ms == 0 ? default_request_ms : std::min<std::uint64_t>(timeout_ms, max_request_ms);
  auto made = requests_.emplace(std::move(address),
                                open_request{s.id(), id, queue_manager::now_ms() + timeout});
  s.requests_.emplace(id, &made.first->first);
  ++counters_.requests;
  return {};
}

refusal broker_core::publish_reply(client_state& s, const message_in& m,
                                   std::uint32_t confirm_ref) {
  // No publish permission is needed for a reply. An address of an open request is a name
  // the broker made; any other is checked as a topic (and refused when it is none), then
  // dropped as a late reply.
  auto found = requests_.find(m.topic);
  if (found == requests_.end()) {
    if (auto refused = check_topic_name(m.topic)) return refused;
  }
  auto mark = confirm_ref != 0 ? storage_mark() : 0;
  message_record::attributes attributes;
  if (auto refused = read_published(m, attributes)) return refused;
  if (attributes.retain) return {errc::invalid_argument, "a reply cannot be retained"};
  ++counters_.messages_in;
  if (found == requests_.end()) {
    ++counters_.late_replies;  // answered already, timed out, or never asked: dropped
  } else {
    reply(found, m);
  }
  if (confirm_ref != 0) confirm(s, confirm_ref, 0, mark);
  return {};
}

void broker_core::reply(request_map::iterator found, const message_in& m) {
  auto pending = found->second;
  requests_.erase(found);
  auto* requester = find(pending.client_id);
  if (requester == nullptr) return;
  requester->requests_.erase(pending.id);
  scratch_body_.clear();
  encode_record(scratch_body_, ++last_message_id_, now_ns(),
                {m.topic, {}, m.headers, m.payload, {}});
  requester->owner().replied(pending.id, scratch_body_);
  ++counters_.replies;
}

void broker_core::fail_request(std::string_view address, errc code, std::string_view message) {
  auto found = requests_.find(address);
  if (found == requests_.end()) return;
  auto pending = found->second;
  requests_.erase(found);
  if (code == errc::no_responders) ++counters_.no_responders;
  auto* requester = find(pending.client_id);
  if (requester == nullptr) return;
  requester->requests_.erase(pending.id);
  requester->owner().request_failed(pending.id, code, message);
}

void broker_core::drop_requests(client_state& s) {
  for (const auto& [id, address] : s.requests_) {
    auto found = requests_.find(*address);  // (erase by iterator: the key is the node's own)
    if (found != requests_.end()) requests_.erase(found);
  }
  s.requests_.clear();
}

void broker_core::housekeeping() {
  auto now = queue_manager::now_ms();
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    if (auto* requester = find(it->second.client_id)) {
      requester->requests_.erase(it->second.id);
      requester->owner().request_failed(it->second.id, errc::timeout,
                                        "no reply within the request's timeout");
    }
    ++counters_.request_timeouts;
    it = requests_.erase(it);
  }
  queues_->expire_all();
  expire_retained();
  fire_due_wills();
}

void broker_core::set_delay_waker(std::function<void(std::uint64_t due_ms)> wake) {
  queues_->set_delay_waker(std::move(wake));
}
std::uint64_t broker_core::next_due() { return queues_->next_due(); }
void broker_core::promote_due() { queues_->promote_due(); }

}  // namespace ipc::broker
