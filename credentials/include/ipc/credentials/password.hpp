// Password and token hashes (docs/security.md §2): self-describing strings, so the
// algorithm and cost can change without a config format change.
//   password: "$pbkdf2-sha256$i=ITERATIONS$SALT$HASH"  (PBKDF2-HMAC-SHA256 via OpenSSL,
//             16-byte random salt, 32-byte hash, both base64 without padding)
//   token:    "sha256$HEX"  (tokens are 32 random bytes: a fast hash is enough)
// Comparisons are constant-time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ipc::credentials {

// OWASP's Password Storage Cheat Sheet (2023) recommends 600 000 for PBKDF2-HMAC-SHA256.
inline constexpr std::uint32_t default_iterations = 600'000;
inline constexpr std::uint32_t min_iterations = 10'000;
inline constexpr std::uint32_t max_iterations = 100'000'000;

std::string hash_password(std::string_view password, std::uint32_t iterations = default_iterations);
bool verify_password(std::string_view encoded, std::string_view password);

std::string generate_token();               // 32 random bytes, base64url without padding
std::string random_hex(std::size_t bytes);  // from OpenSSL's CSPRNG

// Random bytes from OpenSSL's CSPRNG, drawn 4 KiB at a time: for values made on a hot
// path (a request's reply address), where one call per value would cost a system call
// each (OpenSSL checks for a fork with getpid). One thread at a time.
class random_pool {
 public:
  // Appends 2 × `bytes` hex digits to `out`; `bytes` at most 64.
  void append_hex(std::string& out, std::size_t bytes);

 private:
  std::vector<std::uint8_t> pool_;
  std::size_t used_ = 0;
};
std::string hash_token(std::string_view token);
bool verify_token(std::string_view encoded, std::string_view token);

// Format checks for config validation: "" when well-formed, else the problem.
std::string check_password_hash(std::string_view encoded);
std::string check_token_hash(std::string_view encoded);

}  // namespace ipc::credentials
