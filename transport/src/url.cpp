// URL parsing for SPEC §2 addresses.
#include "ipc/transport/url.hpp"

#include <charconv>

namespace ipc::transport {
namespace {

url_result fail(std::string message) { return {std::nullopt, std::move(message)}; }

url_result parse_host_port(scheme kind, std::string_view rest) {
  url out;
  out.kind = kind;
  std::string_view port_text;
  if (rest.starts_with('[')) {  // [v6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) return fail("missing ']' after IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("expected ':' after ']'");
      port_text = rest.substr(1);
    }
  } else {
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos) {
      if (rest.find(':') != colon)
        return fail("IPv6 addresses must be written in brackets, e.g. [::1]");
      out.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
    } else {
      out.host = std::string(rest);
    }
  }
  if (out.host.empty()) return fail("missing host");
  if (out.host.find('/') != std::string::npos) return fail("unexpected '/' in host");
  out.port = default_tcp_port;
  if (!port_text.empty() || rest.ends_with(':')) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || value > 65535 ||
        port_text.empty())
      return fail("invalid port '" + std::string(port_text) + "'");
    out.port = static_cast<std::uint16_t>(value);
  }
  return {std::move(out), {}};
}

constexpr std::string_view pipe_prefix = "//./pipe/";

url_result parse_socket_path(std::string_view rest) {
  if (!rest.starts_with('/')) return fail("unix socket path must be absolute (unix:///path)");
  if (rest.size() < 2) return fail("unix socket path is empty");
  if (rest.find('\0') != std::string_view::npos) return fail("unix socket path contains NUL");
  url out;
  out.kind = scheme::unix_socket;
  out.path = std::string(rest);
  return {std::move(out), {}};
}

url_result parse_pipe_name(std::string_view rest) {  // //./pipe/NAME  ->  \\.\pipe\NAME
  if (!rest.starts_with(pipe_prefix) || rest.size() == pipe_prefix.size())
    return fail("named pipe URL must look like npipe:////./pipe/NAME");
  std::string_view pipe_name = rest.substr(pipe_prefix.size());
  if (pipe_name.find_first_of("/\\") != std::string_view::npos || pipe_name.size() > 200)
    return fail("invalid named pipe name");
  url out;
  out.kind = scheme::named_pipe;
  out.path = "\\\\.\\pipe\\" + std::string(pipe_name);
  return {std::move(out), {}};
}

}  // namespace

url local_url_of(const url& shm_url) {
  url out = shm_url;
  if (out.kind == scheme::shm)
    out.kind = out.path.starts_with("\\\\") ? scheme::named_pipe : scheme::unix_socket;
  return out;
}

std::string_view scheme_name(scheme s) {
  switch (s) {
    case scheme::unix_socket: return "unix";
    case scheme::named_pipe: return "npipe";
    case scheme::tcp: return "tcp";
    case scheme::tls: return "tls";
    case scheme::shm: return "shm";
  }
  return "?";
}

std::string url::to_string() const {
  switch (kind) {
    case scheme::unix_socket: return "unix://" + path;
    case scheme::named_pipe: {
      std::string text = "npipe://";
      for (char c : path) text += (c == '\\') ? '/' : c;
      return text;
    }
    case scheme::shm: {  // the local URL's text after its scheme
      std::string local = local_url_of(*this).to_string();
      return "shm://" + local.substr(local.find("://") + 3);
    }
    case scheme::tcp:
    case scheme::tls: {
      std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
      return std::string(scheme_name(kind)) + "://" + host_text + ":" + std::to_string(port);
    }
  }
  return {};
}

url_result parse_url(std::string_view text) {
  auto sep = text.find("://");
  if (sep == std::string_view::npos)
    return fail("'" + std::string(text) + "' is not a URL (expected scheme://…)");
  std::string_view name = text.substr(0, sep);
  std::string_view rest = text.substr(sep + 3);
  if (name == "unix") return parse_socket_path(rest);
  if (name == "npipe") return parse_pipe_name(rest);
  if (name == "shm") {  // shm:///run/ipcd/ipcd.sock, shm:////./pipe/ipcd
    auto local = rest.starts_with(pipe_prefix) ? parse_pipe_name(rest) : parse_socket_path(rest);
    if (local.value) local.value->kind = scheme::shm;
    return local;
  }
  if (name == "tcp") return parse_host_port(scheme::tcp, rest);
  if (name == "tls") return parse_host_port(scheme::tls, rest);
  return fail("unknown URL scheme '" + std::string(name) +
              "' (expected unix, npipe, tcp, tls or shm)");
}

}  // namespace ipc::transport
