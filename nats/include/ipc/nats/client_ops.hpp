// What a NATS client sends (the NATS client protocol): CONNECT, PUB / HPUB, SUB, UNSUB,
// PING and PONG, each appended whole to an output buffer, and the NATS/1.0 header block
// of HPUB / HMSG, built and parsed. Subjects and queue groups are checked by the caller
// (subjects.hpp); these only write. Standard library only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipc::nats {

// CONNECT <json>: `options_json` is the options object, made by the caller.
void encode_connect(std::string& out, std::string_view options_json);
// PUB <subject> [reply] <#bytes>, or HPUB with a header block (header_block.hpp) when
// `headers` is not empty.
void encode_pub(std::string& out, std::string_view subject, std::string_view reply,
                std::string_view headers, std::string_view payload);
// The control line of a PUB / HPUB whose header block and payload the caller writes
// (gathered output): with `headers_size` 0 a PUB.
void encode_pub_line(std::string& out, std::string_view subject, std::string_view reply,
                     std::size_t headers_size, std::size_t payload_size);
void encode_sub(std::string& out, std::string_view subject, std::string_view queue_group,
                std::uint64_t sid);
void encode_unsub(std::string& out, std::uint64_t sid, std::uint64_t max_messages = 0);
void encode_ping(std::string& out);
void encode_pong(std::string& out);

// A NATS/1.0 header block: "NATS/1.0[ code[ description]]\r\n", "Name: value\r\n" lines,
// then "\r\n".
class header_block {
 public:
  header_block() { reset(); }
  // Empty again, keeping the buffer (one block reused for every message).
  void reset() {
    text_.assign("NATS/1.0\r\n");
    count_ = 0;
    finished_ = false;
  }
  // False (and nothing added) when the name is empty or holds ':', a space or a control
  // character, or the value holds CR or LF: such a header cannot be carried.
  bool add(std::string_view name, std::string_view value);
  bool empty() const { return count_ == 0; }
  // The whole block, ended ("\r\n" appended on the first call).
  const std::string& finish();

 private:
  std::string text_;
  std::size_t count_ = 0;
  bool finished_ = false;
};

struct parsed_headers {
  int status = 0;  // the inline status ("NATS/1.0 503"), 0 when none
  std::string_view description;
  std::vector<std::pair<std::string_view, std::string_view>> fields;  // in order, names as sent
};
// Parses a header block as HMSG delivers it; nullopt when it is not one. Values are
// trimmed; a line without ':' is refused. Views point into `block`.
std::optional<parsed_headers> parse_header_block(std::string_view block);

}  // namespace ipc::nats
