// ipcctl shared pieces: global options, exit codes (SPEC §6), error reporting,
// durations, output helpers. Every command talks to the broker through ipcd::client.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include "ipc/types.hpp"

namespace ipcctl {

// SPEC §6 exit codes.
enum exit_code : int {
  exit_ok = 0,
  exit_usage = 1,
  exit_connect = 2,  // cannot connect or authenticate
  exit_timeout = 3,  // timeout or no responders
  exit_refused = 4,  // refused by the broker (permission, limit, unknown queue, bad name)
};

struct global_options {
  std::string url;
  std::string user, password, token;
  std::string ca, cert, key;
  std::string timeout_text;
  bool json = false;

  std::optional<std::chrono::milliseconds> timeout;  // parsed from timeout_text
  ipc::client_options client_options() const;
};

void add_global_options(CLI::App& app, global_options& options);

// Parses "500ms", "2s", "1m", "1.5s", or a plain number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

// The exit code for an error from the client library or the broker.
int exit_code_for(std::error_code ec);
// Prints "ipcctl: <what>: <reason>" to stderr and returns the matching exit code.
int fail(const std::string& what, std::error_code ec, const std::string& detail = {});

// Renders rows as an aligned text table with a header line.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

std::string base64(std::string_view bytes);
bool is_valid_utf8(std::string_view text);

// Commands register themselves on the app; each returns through `exit_status`.
void register_pubsub(CLI::App& app, global_options& global, int& exit_status);
void register_admin(CLI::App& app, global_options& global, int& exit_status);
void register_bench(CLI::App& app, global_options& global, int& exit_status);

}  // namespace ipcctl
