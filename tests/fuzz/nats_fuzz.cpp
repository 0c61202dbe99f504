// libFuzzer target: the NATS codec (nats/). The bytes go to the server-operation reader in
// two halves; every message it accepts must have sizes that add up, and its header block,
// when parsed, must hold only well-formed fields. The same bytes are also read as a
// subject: one that decodes to a topic must map back to an equivalent subject (a fixed
// point after one round), and as a topic pattern, whose subject patterns must be valid.
// Run by scripts/fuzz.sh.
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "ipc/nats/client_ops.hpp"
#include "ipc/nats/server_reader.hpp"
#include "ipc/nats/subjects.hpp"

using namespace ipc::nats;

namespace {

void read_ops(std::string_view input) {
  server_reader reader({256, 1024});
  std::size_t half = input.size() / 2;
  for (auto piece : {input.substr(0, half), input.substr(half)}) {
    if (piece.empty()) continue;
    auto room = reader.prepare(piece.size());
    if (room.size() < piece.size()) std::abort();
    std::memcpy(room.data(), piece.data(), piece.size());
    reader.commit(piece.size());
    server_op op;
    while (true) {
      auto status = reader.next(op);
      if (status == read_status::need_more) break;
      if (status == read_status::error) {
        if (reader.error_text().empty()) std::abort();
        return;
      }
      if (op.kind != op_kind::msg) continue;
      if (op.subject.empty() || op.headers.size() + op.payload.size() > 1024) std::abort();
      if (!op.headers.empty()) {
        if (op.headers.size() < 12) std::abort();
        if (auto parsed = parse_header_block(op.headers)) {
          for (const auto& [name, value] : parsed->fields)
            if (name.empty() || name.find(':') != std::string_view::npos ||
                value.find('\n') != std::string_view::npos)
              std::abort();
        }
      }
    }
  }
}

void map_subject(std::string_view input) {
  auto topic = subject_to_topic(input);
  if (!topic) return;
  if (topic->empty() || topic->find('\0') != std::string::npos) std::abort();
  auto subject = topic_to_subject(*topic);
  if (!valid_subject(subject, false)) std::abort();
  if (subject_to_topic(subject) != *topic) std::abort();
}

void map_pattern(std::string_view input) {
  if (input.empty() || input.find('\0') != std::string_view::npos) return;
  // Only grammatical patterns: wildcards as whole levels, '#' last.
  std::size_t start = 0;
  while (true) {
    auto slash = input.find('/', start);
    auto level = input.substr(start, slash == std::string_view::npos ? slash : slash - start);
    bool last = slash == std::string_view::npos;
    if ((level.find('+') != std::string_view::npos && level != "+") ||
        (level.find('#') != std::string_view::npos && (level != "#" || !last)))
      return;
    if (last) break;
    start = slash + 1;
  }
  auto patterns = pattern_to_subjects(input);
  if (!valid_subject(patterns.first, true)) std::abort();
  if (!patterns.second.empty() && !valid_subject(patterns.second, true)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  read_ops(input);
  map_subject(input);
  map_pattern(input);
  return 0;
}
