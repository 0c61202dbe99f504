// read_attributes: the reserved `ipc-` headers of a message, checked.
#include "ipc/message/attributes.hpp"

#include <charconv>

namespace ipc::message_record {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equal_lower(std::string_view key, std::string_view lowercase) {
  if (key.size() != lowercase.size()) return false;
  for (std::size_t i = 0; i < key.size(); ++i)
    if (lower(key[i]) != lowercase[i]) return false;
  return true;
}

bool read_flag(std::string_view value, bool& out) {
  if (value == "1" || value == "true") return out = true, true;
  if (value == "0" || value == "false") return out = false, true;
  return false;
}

bool read_count(std::string_view value, std::uint64_t& out) {
  if (value.empty() || value.size() > 20) return false;
  for (char c : value)
    if (c < '0' || c > '9') return false;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  return ec == std::errc() && end == value.data() + value.size();
}

std::string quoted(std::string_view key) { return "'" + std::string(key) + "'"; }

}  // namespace

bool is_reserved(std::string_view key) {
  return key.size() >= reserved_prefix.size() &&
         equal_lower(key.substr(0, reserved_prefix.size()), reserved_prefix);
}

bool is_key(std::string_view key, std::string_view reserved_key) {
  return equal_lower(key, reserved_key);
}

std::string read_attributes(const map_view& headers, attributes& out) {
  out = {};
  bool seen_retain = false, seen_ttl = false, seen_priority = false, seen_delay = false,
       seen_deliver_at = false, seen_content_type = false, seen_payload_format = false,
       seen_correlation = false, seen_uplink = false;
  for (auto entry : headers) {
    if (!is_reserved(entry.key)) continue;
    if (equal_lower(entry.key, attribute::qos)) {
      if (out.qos != attributes::no_qos)
        return "header " + quoted(attribute::qos) + " is given twice";
      if (entry.value.size() != 1 || entry.value[0] < '0' || entry.value[0] > '2')
        return "header " + quoted(attribute::qos) + " must be 0, 1 or 2";
      out.qos = static_cast<std::uint8_t>(entry.value[0] - '0');
    } else if (equal_lower(entry.key, attribute::content_type) ||
               equal_lower(entry.key, attribute::correlation)) {
      bool& seen =
          equal_lower(entry.key, attribute::content_type) ? seen_content_type : seen_correlation;
      if (seen) return "header " + quoted(entry.key) + " is given twice";
      seen = true;
    } else if (equal_lower(entry.key, attribute::uplink)) {
      if (seen_uplink) return "header " + quoted(attribute::uplink) + " is given twice";
      seen_uplink = true;
    } else if (equal_lower(entry.key, attribute::payload_format)) {
      if (seen_payload_format)
        return "header " + quoted(attribute::payload_format) + " is given twice";
      seen_payload_format = true;
      if (entry.value != "0" && entry.value != "1")
        return "header " + quoted(attribute::payload_format) + " must be 0 or 1";
    } else if (equal_lower(entry.key, attribute::retain)) {
      if (seen_retain) return "header " + quoted(attribute::retain) + " is given twice";
      seen_retain = true;
      if (!read_flag(entry.value, out.retain))
        return "header " + quoted(attribute::retain) + " must be 1, 0, true or false";
    } else if (equal_lower(entry.key, attribute::ttl)) {
      if (seen_ttl) return "header " + quoted(attribute::ttl) + " is given twice";
      seen_ttl = true;
      if (!read_count(entry.value, out.ttl_ms) || out.ttl_ms == 0 || out.ttl_ms > max_ttl_ms)
        return "header " + quoted(attribute::ttl) +
               " must be a whole number of milliseconds from 1 to " + std::to_string(max_ttl_ms);
    } else if (equal_lower(entry.key, attribute::priority)) {
      if (seen_priority) return "header " + quoted(attribute::priority) + " is given twice";
      seen_priority = true;
      std::uint64_t value = 0;
      if (!read_count(entry.value, value) || value > 255)
        return "header " + quoted(attribute::priority) + " must be a whole number from 0 to 255";
      out.priority = static_cast<std::uint8_t>(value);
    } else if (equal_lower(entry.key, attribute::delay)) {
      if (seen_delay) return "header " + quoted(attribute::delay) + " is given twice";
      seen_delay = true;
      if (!read_count(entry.value, out.delay_ms) || out.delay_ms == 0 || out.delay_ms > max_ttl_ms)
        return "header " + quoted(attribute::delay) +
               " must be a whole number of milliseconds from 1 to " + std::to_string(max_ttl_ms);
    } else if (equal_lower(entry.key, attribute::deliver_at)) {
      if (seen_deliver_at) return "header " + quoted(attribute::deliver_at) + " is given twice";
      seen_deliver_at = true;
      if (!read_count(entry.value, out.deliver_at_ms) || out.deliver_at_ms == 0)
        return "header " + quoted(attribute::deliver_at) +
               " must be a time in milliseconds since the UNIX epoch";
    } else if (equal_lower(entry.key, attribute::retained) ||
               (entry.key.size() >= attribute::death_prefix.size() &&
                equal_lower(entry.key.substr(0, attribute::death_prefix.size()),
                            attribute::death_prefix))) {
      return "header " + quoted(entry.key) + " is set by the broker, not by a client";
    } else {
      return "unknown reserved header " + quoted(entry.key) +
             " (headers starting with 'ipc-' are the broker's)";
    }
  }
  if (seen_delay && seen_deliver_at)
    return "headers " + quoted(attribute::delay) + " and " + quoted(attribute::deliver_at) +
           " exclude each other";
  return {};
}

bool kept_when_scheduled(std::string_view key) { return !equal_lower(key, attribute::delay); }

bool kept_when_dead_lettered(std::string_view key) {
  if (!is_reserved(key)) return true;
  if (equal_lower(key, attribute::ttl)) return false;
  return !(key.size() >= attribute::death_prefix.size() &&
           equal_lower(key.substr(0, attribute::death_prefix.size()), attribute::death_prefix));
}

void encode_rewritten(byte_buffer& out, const fields& f, bool (*keep)(std::string_view key),
                      string_pairs add) {
  byte_buffer headers;
  std::uint16_t count = 0;
  put_u16(headers, 0);
  for (auto entry : f.headers) {
    if (!keep(entry.key)) continue;
    put_str16(headers, entry.key);
    put_str16(headers, entry.value);
    ++count;
  }
  for (const auto& [key, value] : add) {
    if (count == 0xffff) break;  // a map holds no more (only past any configurable limit)
    put_str16(headers, key);
    put_str16(headers, value);
    ++count;
  }
  headers[0] = static_cast<std::uint8_t>(count >> 8);
  headers[1] = static_cast<std::uint8_t>(count & 0xff);
  map_view view(headers, count);
  encode_record(out, f.message_id, f.timestamp_ns, f.topic, f.reply_to, {{}, &view}, f.payload);
}

attributes attributes_of(const map_view& headers) {
  attributes out;
  for (auto entry : headers) {
    if (!is_reserved(entry.key)) continue;
    if (equal_lower(entry.key, attribute::retain)) {
      read_flag(entry.value, out.retain);
    } else if (equal_lower(entry.key, attribute::ttl)) {
      if (!read_count(entry.value, out.ttl_ms)) out.ttl_ms = 0;
    } else if (equal_lower(entry.key, attribute::priority)) {
      std::uint64_t value = 0;
      if (read_count(entry.value, value) && value <= 255)
        out.priority = static_cast<std::uint8_t>(value);
    } else if (equal_lower(entry.key, attribute::deliver_at)) {
      if (!read_count(entry.value, out.deliver_at_ms)) out.deliver_at_ms = 0;
    } else if (equal_lower(entry.key, attribute::retained)) {
      read_flag(entry.value, out.retained);
    } else if (equal_lower(entry.key, attribute::qos)) {
      if (entry.value.size() == 1 && entry.value[0] >= '0' && entry.value[0] <= '2')
        out.qos = static_cast<std::uint8_t>(entry.value[0] - '0');
    }
  }
  return out;
}

}  // namespace ipc::message_record
