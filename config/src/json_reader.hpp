// Reading JSON config sections: paths (RFC 6901), value descriptions, unsigned
// numbers, and object_reader, which reports unknown keys. Shared by the section readers.
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ipc/config/config.hpp"

namespace ipc::config::detail {

using json = nlohmann::ordered_json;  // ordered: unknown keys are reported in file order
using error_list = std::vector<error>;

inline void report(error_list& errors, std::string path, std::string message) {
  errors.push_back({std::move(path), std::move(message)});
}

// RFC 6901: inside a path segment '~' is written "~0" and '/' is written "~1".
inline std::string child_path(const std::string& parent, std::string_view key) {
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
inline std::string describe(const json& value) {
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
inline std::optional<std::uint64_t> to_unsigned(const json& value, const std::string& path,
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
  error_list& errors() { return errors_; }
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

  void read(std::string_view key, bool& out) {
    const json* value = find(key);
    if (!value) return;
    if (value->is_boolean())
      out = value->get<bool>();
    else
      report_at(key, "expected true or false, got " + describe(*value));
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

// An array of strings at `key` (absent: `out` unchanged).
inline void read_strings(object_reader& reader, std::string_view key,
                         std::vector<std::string>& out) {
  const json* value = reader.find(key);
  if (!value) return;
  if (!value->is_array()) return reader.report_at(key, "expected an array of strings");
  out.clear();
  for (std::size_t i = 0; i < value->size(); ++i) {
    if ((*value)[i].is_string())
      out.push_back((*value)[i].get<std::string>());
    else
      report(reader.errors(), reader.path_of(key) + "/" + std::to_string(i),
             "expected a string, got " + describe((*value)[i]));
  }
}

// Section readers that live in their own files.
void read_queues(const json& value, queues& out, error_list& errors);
void read_auth(const json& value, auth& out, error_list& errors);
void read_uplinks(const json& value, std::vector<uplink>& out, error_list& errors);

}  // namespace ipc::config::detail
