// JSON text and files → broker_config: one small reader per section over the defaults,
// reporting every unknown key, wrong type and bad number with its JSON pointer path.
#include <cerrno>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/config/config.hpp"
#include "ipc/transport/shm_ring.hpp"
#include "ipc/transport/url.hpp"
#include "json_reader.hpp"

namespace ipc::config {
namespace {

using namespace detail;

// "0660" → 0660; nullopt unless the text is 1 to 4 octal digits (a leading 0 and the
// three permission digits; validate() checks the value is at most 0777).
std::optional<std::uint32_t> parse_octal(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  std::uint32_t value = 0;
  for (char digit : text) {
    if (digit < '0' || digit > '7') return std::nullopt;
    value = value * 8 + static_cast<std::uint32_t>(digit - '0');
  }
  return value;
}

// A socket mode: an octal string such as "0660", or an integer (the bits' decimal value).
void read_mode(object_reader& reader, std::uint32_t& out) {
  const json* value = reader.find("mode");
  if (!value) return;
  if (value->is_string()) {
    if (auto mode = parse_octal(value->get<std::string>()))
      out = *mode;
    else
      reader.report_at("mode", "expected an octal mode such as \"0660\", got " + describe(*value));
  } else if (value->is_number()) {  // the range (at most 0777) is validate()'s to check
    reader.read("mode", out);
  } else {
    reader.report_at(
        "mode", "expected an octal string such as \"0660\" or an integer, got " + describe(*value));
  }
}

bool is_unix_url(const std::string& url_text) {
  auto parsed = transport::parse_url(transport_url_of(url_text));
  return !parsed.value || parsed.value->kind == transport::scheme::unix_socket;
}

bool is_pipe_url(const std::string& url_text) {
  auto parsed = transport::parse_url(transport_url_of(url_text));
  return parsed.value && parsed.value->kind == transport::scheme::named_pipe;
}

bool is_tls_url(const std::string& url_text) {
  auto parsed = transport::parse_url(transport_url_of(url_text));
  return parsed.value && parsed.value->kind == transport::scheme::tls;
}

// "protocol": "native" | "mqtt" | "http"; mqtt(s):// imply mqtt, http(s):// imply http.
void read_protocol(object_reader& reader, listener& entry) {
  auto implied = protocol_of_scheme(entry.url);
  if (implied) entry.protocol = *implied;
  std::string name;
  if (!reader.find("protocol")) return;
  reader.read("protocol", name);
  if (name == "native" || name == "mqtt" || name == "http") {
    auto chosen = name == "mqtt"   ? listener_protocol::mqtt
                  : name == "http" ? listener_protocol::http
                                   : listener_protocol::native;
    if (implied && *implied != chosen)
      reader.report_at("protocol", "the URL's scheme already says \"" +
                                       std::string(protocol_name(*implied)) + "\"");
    entry.protocol = chosen;
  } else if (!name.empty()) {
    reader.report_at("protocol", "expected \"native\", \"mqtt\" or \"http\", got \"" + name + "\"");
  }
}

// "shm", "shm_ring_bytes", "shm_spin_us": the switch to shared memory (native only).
void read_shm(object_reader& reader, listener& entry) {
  reader.read("shm", entry.shm);
  reader.read("shm_ring_bytes", entry.shm_ring_bytes);
  reader.read("shm_spin_us", entry.shm_spin_us);
  if (reader.find("shm_ring_bytes") && !transport::shm::valid_ring_bytes(entry.shm_ring_bytes))
    reader.report_at("shm_ring_bytes", "must be a power of two from 4096 to 67108864, got " +
                                           std::to_string(entry.shm_ring_bytes));
  if (entry.shm_spin_us > max_shm_spin_us)
    reader.report_at("shm_spin_us", "must be at most " + std::to_string(max_shm_spin_us) +
                                        " (µs), got " + std::to_string(entry.shm_spin_us));
  if (entry.protocol != listener_protocol::native)
    for (std::string_view key : {"shm", "shm_ring_bytes", "shm_spin_us"})
      if (reader.find(key)) reader.report_at(key, "applies only to native-protocol listeners");
}

listener read_listener(const json& value, std::string path, error_list& errors) {
  listener entry;
  object_reader reader(value, std::move(path), errors);
  if (!reader.ok()) return entry;
  if (reader.find("url"))
    reader.read("url", entry.url);
  else
    reader.report_at("url", "missing: every listener needs a url");
  read_protocol(reader, entry);
  if (is_tls_url(entry.url)) {
    reader.read("cert", entry.cert);
    reader.read("key", entry.key);
    reader.read("ca", entry.ca);
    reader.read("require_client_cert", entry.require_client_cert);
  } else {
    for (std::string_view key : {"cert", "key", "ca", "require_client_cert"})
      if (reader.find(key)) reader.report_at(key, "applies only to tls:// listeners");
  }
  if (is_unix_url(entry.url)) {  // an unparsable url is reported by validate()
    read_mode(reader, entry.mode);
    reader.read("group", entry.group);
  } else {
    for (std::string_view key : {"mode", "group"})
      if (reader.find(key)) reader.report_at(key, "applies only to unix:// listeners");
  }
  if (is_unix_url(entry.url) || is_pipe_url(entry.url)) {
    read_shm(reader, entry);
  } else {
    for (std::string_view key : {"shm", "shm_ring_bytes", "shm_spin_us"})
      if (reader.find(key)) reader.report_at(key, "applies only to unix:// and npipe:// listeners");
  }
  if (is_pipe_url(entry.url))
    read_strings(reader, "access", entry.access);
  else if (reader.find("access"))
    reader.report_at("access", "applies only to npipe:// listeners");
  reader.report_unknown_keys();
  return entry;
}

// A given list replaces the default listeners; every entry keeps its index so that
// validate() reports under the same path even when an entry is broken.
void read_listeners(const json& value, std::vector<listener>& out, error_list& errors) {
  if (!value.is_array()) {
    report(errors, "/listeners", "expected an array of listener objects, got " + describe(value));
    return;
  }
  out.clear();
  for (std::size_t index = 0; index < value.size(); ++index)
    out.push_back(read_listener(value[index], "/listeners/" + std::to_string(index), errors));
}

// limits.max_memory: a number of bytes, or a string "N%" of physical memory (1 to 90).
void read_max_memory(object_reader& reader, limits& out) {
  const json* value = reader.find("max_memory");
  if (value == nullptr) return;
  if (value->is_string()) {
    const auto& text = value->get_ref<const std::string&>();
    unsigned percent = 0;
    std::size_t digits = 0;
    while (digits < text.size() && digits < 3 && text[digits] >= '0' && text[digits] <= '9')
      percent = percent * 10 + static_cast<unsigned>(text[digits++] - '0');
    if (digits == 0 || digits + 1 != text.size() || text.back() != '%' || percent < 1 ||
        percent > 90)
      return reader.report_at("max_memory",
                              "expected a number of bytes or a percentage of physical memory "
                              "from \"1%\" to \"90%\", got " +
                                  describe(*value));
    out.max_memory = 0;
    out.max_memory_percent = percent;
    return;
  }
  std::uint64_t bytes = out.max_memory;
  reader.read("max_memory", bytes);
  if (value->is_number_unsigned()) {
    out.max_memory = bytes;
    out.max_memory_percent = 0;
  }
}

void read_limits(const json& value, limits& out, error_list& errors) {
  object_reader reader(value, "/limits", errors);
  reader.read("max_payload", out.max_payload);
  reader.read("max_connections", out.max_connections);
  reader.read("max_connections_per_user", out.max_connections_per_user);
  reader.read("max_pending_bytes", out.max_pending_bytes);
  reader.read("max_subscriptions", out.max_subscriptions);
  reader.read("max_topic_length", out.max_topic_length);
  reader.read("max_topic_levels", out.max_topic_levels);
  reader.read("max_headers", out.max_headers);
  reader.read("max_header_bytes", out.max_header_bytes);
  reader.read("match_cache_entries", out.match_cache_entries);
  reader.read("max_queues", out.max_queues);
  reader.read("default_prefetch", out.default_prefetch);
  reader.read("max_prefetch", out.max_prefetch);
  reader.read("max_pending_requests", out.max_pending_requests);
  reader.read("slow_consumer", out.slow_consumer);
  reader.read("auth_timeout_ms", out.auth_timeout_ms);
  reader.read("keepalive_ms", out.keepalive_ms);
  reader.read("keepalive_max_missed", out.keepalive_max_missed);
  read_max_memory(reader, out);
  reader.read("max_retained", out.max_retained);
  reader.read("max_retained_bytes", out.max_retained_bytes);
  reader.report_unknown_keys();
}

void read_storage(const json& value, storage& out, error_list& errors) {
  object_reader reader(value, "/storage", errors);
  reader.read("dir", out.dir);
  reader.read("fsync", out.fsync);
  reader.read("fsync_interval_ms", out.fsync_interval_ms);
  reader.read("segment_bytes", out.segment_bytes);
  reader.report_unknown_keys();
}

void read_mqtt(const json& value, mqtt& out, error_list& errors) {
  object_reader reader(value, "/mqtt", errors);
  reader.read("max_inflight", out.max_inflight);
  reader.read("receive_maximum", out.receive_maximum);
  reader.read("topic_alias_maximum", out.topic_alias_maximum);
  reader.read("max_queued_messages", out.max_queued_messages);
  reader.read("max_queued_bytes", out.max_queued_bytes);
  reader.read("max_session_expiry", out.max_session_expiry_s);
  reader.read("max_keepalive", out.max_keepalive_s);
  reader.report_unknown_keys();
}

void read_http(const json& value, http& out, error_list& errors) {
  object_reader reader(value, "/http", errors);
  read_strings(reader, "public", out.public_paths);
  reader.read("max_connections", out.max_connections);
  reader.read("request_timeout_ms", out.request_timeout_ms);
  reader.read("idle_timeout_ms", out.idle_timeout_ms);
  reader.report_unknown_keys();
}

void read_log(const json& value, log& out, error_list& errors) {
  object_reader reader(value, "/log", errors);
  reader.read("level", out.level);
  reader.read("format", out.format);
  reader.read("stderr", out.to_stderr);
  reader.read("file", out.file);
  reader.read("max_file_bytes", out.max_file_bytes);
  reader.read("max_files", out.max_files);
  reader.report_unknown_keys();
}

void read_config(const json& document, broker_config& config, error_list& errors) {
  object_reader reader(document, "", errors);
  if (const json* value = reader.find("listeners"))
    read_listeners(*value, config.listeners, errors);
  if (const json* value = reader.find("limits")) read_limits(*value, config.limits, errors);
  if (const json* value = reader.find("storage")) read_storage(*value, config.storage, errors);
  if (const json* value = reader.find("log")) read_log(*value, config.log, errors);
  if (const json* value = reader.find("queues")) read_queues(*value, config.queues, errors);
  if (const json* value = reader.find("auth")) read_auth(*value, config.auth, errors);
  if (const json* value = reader.find("mqtt")) read_mqtt(*value, config.mqtt, errors);
  if (const json* value = reader.find("http")) read_http(*value, config.http, errors);
  if (const json* value = reader.find("uplinks")) read_uplinks(*value, config.uplinks, errors);
  reader.read("sys_interval", config.sys_interval_s);
  reader.report_unknown_keys();
}

// The parser's message without its "[json.exception.parse_error.101] " prefix.
std::string parser_message(const nlohmann::json::exception& failure) {
  std::string_view text = failure.what();
  if (auto end = text.find("] "); text.starts_with("[json.exception.") && end != text.npos)
    text.remove_prefix(end + 2);
  return std::string(text);
}

std::optional<json> parse_document(std::string_view text, error_list& errors) {
  try {
    return json::parse(text);
  } catch (const nlohmann::json::exception& failure) {
    report(errors, "", "invalid JSON: " + parser_message(failure));
    return std::nullopt;
  }
}

// True when `path` is, or lies under, a path that already has a parse error; a value
// that could not be read is not checked again (a bad url type is not also "not a URL").
bool already_reported(const error_list& errors, const std::string& path) {
  for (const error& found : errors)
    if (path == found.path || path.starts_with(found.path + "/")) return true;
  return false;
}

// Reads a whole file; returns why it could not, or nullopt on success.
std::optional<std::string> read_text(const std::string& file_path, std::string& text) {
  std::FILE* file = std::fopen(file_path.c_str(), "rb");
  if (!file) return std::generic_category().message(errno);
  char buffer[64 * 1024];  // 64 KiB: a typical config in one read
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, count);
  const int failure = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (failure != 0) return std::generic_category().message(failure);
  return std::nullopt;
}

}  // namespace

load_result parse(std::string_view json_text, const environment& env) {
  load_result result{default_config(env), {}};
  std::optional<json> document = parse_document(json_text, result.errors);
  if (!document) return result;
  read_config(*document, result.config, result.errors);
  const error_list reading = result.errors;
  for (error& problem : validate(result.config))
    if (!already_reported(reading, problem.path)) result.errors.push_back(std::move(problem));
  return result;
}

load_result load_file(const std::string& file_path, const environment& env) {
  std::string text;
  if (auto failure = read_text(file_path, text))
    return {default_config(env),
            {{"", "cannot read config file '" + file_path + "': " + *failure}}};
  return parse(text, env);
}

}  // namespace ipc::config
