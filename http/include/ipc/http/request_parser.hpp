// An HTTP/1.1 request head parser for the monitoring endpoint (docs/architecture.md §1.1):
// the request line and header fields of RFC 9112, with strict limits, no request bodies.
// Sans-I/O: feed() takes bytes as they arrive and says how many it used, so pipelined
// requests follow one another. Written here rather than taken from a library because
// the endpoint needs only GET and HEAD heads, and a ~200-line parser with its limits in
// plain sight is easier to bound than a general one (docs/architecture.md says more).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipc::http {

// Where the numbers come from: 8 KiB is the request line limit of nginx, Apache and
// Node.js' defaults; 16 KiB of headers and 64 fields are plenty for a browser or a
// Prometheus scraper (Node.js allows 16 KiB of headers in all).
struct limits {
  std::size_t max_request_line = 8 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_headers = 64;
};

struct request {
  std::string method;                                        // as sent (methods are case-sensitive)
  std::string target;                                        // as sent, origin-form: "/path?query"
  std::string path;                                          // percent-decoded
  std::string query;                                         // after '?', not decoded
  int minor_version = 1;                                     // HTTP/1.minor
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  bool keep_alive = true;
  // The first field named `name` (lower case).
  std::optional<std::string_view> header(std::string_view name) const;
};

enum class parse_status { need_more, done, error };

class request_parser {
 public:
  explicit request_parser(limits l = {}) : limits_(l) {}

  // Uses bytes of `data` up to the end of one request head (`used` says how many);
  // need_more when they end first (all were used). After done, result() holds the request
  // and reset() starts the next one; after error, status() and reason() say why (400 Bad
  // Request, 414 URI Too Long, 431 Request Header Fields Too Large, 505 HTTP Version Not
  // Supported) and the connection should be closed.
  parse_status feed(std::span<const char> data, std::size_t& used);
  const request& result() const { return request_; }
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }
  void reset();

 private:
  parse_status fail(int status, std::string reason);
  parse_status parse_head();
  bool parse_request_line(std::string_view line);
  bool parse_header(std::string_view line);

  limits limits_;
  std::string head_;        // the bytes of the head so far
  bool line_done_ = false;  // the request line's LF has come
  request request_;
  int status_ = 0;
  std::string reason_;
  bool failed_ = false;
};

// Decodes %XX escapes; false on a malformed escape or an encoded NUL.
bool percent_decode(std::string_view in, std::string& out);

}  // namespace ipc::http
