// NKey text (nkey.hpp): base32 (RFC 4648, no padding) of prefix bytes, the key, and a
// CRC-16/XMODEM of them in little-endian order, as github.com/nats-io/nkeys writes them.
#include "ipc/credentials/nkey.hpp"

#include <fstream>
#include <iterator>
#include <vector>

#include "crypto.hpp"

namespace ipc::credentials {

namespace {

constexpr std::uint8_t prefix_seed = 18 << 3;  // 'S'
constexpr std::uint8_t prefix_user = 20 << 3;  // 'U'
constexpr char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::uint16_t crc16(const std::uint8_t* data, std::size_t size) {
  std::uint16_t crc = 0;
  for (std::size_t i = 0; i < size; ++i) {
    crc = static_cast<std::uint16_t>(crc ^ (data[i] << 8));
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

std::string base32(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (auto byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += base32_alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32_alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

bool unbase32(std::string_view text, std::vector<std::uint8_t>& out) {
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
    if (value < 0) return false;
    buffer = (buffer << 5) | static_cast<unsigned>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return true;
}

std::vector<std::uint8_t> with_crc(std::vector<std::uint8_t> bytes) {
  auto crc = crc16(bytes.data(), bytes.size());
  bytes.push_back(static_cast<std::uint8_t>(crc & 0xff));
  bytes.push_back(static_cast<std::uint8_t>(crc >> 8));
  return bytes;
}

std::string user_public_key(const std::array<std::uint8_t, 32>& seed) {
  auto pub = crypto::ed25519_public_key(seed);
  std::vector<std::uint8_t> bytes{prefix_user};
  bytes.insert(bytes.end(), pub.begin(), pub.end());
  return base32(with_crc(std::move(bytes)));
}

std::string seed_text(const std::array<std::uint8_t, 32>& seed) {
  std::vector<std::uint8_t> bytes{static_cast<std::uint8_t>(prefix_seed | (prefix_user >> 5)),
                                  static_cast<std::uint8_t>((prefix_user & 31) << 3)};
  bytes.insert(bytes.end(), seed.begin(), seed.end());
  return base32(with_crc(std::move(bytes)));
}

std::string base64url(const std::uint8_t* data, std::size_t size) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < size; i += 3) {
    unsigned v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  if (size - i == 1) {
    unsigned v = data[i] << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
  } else if (size - i == 2) {
    unsigned v = (data[i] << 16) | (data[i + 1] << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
  }
  return out;
}

}  // namespace

std::optional<nkey_user> read_user_seed(std::string_view text, std::string& error) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' || text.front() == '\r' ||
                           text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.remove_suffix(1);
  std::vector<std::uint8_t> raw;
  if (text.size() != 58 || !unbase32(text, raw) || raw.size() != 36) {
    error = "not an NKey seed (58 characters of base32, \"SU...\")";
    return std::nullopt;
  }
  auto crc = crc16(raw.data(), 34);
  if (raw[34] != (crc & 0xff) || raw[35] != (crc >> 8)) {
    error = "the NKey seed's checksum does not match (a typing error?)";
    return std::nullopt;
  }
  std::uint8_t type = static_cast<std::uint8_t>(((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3));
  if ((raw[0] & 0xf8) != prefix_seed || type != prefix_user) {
    error = "not a user NKey seed (it must start with \"SU\")";
    return std::nullopt;
  }
  nkey_user key;
  std::copy(raw.begin() + 2, raw.begin() + 34, key.seed.begin());
  try {
    key.public_key = user_public_key(key.seed);
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
  return key;
}

std::optional<nkey_user> read_user_seed_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.is_open() || text.empty()) {
    error = "cannot read an NKey seed from '" + path + "'";
    return std::nullopt;
  }
  if (text.size() > 4096) {
    error = "'" + path + "' is not an NKey seed file (too long)";
    return std::nullopt;
  }
  auto key = read_user_seed(text, error);
  if (!key) error = "'" + path + "': " + error;
  return key;
}

std::string sign_nonce(const nkey_user& key, std::string_view nonce) {
  auto signature = crypto::ed25519_sign(key.seed, nonce);
  return base64url(signature.data(), signature.size());
}

std::string new_user_seed() {
  auto bytes = crypto::random_bytes(32);
  std::array<std::uint8_t, 32> seed{};
  std::copy(bytes.begin(), bytes.end(), seed.begin());
  return seed_text(seed);
}

}  // namespace ipc::credentials
