// uplink: NATS messages in (docs/uplinks.md §4–§5). The import rules' subjects are
// subscribed on every new connection (with the rule's queue group when it has one), with
// one wildcard inbox subscription for the replies to the requests this uplink sent. A
// message from this broker itself (Ipc-Origin) or one already seen (Ipc-Msg-Id, within the
// dedupe window) is dropped; the rest is published to its topic, sent into the rule's
// queue, or, with a reply subject, asked as a request of the local responders.
#include <algorithm>

#include "core/broker_core.hpp"
#include "core/loggable.hpp"
#include "frontends/uplink/uplink.hpp"
#include "ipc/message/attributes.hpp"
#include "ipc/nats/client_ops.hpp"
#include "ipc/nats/subjects.hpp"
#include "ipc/routing/topic.hpp"
#include "queues/queue_manager.hpp"

namespace ipc::broker {

namespace {
constexpr std::uint64_t inbox_sid = 1;
constexpr std::uint64_t first_rule_sid = 2;

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// Which reserved headers an imported message keeps: the ones a client may set for what
// it becomes (a publish, or a send into a queue). The broker's own (ipc-retained, the
// dead-letter ones) and an ipc-uplink from the far side are dropped.
bool kept_on_import(std::string_view key, bool to_queue) {
  namespace a = message_record::attribute;
  for (auto allowed :
       {a::retain, a::ttl, a::priority, a::qos, a::content_type, a::payload_format, a::correlation})
    if (same_name(key, allowed)) return !(to_queue && allowed == a::retain);
  return to_queue && (same_name(key, a::delay) || same_name(key, a::deliver_at));
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
}  // namespace

void uplink::subscribe_imports() {
  auto& out = link_->out();
  nats::encode_sub(out, inbox_prefix_ + "*", "", inbox_sid);
  sid_rules_.clear();
  for (std::size_t i = 0; i < settings_.imports.size(); ++i) {
    const auto& rule = settings_.imports[i];
    auto subjects = nats::pattern_to_subjects(
        rule.pattern, rule.prefix.empty() ? std::string_view(settings_.prefix) : rule.prefix);
    for (const auto* subject : {&subjects.first, &subjects.second}) {
      if (subject->empty()) continue;
      nats::encode_sub(out, *subject, rule.group, first_rule_sid + sid_rules_.size());
      sid_rules_.push_back(i);
    }
  }
  link_->wake();
}

void uplink::link_message(const nats::server_op& op) {
  if (!state_) return;
  client_counters_.bytes_in += op.payload.size();
  if (op.sid == inbox_sid) return take_reply(op);
  if (op.sid < first_rule_sid || op.sid - first_rule_sid >= sid_rules_.size()) return;
  import_message(settings_.imports[sid_rules_[op.sid - first_rule_sid]], op);
  core_.queues().dispatch_pending();
}

bool uplink::seen_before(std::string_view message_id) {
  std::string key(message_id);
  if (seen_.contains(key)) return true;
  seen_.insert(key);
  seen_order_.push_back(std::move(key));
  while (seen_order_.size() > settings_.dedupe_window) {
    seen_.erase(seen_order_.front());
    seen_order_.pop_front();
  }
  return false;
}

void uplink::import_message(const config::uplink_import& rule, const nats::server_op& op) {
  bool to_queue = !rule.queue.empty();
  std::optional<nats::parsed_headers> parsed;
  if (!op.headers.empty()) {
    parsed = nats::parse_header_block(op.headers);
    if (!parsed) {
      ++counters_.refused;
      return;
    }
  }
  std::string_view message_id;
  if (parsed) {
    for (const auto& [name, value] : parsed->fields) {
      if (same_name(name, "Ipc-Origin") && value == instance_id_) {
        ++counters_.echoes;
        return;
      }
      if (same_name(name, "Ipc-Msg-Id")) message_id = value;
    }
  }
  // Keyed by subscription too: overlapping rules each get their copy once.
  if (!message_id.empty() && seen_before(std::to_string(op.sid) + " " + std::string(message_id))) {
    ++counters_.duplicates;
    return;
  }
  auto topic = nats::subject_to_topic(
      op.subject, rule.prefix.empty() ? std::string_view(settings_.prefix) : rule.prefix);
  if (!topic || !routing::topic_matches(rule.pattern, *topic)) {
    ++counters_.refused;  // not a topic, or not one the rule names
    return;
  }
  // The headers in the record's map encoding, with ipc-uplink naming this uplink.
  header_bytes_.clear();
  message_record::put_u16(header_bytes_, 0);
  std::uint16_t count = 0;
  auto add = [&](std::string_view key, std::string_view value) {
    if (count == 0xffff || key.size() > 0xffff || value.size() > 0xffff) return;
    message_record::put_str16(header_bytes_, key);
    message_record::put_str16(header_bytes_, value);
    ++count;
  };
  if (parsed) {
    for (const auto& [name, value] : parsed->fields) {
      if (same_name(name, "Ipc-Origin") || same_name(name, "Ipc-Msg-Id") ||
          (same_name(name, "Nats-Msg-Id") && value == message_id))
        continue;
      if (message_record::is_reserved(name)) {
        if (kept_on_import(name, to_queue)) add(lower_case(name), value);
        continue;
      }
      add(name, value);
    }
  }
  add(message_record::attribute::uplink, settings_.name);
  header_bytes_[0] = static_cast<std::uint8_t>(count >> 8);
  header_bytes_[1] = static_cast<std::uint8_t>(count & 0xff);
  message_in m;
  m.headers = header_map(header_bytes_, count);
  m.payload = {reinterpret_cast<const std::uint8_t*>(op.payload.data()), op.payload.size()};
  refusal refused;
  if (to_queue) {
    refused = core_.send(*state_, rule.queue, m, 0);
  } else if (!op.reply.empty()) {
    // A request from beyond the machine, for the local responders.
    m.topic = *topic;
    do ++next_request_;
    while (next_request_ == 0 || requests_in_.contains(next_request_));
    refused = core_.request(*state_, next_request_, request_target::topic, *topic, 0, m);
    if (!refused) {
      requests_in_.emplace(next_request_, std::string(op.reply));
      ++counters_.requests_in;
    } else if (refused.code == errc::no_responders) {
      return;  // another host may answer it; nothing here can
    }
  } else {
    m.topic = *topic;
    refused = core_.publish(*state_, m, 0);
  }
  if (refused) {
    ++counters_.refused;
    core_.log().debug("uplink {}: import of '{}' refused: {}", settings_.name, loggable(*topic),
                      loggable(refused.message));
    return;
  }
  ++counters_.imported;
  counters_.imported_bytes += op.payload.size();
  ++client_counters_.messages_in;
}

void uplink::take_reply(const nats::server_op& op) {
  if (!op.subject.starts_with(inbox_prefix_)) return;
  auto found = requests_out_.find(std::string(op.subject.substr(inbox_prefix_.size())));
  if (found == requests_out_.end()) return;  // answered already, or forgotten
  auto address = std::move(found->second.address);
  requests_out_.erase(found);
  std::optional<nats::parsed_headers> parsed;
  if (!op.headers.empty()) parsed = nats::parse_header_block(op.headers);
  if (parsed && parsed->status == 503) {
    core_.fail_request(address, errc::no_responders, "no responders on the uplink's NATS cluster");
    return;
  }
  header_bytes_.clear();
  message_record::put_u16(header_bytes_, 0);
  std::uint16_t count = 0;
  if (parsed) {
    for (const auto& [name, value] : parsed->fields) {
      if (same_name(name, "Ipc-Origin") || count == 0xffff || value.size() > 0xffff) continue;
      if (message_record::is_reserved(name) && !kept_on_import(name, false)) continue;
      message_record::put_str16(header_bytes_,
                                message_record::is_reserved(name) ? lower_case(name) : name);
      message_record::put_str16(header_bytes_, value);
      ++count;
    }
  }
  header_bytes_[0] = static_cast<std::uint8_t>(count >> 8);
  header_bytes_[1] = static_cast<std::uint8_t>(count & 0xff);
  message_in m;
  m.topic = address;
  m.headers = header_map(header_bytes_, count);
  m.payload = {reinterpret_cast<const std::uint8_t*>(op.payload.data()), op.payload.size()};
  (void)core_.publish(*state_, m, 0);  // a reply: to its requester, or counted late
}

void uplink::replied(std::uint32_t request, std::span<const std::uint8_t> record) {
  auto found = requests_in_.find(request);
  if (found == requests_in_.end()) return;
  auto subject = std::move(found->second);
  requests_in_.erase(found);
  answer_request(subject, record);
}

void uplink::answer_request(std::string_view reply_subject, std::span<const std::uint8_t> bytes) {
  message_record::fields record;
  if (!link_ || !link_->up() || !message_record::decode_record(bytes, record)) return;
  const auto& block = nats_headers(record, {});
  auto payload =
      std::string_view(reinterpret_cast<const char*>(record.payload.data()), record.payload.size());
  if (block.size() + payload.size() > link_->server().max_payload) {
    ++counters_.dropped_too_large;  // the server would close the connection for it
    return;
  }
  nats::encode_pub(link_->out(), reply_subject, "", link_->server().headers ? block : "", payload);
  link_->wake();
}

void uplink::request_failed(std::uint32_t request, errc, std::string_view) {
  requests_in_.erase(request);  // the NATS requester times out on its own
}

}  // namespace ipc::broker
