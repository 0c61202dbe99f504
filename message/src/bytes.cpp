// Big-endian writers.
#include "ipc/message/bytes.hpp"

namespace ipc::message_record {

void put_u8(byte_buffer& out, std::uint8_t v) { out.push_back(v); }

void put_u16(byte_buffer& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put_u32(byte_buffer& out, std::uint32_t v) {
  auto at = out.size();
  out.resize(at + 4);
  store_u32(out.data() + at, v);
}

void put_u64(byte_buffer& out, std::uint64_t v) {
  auto at = out.size();
  out.resize(at + 8);
  store_u64(out.data() + at, v);
}

void put_str16(byte_buffer& out, std::string_view s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void put_bytes32(byte_buffer& out, std::span<const std::uint8_t> b) {
  put_u32(out, static_cast<std::uint32_t>(b.size()));
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace ipc::message_record
