// ipcctl shared pieces: global options, exit codes (SPEC §6), error reporting,
// durations, output helpers. Every command talks to the broker through ipcd::client.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ipc/client.hpp"
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
  bool shared_memory = true;      // --no-shm turns it off
  std::uint32_t shm_spin_us = 0;  // --shm-spin

  std::optional<std::chrono::milliseconds> timeout;  // parsed from timeout_text
  ipc::client_options client_options() const;
};

void add_global_options(CLI::App& app, global_options& options);

// Parses "500ms", "2s", "1m", "1.5s", or a plain number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);
// Parses an RFC 3339 time: 2026-12-24T18:00:00Z, with optional fractional seconds and a
// Z or ±HH:MM offset ('t', 'z' and a space for the T are accepted too).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text);

// The exit code for an error from the client library or the broker.
int exit_code_for(std::error_code ec);
// Connects `client`; on failure prints why and returns the exit code (else exit_ok).
int connect(ipc::Client& client, const std::string& url);
// Prints "ipcctl: <what>: <reason>" to stderr and returns the matching exit code.
int fail(const std::string& what, std::error_code ec, const std::string& detail = {});

// Renders rows as an aligned text table with a header line.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

std::string base64(std::string_view bytes);
bool is_valid_utf8(std::string_view text);

// Sends one admin command (docs/protocol.md §5.2); on success stores the JSON answer.
int admin_call(const global_options& global, const std::string& command, const nlohmann::json& args,
               nlohmann::json& answer);
std::string human_bytes(std::uint64_t bytes);

// "k=v" items of -H options; false (after a message) when one is malformed.
bool parse_headers(const std::vector<std::string>& items, ipc::headers& out);
// Adds the message attributes of --retain and --ttl DURATION (docs/protocol.md §4.1.1) to
// `out`; false (after a message) when the duration is malformed.
bool add_attributes(bool retain, const std::string& ttl, ipc::headers& out);
// The payload argument, or standard input when it is absent or "-".
std::string read_payload(const std::optional<std::string>& argument);

// Prints received messages (payload; -v: topic and payload; --json: one object a line)
// and waits for --count of them, a signal, or --timeout.
class printer {
 public:
  printer(std::uint64_t count, bool verbose, bool json, bool quiet = false)
      : count_(count), verbose_(verbose), json_(json), quiet_(quiet) {}
  // Prints `m` unless the count was reached; thread-safe. Returns whether it printed.
  bool print(const ipc::message& m);
  // Exit code: 0 after the count or SIGINT/SIGTERM, 3 when the timeout passed first.
  int wait(const std::optional<std::chrono::milliseconds>& timeout, const std::string& what);
  std::uint64_t printed() const;

 private:
  std::string render(const ipc::message& m) const;
  std::uint64_t count_;  // 0: until interrupted
  bool verbose_, json_, quiet_;
  mutable std::mutex mutex_;
  std::condition_variable done_;
  std::uint64_t printed_ = 0;
};

// Commands register themselves on the app; each returns through `exit_status`.
void register_pubsub(CLI::App& app, global_options& global, int& exit_status);
void register_admin(CLI::App& app, global_options& global, int& exit_status);
void register_bench(CLI::App& app, global_options& global, int& exit_status);
void register_queue_benches(CLI::App* bench, global_options& global, int& exit_status);
void register_delay_bench(CLI::App* bench, global_options& global, int& exit_status);
void register_queues(CLI::App& app, global_options& global, int& exit_status);
void register_queue_admin(CLI::App& app, global_options& global, int& exit_status);
void register_passwd(CLI::App& app, global_options& global, int& exit_status);
void register_config_admin(CLI::App& app, global_options& global, int& exit_status);
void register_uplinks(CLI::App& app, global_options& global, int& exit_status);

}  // namespace ipcctl
