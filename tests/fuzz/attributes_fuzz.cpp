// libFuzzer target: message attributes (docs/protocol.md §4.1.1) on arbitrary bytes read
// as an encoded header map. What read_attributes accepts, attributes_of must read the
// same; a record rewritten for dead-lettering must decode, without ipc-ttl, with every
// header that is not reserved kept in order. Run by scripts/fuzz.sh.
#include <cstdlib>
#include <string>
#include <vector>

#include "ipc/message/attributes.hpp"

using namespace ipc::message_record;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  byte_cursor in({data, size});
  map_view headers = read_map(in);
  if (!in.ok()) return 0;
  attributes checked;
  std::string problem = read_attributes(headers, checked);
  attributes seen = attributes_of(headers);
  if (problem.empty() && (seen.retain != checked.retain || seen.ttl_ms != checked.ttl_ms ||
                          checked.ttl_ms > max_ttl_ms || seen.retained))
    std::abort();

  byte_buffer record;
  const std::uint8_t payload[] = {1, 2, 3};
  encode_record(record, 7, 9, "t", "", {{}, &headers}, payload);
  fields f;
  if (!decode_record(record, f)) std::abort();
  const std::pair<std::string_view, std::string_view> added[] = {{attribute::death_reason, "x"}};
  byte_buffer rewritten;
  encode_rewritten(rewritten, f, kept_when_dead_lettered, added);
  fields g;
  if (!decode_record(rewritten, g) || g.message_id != 7 || g.payload.size() != 3) std::abort();
  std::vector<std::string_view> before, after;
  for (auto e : f.headers)
    if (!is_reserved(e.key)) before.push_back(e.key);
  for (auto e : g.headers) {
    if (!is_reserved(e.key)) after.push_back(e.key);
    if (e.key == attribute::ttl) std::abort();
  }
  if (before != after) std::abort();
  return 0;
}
