// libFuzzer target: the durable log's record codec and segment scanner (docs/storage.md
// §2, §5) on arbitrary bytes. Every record the scanner reports must decode again on its
// own, lie inside the input, and the scan must end inside the input. Run by
// scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "ipc/storage/record.hpp"

using namespace ipc::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> input(data, size);
  auto report = scan_segment(input, [&](const record& r) {
    if (r.body.data() < data || r.body.data() + r.body.size() > data + size) std::abort();
    message_record m;
    ref_record ref;
    if (r.type == record_type::message) {
      if (parse(r, m) && (m.body.data() + m.body.size() != r.body.data() + r.body.size()))
        std::abort();
    } else {
      (void)parse(r, ref);
    }
  });
  if (report.valid_end > size) std::abort();
  // The same bytes read as one record, whole and in two halves.
  record r;
  std::size_t used = 0;
  if (read_record(input, r, used) == read_status::ok && used > size) std::abort();
  auto half = input.first(size / 2);
  if (read_record(half, r, used) == read_status::ok && used > half.size()) std::abort();
  return 0;
}
