// record: encoding and checked decoding of segment headers and records, and the
// resynchronising segment scan.
#include "ipc/storage/record.hpp"

#include <cstring>

#include "ipc/storage/crc32c.hpp"

namespace ipc::storage {
namespace {

constexpr std::uint8_t magic[8] = {'I', 'P', 'C', 'D', 'L', 'O', 'G', '\n'};

void put32(std::uint8_t* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
std::uint32_t get32(const std::uint8_t* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
std::uint64_t get64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool known_type(std::uint8_t type) { return type >= 1 && type <= 3; }

}  // namespace

read_status read_record(std::span<const std::uint8_t> in, record& out, std::size_t& size) {
  if (in.size() < 8) return read_status::incomplete;
  std::uint32_t length = get32(in.data());
  if ((length ^ get32(in.data() + 4)) != 0xFFFFFFFFu || length > max_record_body)
    return read_status::corrupt;
  if (in.size() < record_header_size || in.size() - record_header_size < length)
    return read_status::incomplete;
  const std::uint8_t* p = in.data();
  std::uint32_t crc = crc32c(in.subspan(12, 4 + std::size_t{length}));
  if (crc != get32(p + 8) || !known_type(p[12]) || p[13] != format_version || p[14] != 0 ||
      p[15] != 0)
    return read_status::corrupt;
  out.type = static_cast<record_type>(p[12]);
  out.version = p[13];
  out.body = in.subspan(record_header_size, length);
  size = record_header_size + length;
  return read_status::ok;
}

void append_record(std::vector<std::uint8_t>& out, record_type type,
                   std::span<const std::uint8_t> body) {
  std::size_t at = out.size();
  out.resize(at + record_header_size + body.size());
  std::uint8_t* p = out.data() + at;
  auto length = static_cast<std::uint32_t>(body.size());
  put32(p, length);
  put32(p + 4, ~length);
  p[12] = static_cast<std::uint8_t>(type);
  p[13] = format_version;
  p[14] = p[15] = 0;
  if (!body.empty()) std::memcpy(p + record_header_size, body.data(), body.size());
  put32(p + 8, crc32c({p + 12, 4 + body.size()}));
}

void append_segment_header(std::vector<std::uint8_t>& out, std::uint32_t segment) {
  std::size_t at = out.size();
  out.resize(at + segment_header_size);
  std::memcpy(out.data() + at, magic, sizeof magic);
  put32(out.data() + at + 8, format_version);
  put32(out.data() + at + 12, segment);
}

bool valid_segment_header(std::span<const std::uint8_t> in, std::uint32_t& segment) {
  if (in.size() < segment_header_size || std::memcmp(in.data(), magic, sizeof magic) != 0 ||
      get32(in.data() + 8) != format_version)
    return false;
  segment = get32(in.data() + 12);
  return true;
}

void append_message(std::vector<std::uint8_t>& out, const message_record& m) {
  // Built in place: header, fixed fields, body, then the checksum over all of it.
  std::size_t at = out.size();
  std::size_t body = message_record_fixed + m.body.size();
  out.resize(at + record_header_size + body);
  std::uint8_t* p = out.data() + at;
  put32(p, static_cast<std::uint32_t>(body));
  put32(p + 4, ~static_cast<std::uint32_t>(body));
  p[12] = static_cast<std::uint8_t>(record_type::message);
  p[13] = format_version;
  p[14] = p[15] = 0;
  std::uint8_t* b = p + record_header_size;
  put32(b, m.queue);
  put64(b + 4, m.id);
  put32(b + 12, m.delivery_count);
  put64(b + 16, m.expires_unix_ms);
  if (!m.body.empty()) std::memcpy(b + message_record_fixed, m.body.data(), m.body.size());
  put32(p + 8, crc32c({p + 12, 4 + body}));
}

void append_ref(std::vector<std::uint8_t>& out, record_type type, const ref_record& r) {
  std::uint8_t body[12];
  put32(body, r.queue);
  put64(body + 4, r.id);
  append_record(out, type, body);
}

bool parse(const record& in, message_record& out) {
  if (in.type != record_type::message || in.body.size() < message_record_fixed) return false;
  const std::uint8_t* b = in.body.data();
  out.queue = get32(b);
  out.id = get64(b + 4);
  out.delivery_count = get32(b + 12);
  out.expires_unix_ms = get64(b + 16);
  out.body = in.body.subspan(message_record_fixed);
  return true;
}

bool parse(const record& in, ref_record& out) {
  if (in.type == record_type::message || in.body.size() != 12) return false;
  out.queue = get32(in.body.data());
  out.id = get64(in.body.data() + 4);
  return true;
}

scan_report scan_segment(std::span<const std::uint8_t> data,
                         const std::function<void(const record&)>& visit) {
  scan_report report;
  std::uint32_t number = 0;
  report.bad_header = !valid_segment_header(data, number);
  std::size_t pos = report.bad_header ? 0 : segment_header_size;
  report.valid_end = pos;
  while (pos < data.size()) {
    record r;
    std::size_t size = 0;
    if (read_record(data.subspan(pos), r, size) == read_status::ok) {
      visit(r);
      ++report.records;
      pos += size;
      report.valid_end = pos;
      continue;
    }
    // Damage (or a tail cut short): look for the next offset where a whole valid record
    // starts. The length/complement check rejects almost every offset before any CRC.
    std::size_t next = pos + 1;
    for (; next + record_header_size <= data.size(); ++next) {
      record probe;
      std::size_t probe_size = 0;
      if (read_record(data.subspan(next), probe, probe_size) == read_status::ok) break;
    }
    if (next + record_header_size > data.size()) {
      report.torn_tail = true;  // nothing valid after: a torn or zero-filled tail
      break;
    }
    ++report.corrupt;
    pos = next;
  }
  return report;
}

}  // namespace ipc::storage
