// The transport conn.list reports for each connection id (shm, unix, npipe, tcp, …),
// asked through `admin`, a client with the admin permission.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "ipc/client.hpp"

namespace ipc::test {

inline std::map<std::uint64_t, std::string> transports(Client& admin) {
  std::error_code ec;
  auto listed = nlohmann::json::parse(admin.admin("conn.list", "{}", ec));
  REQUIRE_FALSE(ec);
  std::map<std::uint64_t, std::string> out;
  for (const auto& c : listed) out[c["id"].get<std::uint64_t>()] = c["transport"];
  return out;
}

}  // namespace ipc::test
