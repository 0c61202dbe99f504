// The MQTT data representations (MQTT 5 §1.5) on top of the shared big-endian cursor:
// variable byte integers, UTF-8 strings, binary data, and the property block.
#pragma once

#include <cstdint>
#include <string_view>

#include "ipc/message/bytes.hpp"
#include "ipc/mqtt/codec.hpp"

namespace ipc::mqtt::wire {

using message_record::byte_cursor;

// A variable byte integer of 1 to 4 bytes in its shortest form; false when malformed.
bool read_varint(byte_cursor& in, std::uint32_t& out);
// A UTF-8 string (u16 length); false when short or not valid_mqtt_string.
bool read_string(byte_cursor& in, std::string_view& out);
bool read_binary(byte_cursor& in, std::span<const std::uint8_t>& out);

// The properties a packet may carry, as a bit per property id.
using property_set = std::uint64_t;
constexpr property_set allow(std::initializer_list<property_id> ids) {
  property_set set = 0;
  for (auto id : ids) set |= property_set{1} << static_cast<unsigned>(id);
  return set;
}
// Reads a property block (its varint length, then the properties) allowing only
// `allowed`: success, malformed_packet (bad layout, unknown or disallowed id) or
// protocol_error (a property twice, a value out of its range).
reason read_properties(byte_cursor& in, property_set allowed, properties& out);

void put_u16(byte_buffer& out, std::uint16_t v);
void put_u32(byte_buffer& out, std::uint32_t v);
void put_string(byte_buffer& out, std::string_view s);
void put_binary(byte_buffer& out, std::span<const std::uint8_t> b);
// Appends the property block of `p` (length first).
void put_properties(byte_buffer& out, const properties& p);
// Appends the fixed header and `body` as one packet.
void put_packet(byte_buffer& out, std::uint8_t type_byte, const byte_buffer& body);

}  // namespace ipc::mqtt::wire
