// crypto on Windows' CNG (bcrypt.dll): no OpenSSL needed in the Windows build.
#include <windows.h>
// windows.h first: bcrypt.h needs its types.
#include <bcrypt.h>

#include <stdexcept>
#include <string>

#include "crypto.hpp"

namespace ipc::credentials::crypto {
namespace {

bool succeeded(NTSTATUS status) { return status >= 0; }

// An algorithm provider, closed when it goes out of scope.
class provider {
 public:
  explicit provider(ULONG flags) {
    if (!succeeded(BCryptOpenAlgorithmProvider(&handle_, BCRYPT_SHA256_ALGORITHM, nullptr, flags)))
      throw std::runtime_error("CNG: no SHA-256 provider");
  }
  ~provider() { BCryptCloseAlgorithmProvider(handle_, 0); }
  provider(const provider&) = delete;
  provider& operator=(const provider&) = delete;
  BCRYPT_ALG_HANDLE get() const { return handle_; }

 private:
  BCRYPT_ALG_HANDLE handle_ = nullptr;
};

PUCHAR bytes(const void* data) { return static_cast<PUCHAR>(const_cast<void*>(data)); }

}  // namespace

void pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt,
                   std::uint32_t iterations, std::span<std::uint8_t> out) {
  provider hmac(BCRYPT_ALG_HANDLE_HMAC_FLAG);
  if (!succeeded(BCryptDeriveKeyPBKDF2(hmac.get(), bytes(password.data()),
                                       static_cast<ULONG>(password.size()), bytes(salt.data()),
                                       static_cast<ULONG>(salt.size()), iterations, out.data(),
                                       static_cast<ULONG>(out.size()), 0)))
    throw std::runtime_error("PBKDF2 failed");
}

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (!succeeded(BCryptGenRandom(nullptr, out.data(), static_cast<ULONG>(n),
                                 BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
    throw std::runtime_error("no random bytes from CNG");
  return out;
}

std::array<std::uint8_t, 32> sha256(std::string_view data) {
  std::array<std::uint8_t, 32> digest{};
  provider plain(0);
  BCRYPT_HASH_HANDLE hash = nullptr;
  if (!succeeded(BCryptCreateHash(plain.get(), &hash, nullptr, 0, nullptr, 0, 0)))
    throw std::runtime_error("CNG: cannot create a SHA-256 hash");
  bool ok =
      succeeded(BCryptHashData(hash, bytes(data.data()), static_cast<ULONG>(data.size()), 0)) &&
      succeeded(BCryptFinishHash(hash, digest.data(), static_cast<ULONG>(digest.size()), 0));
  BCryptDestroyHash(hash);
  if (!ok) throw std::runtime_error("CNG: SHA-256 failed");
  return digest;
}

bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size) {
  volatile std::uint8_t difference = 0;  // volatile: every byte is compared
  for (std::size_t i = 0; i < size; ++i) difference = difference | (a[i] ^ b[i]);
  return difference == 0;
}

// CNG has no Ed25519 on the Windows versions the build targets: NKeys are refused there.
std::array<std::uint8_t, 32> ed25519_public_key(const std::array<std::uint8_t, 32>&) {
  throw std::runtime_error("NKeys (Ed25519) are not available in the Windows build");
}
std::array<std::uint8_t, 64> ed25519_sign(const std::array<std::uint8_t, 32>&, std::string_view) {
  throw std::runtime_error("NKeys (Ed25519) are not available in the Windows build");
}

}  // namespace ipc::credentials::crypto
