// The HTTP request head parser (http/): every split point, pipelining, keep-alive rules,
// limits, and the malformed heads that get 400, 414, 431 or 505.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ipc/http/request_parser.hpp"

using namespace ipc::http;

namespace {

// Parses `input` fed in pieces (the first `first` bytes, then `step` at a time): the
// requests' targets, or "ERROR <status>" for an error.
std::vector<std::string> parse_all(std::string_view input, std::size_t first, std::size_t step,
                                   limits l = {}) {
  request_parser parser(l);
  std::vector<std::string> out;
  std::size_t at = 0;
  bool head = true;
  while (at < input.size()) {
    std::size_t n = std::min(input.size() - at, head ? first : step);
    head = false;
    std::string_view piece = input.substr(at, n);
    at += n;
    while (!piece.empty()) {
      std::size_t used = 0;
      auto status = parser.feed({piece.data(), piece.size()}, used);
      piece.remove_prefix(used);
      if (status == parse_status::error) {
        out.push_back("ERROR " + std::to_string(parser.status()));
        return out;
      }
      if (status == parse_status::done) {
        const auto& r = parser.result();
        out.push_back(r.method + " " + r.path + (r.keep_alive ? " keep" : " close"));
        parser.reset();
      }
    }
  }
  return out;
}

std::string one(std::string_view input, limits l = {}) {
  auto all = parse_all(input, input.size(), input.size(), l);
  return all.empty() ? "(need more)" : all.front();
}

}  // namespace

TEST_CASE("http parser: pipelined requests at every split point") {
  std::string input =
      "GET /metrics HTTP/1.1\r\nHost: a\r\nUser-Agent: Prometheus/2.45\r\n\r\n"
      "\r\n"  // an empty line between requests is ignored
      "HEAD /api/st%61tus?x=1 HTTP/1.1\r\nhost: a\r\nConnection: close\r\n\r\n"
      "GET / HTTP/1.0\r\n\r\n";
  auto whole = parse_all(input, input.size(), input.size());
  REQUIRE(whole ==
          std::vector<std::string>{"GET /metrics keep", "HEAD /api/status close", "GET / close"});
  for (std::size_t first = 1; first < input.size(); ++first)
    CHECK(parse_all(input, first, input.size()) == whole);
  CHECK(parse_all(input, 1, 1) == whole);
}

TEST_CASE("http parser: fields, query, keep-alive by version and Connection") {
  request_parser parser;
  std::string_view input =
      "GET /api/queues?name=jobs HTTP/1.1\r\nHost: h\r\nX-Custom:  v  \r\n\r\n";
  std::size_t used = 0;
  REQUIRE(parser.feed({input.data(), input.size()}, used) == parse_status::done);
  CHECK(used == input.size());
  const auto& r = parser.result();
  CHECK(r.query == "name=jobs");
  CHECK(r.header("x-custom") == "v");
  CHECK(r.keep_alive);
  CHECK(one("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") == "GET / keep");
  CHECK(one("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n") == "GET / close");
}

TEST_CASE("http parser: malformed heads get 400, 505") {
  CHECK(one("GET /\r\n\r\n") == "ERROR 400");                              // no version
  CHECK(one("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");         // two spaces
  CHECK(one("GET http://x/ HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");  // absolute-form
  CHECK(one("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == "ERROR 505");
  CHECK(one("GET / HTTP/1.1\r\n\r\n") == "ERROR 400");  // no Host
  CHECK(one("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == "ERROR 400");
  CHECK(one("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n") == "ERROR 400");
  CHECK(one("GET / HTTP/1.1\r\nHost h\r\n\r\n") == "ERROR 400");  // no colon
  CHECK(one("GET / HTTP/1.1\r\nBad Name: x\r\nHost: h\r\n\r\n") == "ERROR 400");
  CHECK(one("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");
  CHECK(one("GET /%00 HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");
  CHECK(one("GET /% HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");
  CHECK(one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n") == "ERROR 400");
  CHECK(one("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") == "ERROR 400");
  CHECK(one("G\x01T / HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");
  CHECK(one("GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n") == "ERROR 400");
  // A method the endpoint does not serve still parses: the front-end answers 405 or 501.
  CHECK(one("DELETE / HTTP/1.1\r\nHost: h\r\n\r\n") == "DELETE / keep");
}

TEST_CASE("http parser: limits on the request line, the fields and their number") {
  limits small{32, 64, 3};
  std::string long_line = "GET /" + std::string(40, 'a') + " HTTP/1.1\r\n";
  CHECK(one(long_line, small) == "ERROR 414");
  // Refused as soon as the limit is passed, without waiting for the end of the line.
  CHECK(parse_all(std::string(40, 'G'), 40, 40, small) == std::vector<std::string>{"ERROR 414"});
  std::string many = "GET / HTTP/1.1\r\nHost: h\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n";
  CHECK(one(many, small) == "ERROR 431");
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nx: " + std::string(80, 'v') + "\r\n\r\n";
  CHECK(one(big, small) == "ERROR 431");
  // An endless header section stops at the limit, before a blank line ever comes.
  std::string endless = "GET / HTTP/1.1\r\n" + std::string(200, 'x');
  CHECK(parse_all(endless, endless.size(), 1, small) == std::vector<std::string>{"ERROR 431"});
  CHECK(one("GET / HTTP/1.1\r\nHost: h\r\n\r\n", small) == "GET / keep");
}
