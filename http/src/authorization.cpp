// parse_authorization: Basic and Bearer credentials.
#include "ipc/http/authorization.hpp"

#include <cstdint>

namespace ipc::http {

namespace {
int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] - 'A' + 'a') : b[i];
    if (x != y) return false;
  }
  return true;
}
}  // namespace

bool base64_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 != 0) return false;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      char c = in[i + j];
      if (c == '=' && i + 4 == in.size() && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad != 0 || (v[j] = sextet(c)) < 0) return false;
    }
    std::uint32_t bits = static_cast<std::uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out += static_cast<char>(bits >> 16 & 0xff);
    if (pad < 2) out += static_cast<char>(bits >> 8 & 0xff);
    if (pad < 1) out += static_cast<char>(bits & 0xff);
  }
  return true;
}

std::optional<credentials> parse_authorization(std::string_view value) {
  auto space = value.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto scheme = value.substr(0, space);
  auto rest = value.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return std::nullopt;
  credentials out;
  if (equal_ignoring_case(scheme, "basic")) {
    std::string decoded;
    if (!base64_decode(rest, decoded)) return std::nullopt;
    auto colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    out.scheme = credentials::kind::basic;
    out.user = decoded.substr(0, colon);
    out.password = decoded.substr(colon + 1);
    return out;
  }
  if (equal_ignoring_case(scheme, "bearer")) {
    out.scheme = credentials::kind::bearer;
    out.token = std::string(rest);
    return out;
  }
  return std::nullopt;
}

}  // namespace ipc::http
