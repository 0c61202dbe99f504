// JSON text for answers and events: strings that clients chose (client names, command
// names, topics) may hold invalid UTF-8, which nlohmann's strict dump() throws on; here
// each invalid byte becomes U+FFFD instead, so no client string can make an answer fail.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ipc::broker {

inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ipc::broker
