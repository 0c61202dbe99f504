// Typed queue declaration: queue_options written as the JSON arguments of the admin
// command queue.create (docs/protocol.md §5.2), and its answer read back. The client
// library carries no JSON library: the few shapes needed are written and read here.
#include <cctype>
#include <string>

#include "ipc/types.hpp"

namespace ipc {
namespace {

// A JSON string literal: quotes, backslashes and control characters escaped.
void put_string(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
}

void put_key(std::string& out, std::string_view key) {
  if (out.size() > 1) out += ',';
  put_string(out, key);
  out += ':';
}

}  // namespace

std::string queue_create_args(std::string_view name, const queue_options& options) {
  std::string out = "{";
  put_key(out, "name");
  put_string(out, name);
  put_key(out, "durable");
  out += options.durable ? "true" : "false";
  put_key(out, "max_length");
  out += std::to_string(options.max_length);
  if (options.max_bytes) {
    put_key(out, "max_bytes");
    out += std::to_string(*options.max_bytes);
  }
  put_key(out, "overflow");
  put_string(out, options.overflow);
  put_key(out, "ttl");
  out += std::to_string(options.ttl.count());
  if (!options.dead_letter.empty()) {
    put_key(out, "dead_letter");
    put_string(out, options.dead_letter);
  }
  put_key(out, "max_deliveries");
  out += std::to_string(options.max_deliveries);
  if (options.max_priority != 0) {
    put_key(out, "max_priority");
    out += std::to_string(options.max_priority);
  }
  if (options.single_active_consumer) {
    put_key(out, "single_active_consumer");
    out += "true";
  }
  put_key(out, "bind");
  out += '[';
  for (std::size_t i = 0; i < options.bind.size(); ++i) {
    if (i != 0) out += ',';
    put_string(out, options.bind[i]);
  }
  out += "]}";
  return out;
}

bool queue_created(std::string_view answer) {
  // {"created":true,"name":"jobs"}, with or without whitespace.
  auto at = answer.find("\"created\"");
  if (at == std::string_view::npos) return false;
  at += 9;
  while (at < answer.size() &&
         (std::isspace(static_cast<unsigned char>(answer[at])) != 0 || answer[at] == ':'))
    ++at;
  return answer.substr(at).starts_with("true");
}

std::string admin_error(std::string_view answer) {
  // {"code":"…","error":"SENTENCE"}: the string after "error", its escapes undone (a
  // \uXXXX escape, which the broker writes only for control characters, becomes '?').
  auto at = answer.find("\"error\"");
  if (at == std::string_view::npos) return {};
  at = answer.find('"', answer.find(':', at + 7));
  if (at == std::string_view::npos) return {};
  std::string out;
  for (++at; at < answer.size() && answer[at] != '"'; ++at) {
    if (answer[at] != '\\' || at + 1 >= answer.size()) {
      out += answer[at];
      continue;
    }
    char escaped = answer[++at];
    switch (escaped) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'u':
        out += '?';
        at += 4;
        break;
      default: out += escaped;  // \" \\ \/
    }
  }
  return out;
}

}  // namespace ipc
