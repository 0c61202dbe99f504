// Big-endian primitives shared by every ipcd byte layout that is not a storage record:
// writers that append to a byte buffer, and a bounds-checked cursor that reads one.
// Standard library only (the message record and the native frames are built on them).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace ipc::message_record {

using byte_buffer = std::vector<std::uint8_t>;

void put_u8(byte_buffer& out, std::uint8_t v);
void put_u16(byte_buffer& out, std::uint16_t v);
void put_u32(byte_buffer& out, std::uint32_t v);
void put_u64(byte_buffer& out, std::uint64_t v);
void put_str16(byte_buffer& out, std::string_view s);  // caller guarantees size ≤ 65535
void put_bytes32(byte_buffer& out, std::span<const std::uint8_t> b);

// Big-endian <-> native for the fixed-width fields: one byte swap on little-endian
// machines (a load or store of the swapped value, where a byte at a time would cost a
// shift and a move per byte, or confuse the vectoriser).
template <typename T>
constexpr T big_endian(T v) {
  // GCC and Clang (the compilers ipcd builds with, mingw-w64 included) have the builtins.
  if constexpr (std::endian::native == std::endian::big || sizeof(T) == 1) {
    return v;
  } else if constexpr (sizeof(T) == 2) {
    return static_cast<T>(__builtin_bswap16(v));
  } else if constexpr (sizeof(T) == 4) {
    return static_cast<T>(__builtin_bswap32(v));
  } else {
    static_assert(sizeof(T) == 8);
    return static_cast<T>(__builtin_bswap64(v));
  }
}

// In-place writers for a buffer sized once beforehand (the per-message encoders): each
// writes at `at` and returns where the next field goes. Inline: every message passes
// through them.
inline void store_u32(std::uint8_t* at, std::uint32_t v) {
  v = big_endian(v);
  std::memcpy(at, &v, 4);
}
inline void store_u64(std::uint8_t* at, std::uint64_t v) {
  v = big_endian(v);
  std::memcpy(at, &v, 8);
}
inline std::uint8_t* store_u16(std::uint8_t* at, std::size_t v) {
  const auto field = big_endian(static_cast<std::uint16_t>(v));
  std::memcpy(at, &field, 2);
  return at + 2;
}
inline std::uint8_t* store_bytes(std::uint8_t* at, const void* bytes, std::size_t size) {
  if (size != 0) std::memcpy(at, bytes, size);
  return at + size;
}
inline std::uint8_t* store_str16(std::uint8_t* at, std::string_view s) {  // size ≤ 65535
  return store_bytes(store_u16(at, s.size()), s.data(), s.size());
}
inline std::uint8_t* store_bytes32(std::uint8_t* at, std::span<const std::uint8_t> b) {
  store_u32(at, static_cast<std::uint32_t>(b.size()));
  return store_bytes(at + 4, b.data(), b.size());
}

// Bounds-checked big-endian cursor over a byte span. After any failed read ok() is false
// and every later read yields zero or empty.
class byte_cursor {
 public:
  explicit byte_cursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && at_ == bytes_.size(); }
  std::size_t offset() const { return at_; }

  std::uint8_t u8() { return take(1) ? bytes_[at_ - 1] : 0; }
  std::uint16_t u16() { return uint<std::uint16_t>(); }
  std::uint32_t u32() { return uint<std::uint32_t>(); }
  std::uint64_t u64() { return uint<std::uint64_t>(); }

  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!take(n)) return {};
    return bytes_.subspan(at_ - n, n);
  }
  std::string_view str16() { return as_text(bytes(u16())); }
  std::span<const std::uint8_t> bytes32() { return bytes(u32()); }
  // The bytes from `begin` to the cursor.
  std::span<const std::uint8_t> since(std::size_t begin) const {
    return bytes_.subspan(begin, at_ - begin);
  }

  static std::string_view as_text(std::span<const std::uint8_t> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

 private:
  template <typename T>
  T uint() {
    if (!take(sizeof(T))) return 0;
    T v;
    std::memcpy(&v, bytes_.data() + at_ - sizeof(T), sizeof(T));
    return big_endian(v);
  }

  bool take(std::size_t n) {
    if (!ok_ || bytes_.size() - at_ < n) {
      ok_ = false;
      return false;
    }
    at_ += n;
    return true;
  }

  std::span<const std::uint8_t> bytes_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace ipc::message_record
