// request_parser: find the end of the head within the limits, then the request line
// (method SP origin-form-target SP HTTP/1.x) and the header fields, strictly.
#include "ipc/http/request_parser.hpp"

#include <algorithm>

namespace ipc::http {
namespace {

bool is_tchar(char c) {  // RFC 9110 §5.6.2 token characters
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool has_token(std::string_view list, std::string_view token) {  // "keep-alive, Upgrade"
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = trim(list.substr(0, comma));
    if (item.size() == token.size() &&
        std::equal(item.begin(), item.end(), token.begin(),
                   [](char a, char b) { return lower(a) == lower(b); }))
      return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return std::nullopt;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int high = hex(in[i + 1]), low = hex(in[i + 2]);
    if (high < 0 || low < 0 || (high == 0 && low == 0)) return false;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return true;
}

void request_parser::reset() {
  head_.clear();
  line_done_ = false;

  request_ = {};
}

parse_status request_parser::fail(int status, std::string reason) {
  failed_ = true;
  status_ = status;
  reason_ = std::move(reason);
  return parse_status::error;
}

parse_status request_parser::feed(std::span<const char> data, std::size_t& used) {
  used = 0;
  if (failed_) return parse_status::error;
  const std::size_t limit = limits_.max_request_line + 2 + limits_.max_header_bytes + 2;
  for (char c : data) {
    head_ += c;
    ++used;
    if (!line_done_) {  // the request line must end within its limit
      if (c == '\n') {
        line_done_ = true;
        if (head_ == "\r\n") {  // an empty line before a request is ignored (RFC 9112 §2.2)
          head_.clear();
          line_done_ = false;
        }
      } else if (head_.size() > limits_.max_request_line + 2) {
        return fail(
            414, "request line longer than " + std::to_string(limits_.max_request_line) + " bytes");
      }
    }
    if (head_.size() > limit) return fail(431, "request header fields too large");
    if (c == '\n' && head_.size() >= 4 && head_.compare(head_.size() - 4, 4, "\r\n\r\n") == 0)
      return parse_head();
  }
  return parse_status::need_more;
}

parse_status request_parser::parse_head() {
  std::string_view head(head_);
  head.remove_suffix(4);  // the blank line
  auto end_of_line = head.find("\r\n");
  std::string_view line = head.substr(0, end_of_line);
  if (line.find('\n') != std::string_view::npos || line.find('\r') != std::string_view::npos)
    return fail(400, "bare CR or LF in the request line");
  if (!parse_request_line(line)) return parse_status::error;
  std::size_t header_bytes = 0;
  while (end_of_line != std::string_view::npos) {
    head.remove_prefix(end_of_line + 2);
    end_of_line = head.find("\r\n");
    line = head.substr(0, end_of_line);
    header_bytes += line.size() + 2;
    if (header_bytes > limits_.max_header_bytes)
      return fail(431, "request header fields too large");
    if (request_.headers.size() >= limits_.max_headers)
      return fail(431, "more than " + std::to_string(limits_.max_headers) + " header fields");
    if (!parse_header(line)) return parse_status::error;
  }
  if (request_.minor_version == 1 && !request_.header("host"))
    return fail(400, "an HTTP/1.1 request needs a Host field");
  if (request_.header("transfer-encoding") ||
      (request_.header("content-length") && *request_.header("content-length") != "0"))
    return fail(400, "request bodies are not accepted");
  auto connection = request_.header("connection");
  request_.keep_alive = request_.minor_version == 1
                            ? !(connection && has_token(*connection, "close"))
                            : (connection && has_token(*connection, "keep-alive"));
  return parse_status::done;
}

bool request_parser::parse_request_line(std::string_view line) {
  auto first = line.find(' ');
  auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    fail(400, "malformed request line");
    return false;
  }
  auto method = line.substr(0, first);
  auto target = line.substr(first + 1, second - first - 1);
  auto version = line.substr(second + 1);
  if (!is_token(method)) return fail(400, "malformed method"), false;
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
    return fail(400, "malformed HTTP version"), false;
  if (version[5] != '1') return fail(505, "only HTTP/1.x is served"), false;
  request_.minor_version = version[7] - '0';
  if (target.empty() || target.front() != '/')
    return fail(400, "the target must be a path (origin-form)"), false;
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F)
      return fail(400, "invalid character in the target"), false;
  request_.method = method;
  request_.target = target;
  auto question = target.find('?');
  if (question != std::string_view::npos) request_.query = target.substr(question + 1);
  if (!percent_decode(target.substr(0, question), request_.path))
    return fail(400, "malformed percent-encoding in the path"), false;
  return true;
}

bool request_parser::parse_header(std::string_view line) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
    return fail(400, "obsolete line folding is not accepted"), false;
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return fail(400, "malformed header field"), false;
  auto name = line.substr(0, colon);
  if (!is_token(name)) return fail(400, "malformed header field name"), false;
  auto value = trim(line.substr(colon + 1));
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return fail(400, "invalid header field value"), false;
  std::string key(name);
  for (auto& c : key) c = lower(c);
  if (key == "host" && request_.header("host")) return fail(400, "two Host fields"), false;
  if (key == "content-length" && request_.header("content-length"))
    return fail(400, "two Content-Length fields"), false;
  request_.headers.emplace_back(std::move(key), std::string(value));
  return true;
}

}  // namespace ipc::http
