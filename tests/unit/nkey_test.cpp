// NATS NKeys (credentials/nkey): a user seed read back to its public key and a nonce's
// signature, against the values another NKey implementation gives for the same seed
// (github.com/mmmries/nkeys, test/nkeys_test.exs), and seeds that are not ones.
#include <doctest/doctest.h>

#include <fstream>

#include "ipc/credentials/nkey.hpp"
#include "temp_dir.hpp"

using namespace ipc::credentials;

TEST_CASE("nkeys: a user seed gives the public key and signature other implementations give") {
  std::string error;
  auto key =
      read_user_seed("  SUAMLK2ZNL35WSMW37E7UD4VZ7ELPKW7DHC3BWBSD2GCZ7IUQQXZIORRBU\n", error);
  REQUIRE_MESSAGE(key, error);
  CHECK(key->public_key == "UCK5N7N66OBOINFXAYC2ACJQYFSOD4VYNU6APEJTAVFZB2SVHLKGEW7L");
  CHECK(sign_nonce(*key, "iBFByN3zQjAT7dQ") ==
        "kagPGrixaWS5yuHqw9nTQrda1Q376fK3fRCGtYdF4_w2aSk-4O7Ca0JM0qvzm69HH6MoMps2yF6Q0Qs830JZCA");
}

TEST_CASE("nkeys: new seeds read back, damaged ones and other kinds are refused") {
  auto seed = new_user_seed();
  CHECK(seed.size() == 58);
  CHECK(seed.starts_with("SU"));
  std::string error;
  auto key = read_user_seed(seed, error);
  REQUIRE_MESSAGE(key, error);
  CHECK(key->public_key.size() == 56);
  CHECK(key->public_key.starts_with("U"));
  auto damaged = seed;
  damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
  CHECK_FALSE(read_user_seed(damaged, error));
  CHECK(error.find("checksum") != std::string::npos);
  CHECK_FALSE(read_user_seed(seed.substr(1), error));
  CHECK_FALSE(read_user_seed("su" + seed.substr(2), error));
  // An operator seed ("SO…", from nkeys.net's README): not a user's.
  CHECK_FALSE(read_user_seed("SOAELH6NJCEK4HST5644G4HK7TOAFZGRRJHNM4EUKUY7PPNDLIKO5IH4JM", error));
  CHECK(error.find("user") != std::string::npos);
  ipc::test::temp_dir dir;
  std::ofstream(dir.file("user.nk")) << seed << "\n";
  auto from_file = read_user_seed_file(dir.file("user.nk"), error);
  REQUIRE_MESSAGE(from_file, error);
  CHECK(from_file->public_key == key->public_key);
  CHECK_FALSE(read_user_seed_file(dir.file("missing.nk"), error));
  CHECK(error.find("missing.nk") != std::string::npos);
}
