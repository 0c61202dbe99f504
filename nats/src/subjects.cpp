// Topic ↔ subject mapping (subjects.hpp).
#include "ipc/nats/subjects.hpp"

#include <utility>

namespace ipc::nats {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";
constexpr std::string_view empty_level = "%00";

bool must_escape(unsigned char c) {
  return c <= 0x20 || c == 0x7f || c == '.' || c == '%' || c == '*' || c == '>';
}

void append_level(std::string& out, std::string_view level) {
  if (level.empty()) {
    out += empty_level;
    return;
  }
  for (char ch : level) {
    auto c = static_cast<unsigned char>(ch);
    if (must_escape(c)) {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 15];
    } else {
      out += ch;
    }
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes one token into `out`; false when it decodes to something no topic level holds.
bool append_token(std::string& out, std::string_view token) {
  if (token == empty_level) return true;
  for (std::size_t i = 0; i < token.size(); ++i) {
    char c = token[i];
    if (c == '%' && i + 2 < token.size() && hex_value(token[i + 1]) >= 0 &&
        hex_value(token[i + 2]) >= 0) {
      c = static_cast<char>(hex_value(token[i + 1]) * 16 + hex_value(token[i + 2]));
      i += 2;
    }
    // The encoder never writes %2F: a decoded '/' would add a level the rule did not name.
    if (c == '\0' || c == '+' || c == '#' || c == '/') return false;
    out += c;
  }
  return true;
}

void append_prefix(std::string& out, std::string_view prefix) {
  if (prefix.empty()) return;
  out += prefix;
  out += '.';
}

template <typename Visit>
void for_each_level(std::string_view topic, Visit visit) {
  std::size_t start = 0;
  while (true) {
    auto slash = topic.find('/', start);
    if (slash == std::string_view::npos) {
      visit(topic.substr(start), true);
      return;
    }
    visit(topic.substr(start, slash - start), false);
    start = slash + 1;
  }
}

}  // namespace

void append_subject(std::string& out, std::string_view topic, std::string_view prefix) {
  append_prefix(out, prefix);
  for_each_level(topic, [&](std::string_view level, bool last) {
    append_level(out, level);
    if (!last) out += '.';
  });
}

std::string topic_to_subject(std::string_view topic, std::string_view prefix) {
  std::string out;
  out.reserve(prefix.size() + topic.size() + 8);
  append_subject(out, topic, prefix);
  return out;
}

std::optional<std::string> subject_to_topic(std::string_view subject, std::string_view prefix) {
  if (!valid_subject(subject, false)) return std::nullopt;
  if (!prefix.empty()) {
    if (subject.size() <= prefix.size() + 1 || !subject.starts_with(prefix) ||
        subject[prefix.size()] != '.')
      return std::nullopt;
    subject.remove_prefix(prefix.size() + 1);
  }
  std::string out;
  out.reserve(subject.size());
  std::size_t start = 0;
  while (true) {
    auto dot = subject.find('.', start);
    auto token = subject.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!append_token(out, token)) return std::nullopt;
    if (dot == std::string_view::npos) break;
    out += '/';
    start = dot + 1;
  }
  if (out.empty()) return std::nullopt;  // "%00" alone: no topic is empty
  return out;
}

subject_patterns pattern_to_subjects(std::string_view pattern, std::string_view prefix) {
  subject_patterns out;
  std::string& s = out.first;
  append_prefix(s, prefix);
  bool parent_too = false;
  bool first_level = true;
  for_each_level(pattern, [&](std::string_view level, bool last) {
    bool at_start = std::exchange(first_level, false);
    if (level == "+") {
      s += '*';
    } else if (level == "#" && last) {
      // '#' matches the parent level too ("a/#" matches "a"); '>' needs one more token.
      if (at_start) {  // "#" alone: every topic, and no parent to add
        s += '>';
        return;
      }
      out.second = s.substr(0, s.size() - 1);  // without the '.' just written
      s += '>';
      parent_too = true;
      return;
    } else {
      append_level(s, level);
    }
    if (!last) s += '.';
  });
  if (!parent_too) out.second.clear();
  return out;
}

bool valid_subject(std::string_view subject, bool wildcards) {
  if (subject.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = subject.find('.', start);
    auto token = subject.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (token.empty()) return false;
    for (char c : token) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) return false;
    }
    bool last = dot == std::string_view::npos;
    if (token.size() == 1 && (token[0] == '*' || token[0] == '>')) {
      if (!wildcards || (token[0] == '>' && !last)) return false;
    }
    if (last) return true;
    start = dot + 1;
  }
}

bool valid_queue_group(std::string_view group) {
  return !group.empty() && group.find('.') == std::string_view::npos && valid_subject(group, false);
}

}  // namespace ipc::nats
