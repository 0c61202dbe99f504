// MQTT 3.1.1 and 5 control packets: decoding (strict: every rule of the specifications'
// packet layouts that a receiver can check from the bytes alone) and encoding, both ways,
// so that the broker, its tests and its fuzz target share one codec. Semantic checks that
// need the broker's state (topic grammar and limits, permissions, topic aliases in use)
// are the front-end's. Standard library only, sans-I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "ipc/mqtt/packet_reader.hpp"
#include "ipc/mqtt/packets.hpp"

namespace ipc::mqtt {

using byte_buffer = std::vector<std::uint8_t>;

// Decoding. Each returns reason::success, or why the packet is refused: malformed_packet
// (the bytes break the layout), protocol_error (well-formed but not allowed here, such as
// a property twice or packet id 0), unsupported_protocol_version (CONNECT only). Strings
// must be UTF-8 without U+0000; properties a packet may not carry are malformed.
reason decode_connect(const raw_packet& packet, connect_packet& out);
reason decode(const raw_packet& packet, version v, connack_packet& out);
reason decode(const raw_packet& packet, version v, publish_packet& out);
reason decode(const raw_packet& packet, version v, ack_packet& out);  // PUBACK…PUBCOMP
reason decode(const raw_packet& packet, version v, subscribe_packet& out);
reason decode(const raw_packet& packet, version v, subscribe_ack_packet& out);  // SUBACK, UNSUBACK
reason decode(const raw_packet& packet, version v, unsubscribe_packet& out);
reason decode(const raw_packet& packet, version v, disconnect_packet& out);
reason decode(const raw_packet& packet, version v, auth_packet& out);
reason decode_empty(const raw_packet& packet);  // PINGREQ, PINGRESP: no flags, no body

// Encoding: appends one whole packet to `out`. Properties are written for MQTT 5 only.
void encode(byte_buffer& out, version v, const connect_packet& p);
void encode(byte_buffer& out, version v, const connack_packet& p);
void encode(byte_buffer& out, version v, const publish_packet& p);
void encode(byte_buffer& out, version v, const ack_packet& p);
void encode(byte_buffer& out, version v, const subscribe_packet& p);
void encode(byte_buffer& out, version v, const subscribe_ack_packet& p);
void encode(byte_buffer& out, version v, const unsubscribe_packet& p);
void encode(byte_buffer& out, version v, const disconnect_packet& p);
void encode(byte_buffer& out, version v, const auth_packet& p);
void encode_empty(byte_buffer& out, packet_type type);  // PINGREQ, PINGRESP

// Whether `text` is valid UTF-8 without U+0000 (MQTT 5 §1.5.4).
bool valid_mqtt_string(std::string_view text);

}  // namespace ipc::mqtt
