// ipcctl passwd: prints the hash of a password (read from the terminal without echo,
// or the first line of stdin) for auth.users[].password; with --token makes a new random
// token and prints it with its hash, with --hash-token hashes a token of the caller's,
// for auth.tokens[].hash (docs/security.md).
#include <iostream>

#include "common.hpp"
#include "ipc/credentials/password.hpp"
#include "secret_input.hpp"

namespace ipcctl {

void register_passwd(CLI::App& app, global_options& global, int& exit_status) {
  struct args {
    std::uint32_t iterations = ipc::credentials::default_iterations;
    bool token = false;
    bool hash_token = false;
  };
  auto a = std::make_shared<args>();
  auto* cmd = app.add_subcommand("passwd", "print a password hash (or a new token) for the config");
  cmd->add_option("--iterations", a->iterations, "PBKDF2 iterations (default 600000)")
      ->check(CLI::Range(ipc::credentials::min_iterations, ipc::credentials::max_iterations));
  cmd->add_flag("--token", a->token, "make a random token; print it and its hash");
  cmd->add_flag("--hash-token", a->hash_token,
                "print the hash of a token of your own, read like a password");
  cmd->callback([&global, &exit_status, a] {
    if (a->token) {
      auto token = ipc::credentials::generate_token();
      auto hash = ipc::credentials::hash_token(token);
      if (global.json)
        std::cout << nlohmann::json{{"token", token}, {"hash", hash}}.dump() << "\n";
      else
        std::cout << "token: " << token << "\nhash:  " << hash << "\n";
      exit_status = exit_ok;
      return;
    }
    auto password = read_secret(a->hash_token ? "Token: " : "Password: ");
    if (!password || password->empty()) {
      std::cerr << "ipcctl: passwd: no " << (a->hash_token ? "token" : "password")
                << " given (type it, or pipe it on stdin)\n";
      exit_status = exit_usage;
      return;
    }
    if (a->hash_token) {
      auto hash = ipc::credentials::hash_token(*password);
      if (global.json)
        std::cout << nlohmann::json{{"hash", hash}}.dump() << "\n";
      else
        std::cout << hash << "\n";
      exit_status = exit_ok;
      return;
    }
    auto hash = ipc::credentials::hash_password(*password, a->iterations);
    if (global.json)
      std::cout << nlohmann::json{{"hash", hash}}.dump() << "\n";
    else
      std::cout << hash << "\n";
    exit_status = exit_ok;
  });
}

}  // namespace ipcctl
