// The Authorization header of a request (RFC 9110 §11.6.2): Basic credentials (RFC 7617:
// base64 of "user:password") or a Bearer token (RFC 6750). Standard library only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ipc::http {

struct credentials {
  enum class kind { basic, bearer } scheme = kind::basic;
  std::string user, password;  // basic
  std::string token;           // bearer
};

// The credentials of an Authorization header value; nullopt when it is neither scheme or
// is malformed (bad base64, no colon).
std::optional<credentials> parse_authorization(std::string_view value);

// Standard base64 (RFC 4648 §4), padding required; false on anything else.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace ipc::http
