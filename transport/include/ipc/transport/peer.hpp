// Who is on the other end of a connection, as its transport knows it (std only: the
// broker core reads it without Asio).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ipc/transport/url.hpp"

namespace ipc::transport {

// Who is on the other end, read once when the connection is made.
struct peer_info {
  scheme transport = scheme::tcp;
  std::string address;               // "127.0.0.1:51234", "[::1]:5000", "pid 1234" …
  std::optional<std::uint32_t> uid;  // Unix peer credentials (SO_PEERCRED)
  std::optional<std::uint32_t> gid;
  std::optional<std::uint32_t> pid;
  std::string tls_subject;  // tls: the verified client certificate's subject (RFC 2253)
  // npipe: the client's user SID ("S-1-5-21-…"), read once its first bytes have arrived
  // (by impersonating it); "" when unknown.
  std::string sid;
};

}  // namespace ipc::transport
