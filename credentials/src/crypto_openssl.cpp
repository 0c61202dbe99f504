// crypto on OpenSSL 3's libcrypto.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

#include "crypto.hpp"

namespace ipc::credentials::crypto {

void pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt,
                   std::uint32_t iterations, std::span<std::uint8_t> out) {
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1)
    throw std::runtime_error("PBKDF2 failed");
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("no random bytes from OpenSSL");
  return out;
}

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size) {
  return CRYPTO_memcmp(a, b, size) == 0;
}

namespace {
struct pkey_deleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
std::unique_ptr<EVP_PKEY, pkey_deleter> ed25519_key(const std::array<std::uint8_t, 32>& seed) {
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) throw std::runtime_error("OpenSSL: cannot make an Ed25519 key");
  return key;
}
}  // namespace

std::array<std::uint8_t, 32> ed25519_public_key(const std::array<std::uint8_t, 32>& seed) {
  auto key = ed25519_key(seed);
  std::array<std::uint8_t, 32> out{};
  std::size_t size = out.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), out.data(), &size) != 1 || size != out.size())
    throw std::runtime_error("OpenSSL: cannot read an Ed25519 public key");
  return out;
}

std::array<std::uint8_t, 64> ed25519_sign(const std::array<std::uint8_t, 32>& seed,
                                          std::string_view message) {
  auto key = ed25519_key(seed);
  std::array<std::uint8_t, 64> out{};
  std::size_t size = out.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok =
      ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestSign(ctx, out.data(), &size, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) == 1 &&
      size == out.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: Ed25519 signing failed");
  return out;
}

}  // namespace ipc::credentials::crypto
