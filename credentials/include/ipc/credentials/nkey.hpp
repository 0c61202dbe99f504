// NATS NKeys (docs/uplinks.md §6): Ed25519 keys written as base32 text with a type prefix
// and a CRC-16, as nats-server and the NATS clients read them — a user's seed "SU…" (the
// secret) and public key "U…" — and the signature of a server's nonce that logs a client
// in with one. Ed25519 comes from OpenSSL (not in the Windows build, which has no OpenSSL:
// there read_user_seed() says so).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ipc::credentials {

struct nkey_user {
  std::string public_key;             // "U" + 55 characters
  std::array<std::uint8_t, 32> seed;  // the Ed25519 private key
};

// Reads a user seed ("SU…"; white space around it is ignored): nullopt with `error` when
// it is not one (wrong length, alphabet, type or checksum) or Ed25519 is not available.
std::optional<nkey_user> read_user_seed(std::string_view text, std::string& error);
// The same from a file holding the seed (as NATS' tools write it); `error` names the file.
std::optional<nkey_user> read_user_seed_file(const std::string& path, std::string& error);
// The Ed25519 signature of `nonce` by the key, base64url without padding (NATS' "sig").
std::string sign_nonce(const nkey_user& key, std::string_view nonce);
// A new random user seed, as text (tests; a real deployment makes them with NATS' tools).
std::string new_user_seed();

}  // namespace ipc::credentials
