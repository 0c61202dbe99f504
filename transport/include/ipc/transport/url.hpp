// Broker addresses as URLs (SPEC §2): unix://, npipe://, tcp://, tls://, shm://.
// Pure parsing, no I/O; used by config validation, the broker and the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ipc::transport {

enum class scheme { unix_socket, named_pipe, tcp, tls, shm };

inline constexpr std::uint16_t default_tcp_port = 7878;  // SPEC §2

struct url {
  scheme kind = scheme::tcp;
  std::string path;        // unix, shm: absolute socket path; npipe, shm: \\.\pipe\NAME
  std::string host;        // tcp/tls: host name or address, IPv6 without brackets
  std::uint16_t port = 0;  // tcp/tls: 0 means "any free port" (listeners only)

  // Canonical text form, e.g. "tcp://[::1]:7878", "unix:///run/ipcd/ipcd.sock".
  std::string to_string() const;
};

// shm://PATH is negotiated over the local socket or pipe at PATH: that address.
url local_url_of(const url& shm_url);

struct url_result {
  std::optional<url> value;
  std::string error;  // why parsing failed, when !value
};

// Parses a URL of SPEC §2. tcp/tls without a port get default_tcp_port.
url_result parse_url(std::string_view text);

std::string_view scheme_name(scheme s);

}  // namespace ipc::transport
