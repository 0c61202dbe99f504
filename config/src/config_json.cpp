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
#include "ipc/transport/url.hpp"

namespace ipc::config {
namespace {

using json = nlohmann::ordered_json;  // ordered: unknown keys are reported in file order
using error_list = std::vector<error>;

void report(error_list& errors, std::string path, std::string message) {
  errors.push_back({std::move(path), std::move(message)});
}

// RFC 6901: inside a path segment '~' is written "~0" and '/' is written "~1".
std::string child_path(const std::string& parent, std::string_view key) {
  std::string path = parent + "/";
  for (char c : key) {
    if (c == '~')
      path += "~0";
    else if (c == '/')
      path += "~1";
    else
      path += c;
  }
  return path;
}

// A value as messages show it: `string "1MiB"`, `number -5`, `array`, `null`.
// 40 bytes of JSON are enough to recognise a value without flooding the line.
std::string describe(const json& value) {
  if (value.is_object() || value.is_array() || value.is_null()) return value.type_name();
  std::string text = value.dump();
  if (text.size() > 40) {
    std::size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return std::string(value.type_name()) + " " + text;
}

// A non-negative integer no larger than `max`, or a reported error and nullopt.
std::optional<std::uint64_t> to_unsigned(const json& value, const std::string& path,
                                         std::uint64_t max, error_list& errors) {
  const std::string range = "out of range: at most " + std::to_string(max);
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number <= max) return number;
    report(errors, path, range + ", got " + std::to_string(number));
  } else if (value.is_number_integer()) {
    report(errors, path, "must not be negative, got " + value.dump());
  } else if (value.is_number_float()) {
    // Integers the parser could not hold in 64 bits (2^64 = 0x1p64 and up) arrive as floats.
    const double number = value.get<double>();
    const bool too_big = number >= 0x1p64 || number > static_cast<double>(max);
    if (number < 0)
      report(errors, path, "must not be negative, got " + value.dump());
    else if (std::floor(number) == number && too_big)
      report(errors, path, range + ", got " + value.dump());
    else
      report(errors, path, "expected an integer without fraction or exponent, got " + value.dump());
  } else {
    report(errors, path, "expected a non-negative integer, got " + describe(value));
  }
  return std::nullopt;
}

// Reads the members of one JSON object; keys nobody asked for are unknown keys.
class object_reader {
 public:
  object_reader(const json& value, std::string path, error_list& errors)
      : object_(value.is_object() ? &value : nullptr), path_(std::move(path)), errors_(errors) {
    if (!object_) report(errors_, path_, "expected an object, got " + describe(value));
  }

  bool ok() const { return object_ != nullptr; }
  std::string path_of(std::string_view key) const { return child_path(path_, key); }
  void report_at(std::string_view key, std::string message) {
    report(errors_, path_of(key), std::move(message));
  }

  // The member `key`, or nullptr when absent; either way `key` becomes a known key.
  const json* find(std::string_view key) {
    if (!contains(known_, key)) known_.push_back(key);
    if (!object_) return nullptr;
    auto member = object_->find(std::string(key));
    return member == object_->end() ? nullptr : &*member;
  }

  template <std::unsigned_integral number>
  void read(std::string_view key, number& out) {
    const json* value = find(key);
    if (!value) return;
    const auto max = std::numeric_limits<number>::max();
    if (auto parsed = to_unsigned(*value, path_of(key), max, errors_))
      out = static_cast<number>(*parsed);
  }

  void read(std::string_view key, std::string& out) {
    const json* value = find(key);
    if (!value) return;
    if (value->is_string())
      out = value->get<std::string>();
    else
      report_at(key, "expected a string, got " + describe(*value));
  }

  // Keys of SPEC §7 that later releases read; refused today with a clearer message.
  void planned(std::initializer_list<std::string_view> keys) { planned_ = keys; }

  // Reports every member no read asked for; call once, after the reads.
  void report_unknown_keys() {
    if (!object_) return;
    for (const auto& [key, value] : object_->items()) {
      if (contains(known_, key)) continue;
      std::string message = "unknown key '" + key + "'";
      if (contains(planned_, key))
        message += ": not supported yet in this build";
      else
        message += " (expected one of: " + known_list() + ")";
      report_at(key, std::move(message));
    }
  }

 private:
  static bool contains(const std::vector<std::string_view>& keys, std::string_view key) {
    for (std::string_view known : keys)
      if (known == key) return true;
    return false;
  }

  std::string known_list() const {
    std::string listed;
    for (std::string_view key : known_) listed += (listed.empty() ? "" : ", ") + std::string(key);
    return listed;
  }

  const json* object_;
  std::string path_;
  error_list& errors_;
  std::vector<std::string_view> known_;
  std::vector<std::string_view> planned_;
};

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
  auto parsed = transport::parse_url(url_text);
  return !parsed.value || parsed.value->kind == transport::scheme::unix_socket;
}

listener read_listener(const json& value, std::string path, error_list& errors) {
  listener entry;
  object_reader reader(value, std::move(path), errors);
  if (!reader.ok()) return entry;
  if (reader.find("url"))
    reader.read("url", entry.url);
  else
    reader.report_at("url", "missing: every listener needs a url");
  reader.planned({"cert", "key", "ca", "require_client_cert"});
  if (is_unix_url(entry.url)) {  // an unparsable url is reported by validate()
    read_mode(reader, entry.mode);
    reader.read("group", entry.group);
  } else {
    for (std::string_view key : {"mode", "group"})
      if (reader.find(key)) reader.report_at(key, "applies only to unix:// listeners");
  }
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

void read_limits(const json& value, limits& out, error_list& errors) {
  object_reader reader(value, "/limits", errors);
  reader.read("max_payload", out.max_payload);
  reader.read("max_connections", out.max_connections);
  reader.read("max_pending_bytes", out.max_pending_bytes);
  reader.read("max_subscriptions", out.max_subscriptions);
  reader.read("max_topic_length", out.max_topic_length);
  reader.read("max_topic_levels", out.max_topic_levels);
  reader.read("max_headers", out.max_headers);
  reader.read("max_header_bytes", out.max_header_bytes);
  reader.read("match_cache_entries", out.match_cache_entries);
  reader.report_unknown_keys();
}

void read_storage(const json& value, storage& out, error_list& errors) {
  object_reader reader(value, "/storage", errors);
  reader.read("dir", out.dir);
  reader.read("fsync", out.fsync);
  reader.read("fsync_interval_ms", out.fsync_interval_ms);
  reader.report_unknown_keys();
}

void read_log(const json& value, log& out, error_list& errors) {
  object_reader reader(value, "/log", errors);
  reader.read("level", out.level);
  reader.read("format", out.format);
  reader.report_unknown_keys();
}

void read_config(const json& document, broker_config& config, error_list& errors) {
  object_reader reader(document, "", errors);
  if (const json* value = reader.find("listeners"))
    read_listeners(*value, config.listeners, errors);
  if (const json* value = reader.find("limits")) read_limits(*value, config.limits, errors);
  if (const json* value = reader.find("storage")) read_storage(*value, config.storage, errors);
  if (const json* value = reader.find("log")) read_log(*value, config.log, errors);
  reader.planned({"queues", "auth"});
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
