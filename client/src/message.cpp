// ipc::message accessors and connection_state names.
#include "ipc/types.hpp"

namespace ipc {

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
