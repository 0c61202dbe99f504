// password: the hash formats (PBKDF2-SHA256 for passwords, SHA-256 for tokens), base64 and
// hex codecs, format parsing; the primitives come from crypto.hpp.
#include "ipc/credentials/password.hpp"

#include <charconv>
#include <stdexcept>
#include <vector>

#include "crypto.hpp"

namespace ipc::credentials {
namespace {

constexpr std::string_view prefix = "$pbkdf2-sha256$";
constexpr std::size_t salt_bytes = 16, hash_bytes = 32;
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64(const std::uint8_t* data, std::size_t size, const char* alphabet) {
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (std::size_t i = 0; i < size; ++i) {
    bits = (bits << 8) | data[i];
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += alphabet[(bits >> count) & 63];
    }
  }
  if (count > 0) out += alphabet[(bits << (6 - count)) & 63];
  return out;
}

bool unbase64(std::string_view text, std::vector<std::uint8_t>& out) {
  out.clear();
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const char* at = std::char_traits<char>::find(b64, 64, c);
    if (at == nullptr) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(at - b64);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> count));
    }
  }
  return true;
}

void append_hex(std::string& out, const std::uint8_t* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t at = out.size();
  out.resize(at + 2 * size);
  char* to = out.data() + at;
  for (std::size_t i = 0; i < size; ++i) {
    *to++ = digits[data[i] >> 4];
    *to++ = digits[data[i] & 15];
  }
}

std::string hex(const std::uint8_t* data, std::size_t size) {
  std::string out;
  append_hex(out, data, size);
  return out;
}

struct parsed_hash {
  std::uint32_t iterations = 0;
  std::vector<std::uint8_t> salt, hash;
};

std::string parse(std::string_view encoded, parsed_hash& out) {
  if (!encoded.starts_with(prefix))
    return "not a password hash made by 'ipcctl passwd' (expected $pbkdf2-sha256$...)";
  encoded.remove_prefix(prefix.size());
  if (!encoded.starts_with("i=")) return "missing i=ITERATIONS";
  encoded.remove_prefix(2);
  auto [end, ec] = std::from_chars(encoded.data(), encoded.data() + encoded.size(), out.iterations);
  if (ec != std::errc() || end == encoded.data()) return "bad iteration count";
  encoded.remove_prefix(static_cast<std::size_t>(end - encoded.data()));
  if (out.iterations < min_iterations || out.iterations > max_iterations)
    return "iteration count outside " + std::to_string(min_iterations) + " to " +
           std::to_string(max_iterations);
  if (!encoded.starts_with("$")) return "missing salt";
  encoded.remove_prefix(1);
  auto dollar = encoded.find('$');
  if (dollar == std::string_view::npos) return "missing hash";
  if (!unbase64(encoded.substr(0, dollar), out.salt) || out.salt.size() < 8) return "bad salt";
  if (!unbase64(encoded.substr(dollar + 1), out.hash) || out.hash.size() != hash_bytes)
    return "bad hash";
  return {};
}

std::vector<std::uint8_t> pbkdf2(std::string_view password, const std::vector<std::uint8_t>& salt,
                                 std::uint32_t iterations) {
  std::vector<std::uint8_t> out(hash_bytes);
  crypto::pbkdf2_sha256(password, salt, iterations, out);
  return out;
}

using crypto::random_bytes;

}  // namespace

std::string hash_password(std::string_view password, std::uint32_t iterations) {
  auto salt = random_bytes(salt_bytes);
  auto hash = pbkdf2(password, salt, iterations);
  return std::string(prefix) + "i=" + std::to_string(iterations) + "$" +
         base64(salt.data(), salt.size(), b64) + "$" + base64(hash.data(), hash.size(), b64);
}

bool verify_password(std::string_view encoded, std::string_view password) {
  parsed_hash parsed;
  if (!parse(encoded, parsed).empty()) return false;
  auto computed = pbkdf2(password, parsed.salt, parsed.iterations);
  return crypto::equal_constant_time(computed.data(), parsed.hash.data(), hash_bytes);
}

std::string generate_token() {
  auto bytes = random_bytes(32);
  return base64(bytes.data(), bytes.size(), b64url);
}

std::string random_hex(std::size_t bytes) {
  auto data = random_bytes(bytes);
  return hex(data.data(), data.size());
}

void random_pool::append_hex(std::string& out, std::size_t bytes) {
  constexpr std::size_t batch = 4096;
  if (pool_.size() < used_ + bytes) {
    pool_ = random_bytes(batch);
    used_ = 0;
  }
  ipc::credentials::append_hex(out, pool_.data() + used_, bytes);
  used_ += bytes;
}

std::string hash_token(std::string_view token) {
  auto digest = crypto::sha256(token);
  return "sha256$" + hex(digest.data(), digest.size());
}

bool verify_token(std::string_view encoded, std::string_view token) {
  if (!check_token_hash(encoded).empty()) return false;
  auto computed = hash_token(token);
  return computed.size() == encoded.size() &&
         crypto::equal_constant_time(reinterpret_cast<const std::uint8_t*>(computed.data()),
                                     reinterpret_cast<const std::uint8_t*>(encoded.data()),
                                     encoded.size());
}

std::string check_password_hash(std::string_view encoded) {
  parsed_hash parsed;
  return parse(encoded, parsed);
}

std::string check_token_hash(std::string_view encoded) {
  if (!encoded.starts_with("sha256$") || encoded.size() != 7 + 64)
    return "not a token hash made by 'ipcctl passwd --token' (expected sha256$ and 64 hex digits)";
  for (char c : encoded.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return "bad hex digit";
  return {};
}

}  // namespace ipc::credentials
