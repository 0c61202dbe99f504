// The NATS/1.0 header block (client_ops.hpp): MIME-style "Name: value" lines after a
// version line that may carry a status code (503 = no responders, 408 = request timeout).
#include <cstdint>

#include "ipc/nats/client_ops.hpp"

namespace ipc::nats {

namespace {
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}
}  // namespace

bool header_block::add(std::string_view name, std::string_view value) {
  if (finished_ || name.empty()) return false;
  for (char c : name)
    if (c == ':' || c == ' ' || is_control(c)) return false;
  for (char c : value)
    if (c == '\r' || c == '\n') return false;
  text_ += name;
  text_ += ": ";
  text_ += value;
  text_ += "\r\n";
  ++count_;
  return true;
}

const std::string& header_block::finish() {
  if (!finished_) {
    text_ += "\r\n";
    finished_ = true;
  }
  return text_;
}

std::optional<parsed_headers> parse_header_block(std::string_view block) {
  constexpr std::string_view version = "NATS/1.0";
  if (!block.starts_with(version) || !block.ends_with("\r\n\r\n")) return std::nullopt;
  parsed_headers out;
  auto first_end = block.find("\r\n");
  auto status_line = trim(block.substr(version.size(), first_end - version.size()));
  if (!status_line.empty()) {
    std::size_t digits = 0;
    while (digits < status_line.size() && digits < 3 && status_line[digits] >= '0' &&
           status_line[digits] <= '9')
      ++digits;
    if (digits != 3 || (status_line.size() > 3 && status_line[3] != ' ' && status_line[3] != '\t'))
      return std::nullopt;
    out.status =
        (status_line[0] - '0') * 100 + (status_line[1] - '0') * 10 + (status_line[2] - '0');
    out.description = trim(status_line.substr(3));
  }
  std::size_t at = first_end + 2;
  const std::size_t end = block.size() - 2;  // the final empty line
  while (at < end) {
    auto line_end = block.find("\r\n", at);
    auto line = block.substr(at, line_end - at);
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    auto name = line.substr(0, colon);
    for (char c : name)
      if (c == ' ' || is_control(c)) return std::nullopt;
    auto value = trim(line.substr(colon + 1));
    for (char c : value)
      if (c == '\r' || c == '\n') return std::nullopt;
    out.fields.emplace_back(name, value);
    at = line_end + 2;
  }
  return out;
}

}  // namespace ipc::nats
