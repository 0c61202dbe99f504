// The NATS server-operation reader (server_reader.hpp): control lines, then the payload
// of MSG / HMSG by its byte counts. A started message is re-parsed from its control line
// when more bytes come (a few dozen bytes), so the reader keeps no state between calls
// beyond the buffer.
#include "ipc/nats/server_reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace ipc::nats {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Splits `args` at runs of spaces and tabs; false past `max` fields.
template <std::size_t N>
bool split_fields(std::string_view args, std::array<std::string_view, N>& fields,
                  std::size_t& count) {
  count = 0;
  std::size_t i = 0;
  while (i < args.size()) {
    while (i < args.size() && is_space(args[i])) ++i;
    if (i == args.size()) break;
    std::size_t start = i;
    while (i < args.size() && !is_space(args[i])) ++i;
    if (count == N) return false;
    fields[count++] = args.substr(start, i - start);
  }
  return true;
}

// A decimal count of at most 18 digits (no sign, no spaces).
bool parse_count(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 18) return false;
  out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

bool equals_nocase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (x != b[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

std::span<char> server_reader::prepare(std::size_t at_least) {
  if (begin_ == end_) begin_ = end_ = 0;
  std::size_t need = std::max(at_least, wanted_ > buffered() ? wanted_ - buffered() : 0);
  if (buffer_.size() - end_ < need) {
    if (begin_ > 0) {  // move what is left to the front first
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < need) buffer_.resize(end_ + need);
  }
  // A buffer grown for one large message shrinks back once it is read.
  if (begin_ == 0 && end_ == 0 && buffer_.size() > 4 * 65536 && need <= 65536)
    buffer_.resize(65536), buffer_.shrink_to_fit();
  return {buffer_.data() + end_, buffer_.size() - end_};
}

read_status server_reader::fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return read_status::error;
}

read_status server_reader::next(server_op& out) {
  if (failed_) return read_status::error;
  std::string_view data(buffer_.data() + begin_, end_ - begin_);
  auto newline = data.find('\n');
  if (newline == std::string_view::npos) {
    if (data.size() > limits_.max_control_line)
      return fail("control line longer than " + std::to_string(limits_.max_control_line) +
                  " bytes");
    return read_status::need_more;
  }
  if (newline > limits_.max_control_line)
    return fail("control line longer than " + std::to_string(limits_.max_control_line) + " bytes");
  auto line = data.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return parse_line(line, newline + 1, out);
}

read_status server_reader::parse_line(std::string_view line, std::size_t line_end, server_op& out) {
  std::size_t name_end = 0;
  while (name_end < line.size() && !is_space(line[name_end])) ++name_end;
  auto name = line.substr(0, name_end);
  auto args = line.substr(name_end);
  out = server_op{};
  auto done = [&](op_kind kind) {
    out.kind = kind;
    begin_ += line_end;
    wanted_ = 0;
    return read_status::op;
  };
  if (equals_nocase(name, "MSG")) return parse_message(args, false, line_end, out);
  if (equals_nocase(name, "HMSG")) return parse_message(args, true, line_end, out);
  if (equals_nocase(name, "PING") && trim(args).empty()) return done(op_kind::ping);
  if (equals_nocase(name, "PONG") && trim(args).empty()) return done(op_kind::pong);
  if (equals_nocase(name, "+OK") && trim(args).empty()) return done(op_kind::ok);
  if (equals_nocase(name, "INFO")) {
    out.text = trim(args);
    if (out.text.empty() || out.text.front() != '{') return fail("INFO without a JSON object");
    return done(op_kind::info);
  }
  if (equals_nocase(name, "-ERR")) {
    auto text = trim(args);
    if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'')
      text = text.substr(1, text.size() - 2);
    out.text = text;
    return done(op_kind::err);
  }
  std::string shown(line.substr(0, std::min<std::size_t>(line.size(), 32)));
  for (auto& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return fail("unknown operation '" + shown + "'");
}

read_status server_reader::parse_message(std::string_view args, bool with_headers,
                                         std::size_t line_end, server_op& out) {
  // MSG <subject> <sid> [reply-to] <#bytes>
  // HMSG <subject> <sid> [reply-to] <#header bytes> <#total bytes>
  std::array<std::string_view, 5> fields;
  std::size_t count = 0;
  const char* op = with_headers ? "HMSG" : "MSG";
  std::size_t least = with_headers ? 4 : 3;
  if (!split_fields(args, fields, count) || count < least || count > least + 1)
    return fail(std::string(op) + " with a wrong number of arguments");
  std::uint64_t header_bytes = 0, total = 0;
  if (!parse_count(fields[1], out.sid)) return fail(std::string(op) + " with a bad sid");
  if (!parse_count(fields[count - 1], total)) return fail(std::string(op) + " with a bad size");
  if (with_headers) {
    if (!parse_count(fields[count - 2], header_bytes) || header_bytes > total)
      return fail("HMSG with a bad header size");
    if (header_bytes < 12) return fail("HMSG header block too short");  // "NATS/1.0\r\n\r\n"
  }
  if (total > limits_.max_payload)
    return fail(std::string(op) + " of " + std::to_string(total) + " bytes is over the limit (" +
                std::to_string(limits_.max_payload) + ")");
  std::size_t whole = line_end + total + 2;
  if (end_ - begin_ < whole) {
    wanted_ = whole;
    return read_status::need_more;
  }
  const char* body = buffer_.data() + begin_ + line_end;
  if (body[total] != '\r' || body[total + 1] != '\n')
    return fail(std::string(op) + " payload not followed by CRLF");
  out.kind = op_kind::msg;
  out.subject = fields[0];
  out.reply = count == least + 1 ? fields[2] : std::string_view{};
  out.headers = std::string_view(body, header_bytes);
  out.payload = std::string_view(body + header_bytes, total - header_bytes);
  begin_ += whole;
  wanted_ = 0;
  return read_status::op;
}

}  // namespace ipc::nats
