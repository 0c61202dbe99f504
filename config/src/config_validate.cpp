// Semantic checks of a broker_config however it was built: listener URLs, value
// ranges and choices. Returns every problem with its JSON path; each bound says its source.
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ipc/config/config.hpp"
#include "ipc/transport/url.hpp"

namespace ipc::config {
namespace {

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;

// 64 MiB: NATS' ceiling for max_payload ("can be set up to 64MB"); keeps a
// maximal message, and so every frame, far inside a 32-bit length.
constexpr std::uint64_t max_payload_ceiling = 64 * mib;
// 64 KiB of room beside the payload (topic, headers, frame overhead at the default
// limits), so that one maximal message always fits in a subscriber's pending output.
constexpr std::uint64_t pending_headroom = 64 * kib;
// 65535: MQTT's topic limit (a 16-bit length prefix); SPEC §3 shares MQTT's namespace,
// so no topic we accept is one MQTT could not carry.
constexpr std::uint64_t max_topic_length_ceiling = 65535;
// 65535: a message's headers travel as a map with a u16 entry count (docs/protocol.md;
// ipc/protocol/frames.hpp, map_view).
constexpr std::uint64_t max_headers_ceiling = 65535;
// 65535 × 4 = 262140 bytes (about 256 KiB): the ceiling this build sets on one message's
// header block, so headers stay a bounded extra beside max_payload.
constexpr std::uint64_t max_header_bytes_ceiling = 65535 * 4;
// One minute: a batch interval longer than that is "never" in practice.
constexpr std::uint64_t max_fsync_interval_ms = 60000;
constexpr std::uint64_t min_segment_bytes = 64 * 1024;              // a few large messages
constexpr std::uint64_t max_segment_bytes = 1024ull * 1024 * 1024;  // recovery reads one whole
// 0777: the permission bits; setuid/setgid/sticky make no sense on a socket file.
constexpr std::uint32_t max_socket_mode = 0777;

constexpr std::uint64_t unbounded = std::numeric_limits<std::uint64_t>::max();

void add(std::vector<error>& errors, std::string path, std::string message) {
  errors.push_back({std::move(path), std::move(message)});
}

std::string octal(std::uint32_t value) {
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value, 8);
  std::string text = "0";  // appended: GCC 12 at -O3 warns falsely (-Wrestrict) on "0" + …
  text.append(digits, end);
  return text;
}

// Reports `value` outside [low, high]; `why` names where the bound comes from.
void check_range(std::vector<error>& errors, std::string path, std::uint64_t value,
                 std::uint64_t low, std::uint64_t high, std::string_view why = {}) {
  if (value >= low && value <= high) return;
  std::string message =
      high == unbounded ? "must be at least " + std::to_string(low)
                        : "must be between " + std::to_string(low) + " and " + std::to_string(high);
  if (!why.empty()) message += " (" + std::string(why) + ")";
  add(errors, std::move(path), message + ", got " + std::to_string(value));
}

void check_choice(std::vector<error>& errors, std::string path, const std::string& value,
                  std::initializer_list<std::string_view> choices) {
  std::string listed;
  for (std::string_view choice : choices) {
    if (value == choice) return;
    listed += (listed.empty() ? "" : ", ") + std::string(choice);
  }
  add(errors, std::move(path), "must be one of " + listed + "; got '" + value + "'");
}

std::string listener_path(std::size_t index, std::string_view key) {
  return "/listeners/" + std::to_string(index) + "/" + std::string(key);
}

// `seen` maps each canonical URL to the index of the first listener using it.
void validate_listener(const listener& entry, std::size_t index,
                       std::map<std::string, std::size_t>& seen, std::vector<error>& errors) {
  auto parsed = transport::parse_url(transport_url_of(entry.url));
  if (!parsed.value) return add(errors, listener_path(index, "url"), parsed.error);
  const transport::url& url = *parsed.value;
  if (url.kind == transport::scheme::shm)
    return add(errors, listener_path(index, "url"),
               "shm:// is what clients connect to: listen on the unix:// socket with "
               "\"shm\": true");
  if (url.kind == transport::scheme::tls) {
    // Fail closed at --check time: every file must be there and readable.
    auto readable = [&](const std::string& file, std::string_view key, const char* needed) {
      if (file.empty()) {
        if (needed != nullptr) add(errors, listener_path(index, key), needed);
        return;
      }
      std::error_code ec;
      if (!std::filesystem::is_regular_file(file, ec) || !std::ifstream(file).good())
        add(errors, listener_path(index, key), "cannot read '" + file + "'");
    };
    readable(entry.cert, "cert", "a tls:// listener needs it");
    readable(entry.key, "key", "a tls:// listener needs it");
    readable(entry.ca, "ca",
             entry.require_client_cert ? "require_client_cert needs a CA to verify clients with"
                                       : nullptr);
  }
  if (url.kind == transport::scheme::tls && !tls_available())
    add(errors, listener_path(index, "url"), "tls:// listeners are not available in this build");
  if ((url.kind == transport::scheme::named_pipe || url.kind == transport::scheme::unix_socket) &&
      !local_transport_available(transport::scheme_name(url.kind)))
    add(errors, listener_path(index, "url"),
        std::string(transport::scheme_name(url.kind)) +
            ":// listeners are not available on this platform");
  if (entry.protocol != listener_protocol::native && url.kind == transport::scheme::named_pipe)
    add(errors, listener_path(index, "protocol"),
        std::string(protocol_name(entry.protocol)) +
            " is served on tcp://, tls:// and unix:// listeners, not on named pipes");
  if (url.kind == transport::scheme::unix_socket && entry.mode > max_socket_mode)
    add(errors, listener_path(index, "mode"),
        "mode " + octal(entry.mode) + " is out of range (permission bits, at most 0777)");
  // tcp:// and tls:// (and mqtt://, http://, …) on the same host and port cannot both
  // bind; port 0 picks a free port each time, so those never collide.
  bool ip = url.kind == transport::scheme::tls || url.kind == transport::scheme::tcp;
  if (ip && url.port == 0) return;
  std::string key =
      ip ? "tcp-or-tls://" + url.host + ":" + std::to_string(url.port) : url.to_string();
  auto [first, inserted] = seen.emplace(key, index);
  if (!inserted)
    add(errors, listener_path(index, "url"),
        "duplicate listener: '" + url.to_string() + "' uses the address of " +
            listener_path(first->second, "url"));
}

void validate_listeners(const std::vector<listener>& listeners, std::vector<error>& errors) {
  if (listeners.empty()) add(errors, "/listeners", "at least one listener is required");
  std::map<std::string, std::size_t> seen;
  for (std::size_t index = 0; index < listeners.size(); ++index)
    validate_listener(listeners[index], index, seen, errors);
}

void validate_limits(const limits& bounds, std::vector<error>& errors) {
  check_range(errors, "/limits/max_payload", bounds.max_payload, 1, max_payload_ceiling,
              "64 MiB, NATS' ceiling");
  check_range(errors, "/limits/max_connections", bounds.max_connections, 1, unbounded);
  // A maximal MESSAGE: payload, topic and reply_to, every header (4 bytes of lengths
  // each), plus the fixed fields; pending output must hold at least one.
  std::uint64_t maximal_message = std::uint64_t{bounds.max_payload} +
                                  2ull * bounds.max_topic_length + bounds.max_header_bytes +
                                  4ull * bounds.max_headers + pending_headroom;
  check_range(errors, "/limits/max_pending_bytes", bounds.max_pending_bytes, maximal_message,
              unbounded,
              "one maximal message (max_payload + 2 x max_topic_length + max_header_bytes + "
              "4 x max_headers + 64 KiB) must always fit");
  check_range(errors, "/limits/max_subscriptions", bounds.max_subscriptions, 1, unbounded);
  check_choice(errors, "/limits/slow_consumer", bounds.slow_consumer, {"disconnect", "drop"});
  check_range(errors, "/limits/auth_timeout_ms", bounds.auth_timeout_ms, 100, 600000,
              "100 ms to 10 minutes");
  if (bounds.keepalive_ms != 0)
    check_range(errors, "/limits/keepalive_ms", bounds.keepalive_ms, 100, 86400000,
                "0 (off), or 100 ms to a day");
  check_range(errors, "/limits/keepalive_max_missed", bounds.keepalive_max_missed, 1, 100);
  check_range(errors, "/limits/max_topic_length", bounds.max_topic_length, 1,
              max_topic_length_ceiling, "MQTT's topic limit");
  check_range(errors, "/limits/max_topic_levels", bounds.max_topic_levels, 1, 1024,
              "the topic trie recurses once per level");
  check_range(errors, "/limits/max_prefetch", bounds.max_prefetch, 1, unbounded);
  check_range(errors, "/limits/default_prefetch", bounds.default_prefetch, 1, bounds.max_prefetch,
              "limits.max_prefetch");
  check_range(errors, "/limits/max_headers", bounds.max_headers, 0, max_headers_ceiling,
              "the wire's 16-bit header count");
  check_range(errors, "/limits/max_header_bytes", bounds.max_header_bytes, 0,
              max_header_bytes_ceiling, "4 x 65535");
}

void validate_storage(const storage& store, std::vector<error>& errors) {
  check_choice(errors, "/storage/fsync", store.fsync, {"always", "batch", "never"});
  check_range(errors, "/storage/fsync_interval_ms", store.fsync_interval_ms, 1,
              max_fsync_interval_ms, "one minute");
  check_range(errors, "/storage/segment_bytes", store.segment_bytes, min_segment_bytes,
              max_segment_bytes, "64 KiB to 1 GiB");
  if (store.dir.empty())
    add(errors, "/storage/dir", "must not be empty");
  else if (!std::filesystem::path(store.dir).is_absolute())
    add(errors, "/storage/dir", "must be an absolute path, got '" + store.dir + "'");
}

void validate_mqtt(const mqtt& settings, std::vector<error>& errors) {
  check_range(errors, "/mqtt/max_inflight", settings.max_inflight, 1, 65535,
              "MQTT's 16-bit packet identifiers");
  check_range(errors, "/mqtt/receive_maximum", settings.receive_maximum, 1, 65535,
              "MQTT 5 §3.2.2.3.3: 0 is a protocol error");
  check_range(errors, "/mqtt/max_queued_messages", settings.max_queued_messages, 1, unbounded);
  check_range(errors, "/mqtt/max_keepalive", settings.max_keepalive_s, 1, 65535);
  check_range(errors, "/mqtt/max_queued_bytes", settings.max_queued_bytes, 1024, unbounded,
              "at least 1 KiB");
}

void validate_http(const http& settings, std::vector<error>& errors) {
  check_range(errors, "/http/max_connections", settings.max_connections, 1, 65536);
  check_range(errors, "/http/request_timeout_ms", settings.request_timeout_ms, 100, 600000,
              "100 ms to 10 minutes");
  check_range(errors, "/http/idle_timeout_ms", settings.idle_timeout_ms, 100, 3600000,
              "100 ms to an hour");
  for (std::size_t i = 0; i < settings.public_paths.size(); ++i)
    if (!settings.public_paths[i].starts_with('/'))
      add(errors, "/http/public/" + std::to_string(i),
          "a path starts with '/', got '" + settings.public_paths[i] + "'");
}

void validate_log(const log& logging, std::vector<error>& errors) {
  check_choice(errors, "/log/level", logging.level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  check_choice(errors, "/log/format", logging.format, {"text", "json"});
  if (!logging.file.empty() && !std::filesystem::path(logging.file).is_absolute())
    add(errors, "/log/file", "must be an absolute path, got '" + logging.file + "'");
  // 64 KiB: a few hundred lines at least per file; 1 GiB: a ceiling that still lets
  // max_files of them sit on a small disk.
  check_range(errors, "/log/max_file_bytes", logging.max_file_bytes, 64 * 1024,
              1024ull * 1024 * 1024);
  check_range(errors, "/log/max_files", logging.max_files, 1, 100);
  if (!logging.to_stderr && logging.file.empty())
    add(errors, "/log/stderr", "false with no log.file would leave the broker without a log");
}

}  // namespace

void validate_auth(const broker_config& config, std::vector<error>& errors);
void validate_uplinks(const broker_config& config, std::vector<error>& errors);

void validate_queues(const broker_config& config, std::vector<error>& errors) {
  const auto& declared = config.queues.declared;
  if (declared.size() > config.limits.max_queues)
    errors.push_back({"/queues", "more queues declared than limits.max_queues allows"});
  for (const auto& [name, options] : declared) {
    std::string path = "/queues/" + name;  // names never contain '/' or '~' when valid
    for (auto& problem : validate_queue(name, options, path)) errors.push_back(std::move(problem));
  }
}

std::vector<error> validate(const broker_config& config) {
  std::vector<error> errors;
  validate_listeners(config.listeners, errors);
  validate_limits(config.limits, errors);
  validate_mqtt(config.mqtt, errors);
  validate_http(config.http, errors);
  if (config.sys_interval_s != 0)
    check_range(errors, "/sys_interval", config.sys_interval_s, 1, 86400,
                "0 (off), or 1 s to a day");
  validate_queues(config, errors);
  validate_storage(config.storage, errors);
  validate_auth(config, errors);
  validate_uplinks(config, errors);
  validate_log(config.log, errors);
  return errors;
}

}  // namespace ipc::config
