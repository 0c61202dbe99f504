// ipc::message accessors and connection_state names.
#include "ipc/types.hpp"

#include "ipc/message/attributes.hpp"

namespace ipc {

std::pair<std::string, std::string> retain() {
  return {std::string(message_record::attribute::retain), "1"};
}

std::pair<std::string, std::string> time_to_live(std::chrono::milliseconds ttl) {
  return {std::string(message_record::attribute::ttl), std::to_string(ttl.count())};
}

std::pair<std::string, std::string> priority(std::uint8_t level) {
  return {std::string(message_record::attribute::priority), std::to_string(level)};
}

std::pair<std::string, std::string> delay(std::chrono::milliseconds by) {
  return {std::string(message_record::attribute::delay), std::to_string(by.count())};
}

std::pair<std::string, std::string> deliver_at(std::chrono::system_clock::time_point at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  return {std::string(message_record::attribute::deliver_at), std::to_string(ms)};
}

std::uint8_t message::priority() const {
  if (body_.headers.empty()) return 0;
  return message_record::attributes_of(body_.headers).priority;
}

bool message::retained() const {
  if (body_.headers.empty()) return false;
  return message_record::attributes_of(body_.headers).retained;
}

std::optional<std::chrono::system_clock::time_point> message::expires_at() const {
  if (body_.headers.empty()) return std::nullopt;
  auto ttl = message_record::attributes_of(body_.headers).ttl_ms;
  if (ttl == 0) return std::nullopt;
  return std::chrono::system_clock::time_point(
             std::chrono::duration_cast<std::chrono::system_clock::duration>(
                 std::chrono::nanoseconds(body_.timestamp_ns))) +
         std::chrono::milliseconds(ttl);
}

std::optional<std::string_view> message::header(std::string_view key) const {
  std::string_view value;
  if (body_.headers.find(key, value)) return value;
  return std::nullopt;
}

ipc::headers message::headers() const {
  ipc::headers out;
  out.reserve(body_.headers.size());
  for (auto entry : body_.headers) out.emplace_back(entry.key, entry.value);
  return out;
}

owned_message message::copy() const {
  return {std::string(topic()), std::string(reply_to()), std::string(payload()), headers(), id(),
          timestamp_ns(),       delivery_count_};
}

std::string_view to_string(connection_state state) {
  switch (state) {
    case connection_state::connecting: return "connecting";
    case connection_state::connected: return "connected";
    case connection_state::disconnected: return "disconnected";
    case connection_state::closed: return "closed";
  }
  return "?";
}

}  // namespace ipc
