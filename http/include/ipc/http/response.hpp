// HTTP/1.1 responses of the monitoring endpoint: the status line, the headers every
// answer carries (Content-Type, Content-Length, Cache-Control, the connection's fate) and
// the body, or no body for HEAD. Standard library only.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipc::http {

struct response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more, e.g. WWW-Authenticate
};

// The reason phrase of a status code ("OK", "Not Found", …).
std::string_view reason_phrase(int status);

// The bytes of `r`: with `head` the body is left out (its length still given); with
// `keep_alive` false the response says Connection: close.
std::string serialize(const response& r, bool head, bool keep_alive);

// A short text answer for an error status ("404 Not Found\n").
response error_response(int status, std::string_view detail = {});

}  // namespace ipc::http
