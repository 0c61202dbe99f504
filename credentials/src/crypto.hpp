// The cryptographic primitives the hashes need, per platform: OpenSSL's libcrypto
// (crypto_openssl.cpp) or Windows' CNG (crypto_windows.cpp), picked by CMake.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ipc::credentials::crypto {

// PBKDF2-HMAC-SHA256 (RFC 8018) of `out.size()` bytes; throws std::runtime_error on failure.
void pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt,
                   std::uint32_t iterations, std::span<std::uint8_t> out);
// `n` bytes from the system's CSPRNG; throws std::runtime_error when there are none.
std::vector<std::uint8_t> random_bytes(std::size_t n);
std::array<std::uint8_t, 32> sha256(std::string_view data);
// Ed25519 (RFC 8032) from a 32-byte private key: its public key, and the signature of
// `message`; both throw std::runtime_error where Ed25519 is not available (Windows).
std::array<std::uint8_t, 32> ed25519_public_key(const std::array<std::uint8_t, 32>& seed);
std::array<std::uint8_t, 64> ed25519_sign(const std::array<std::uint8_t, 32>& seed,
                                          std::string_view message);
// Compares without an early exit, so the time taken does not tell where they differ.
bool equal_constant_time(const std::uint8_t* a, const std::uint8_t* b, std::size_t size);

}  // namespace ipc::credentials::crypto
