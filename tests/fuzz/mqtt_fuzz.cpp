// libFuzzer target: the MQTT codec (mqtt/) on arbitrary bytes, fed to the packet reader
// in two halves. Every packet is decoded as each version would; whatever decodes is
// encoded again and must decode to the same values. Run by scripts/fuzz.sh.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "ipc/mqtt/codec.hpp"

using namespace ipc::mqtt;

namespace {

// Feeds `bytes` to `reader` and takes the one packet they hold.
raw_packet read_back(packet_reader& reader, const byte_buffer& bytes) {
  raw_packet re;
  reason why = reason::success;
  for (std::size_t at = 0; at < bytes.size();) {
    auto room = reader.prepare();
    std::size_t n = std::min(room.size(), bytes.size() - at);
    std::copy_n(bytes.begin() + static_cast<long>(at), n, room.begin());
    reader.commit(n);
    at += n;
  }
  if (reader.next(re, why) != read_status::packet) std::abort();
  return re;
}

template <typename Packet>
void round_trip(const raw_packet& packet, version v) {
  Packet first;
  if (decode(packet, v, first) != reason::success) return;
  byte_buffer again;
  encode(again, v, first);
  packet_reader reader(1u << 28);
  raw_packet re = read_back(reader, again);
  Packet second;
  if (decode(re, v, second) != reason::success) std::abort();
  byte_buffer third;
  encode(third, v, second);
  if (third != again) std::abort();  // encoding is a fixed point after one decode
}

void check(const raw_packet& packet) {
  connect_packet connect;
  if (decode_connect(packet, connect) == reason::success) {
    byte_buffer again;
    encode(again, connect.level, connect);
  }
  for (auto v : {version::v311, version::v5}) {
    switch (packet.type()) {
      case packet_type::connack: round_trip<connack_packet>(packet, v); break;
      case packet_type::publish: round_trip<publish_packet>(packet, v); break;
      case packet_type::puback:
      case packet_type::pubrec:
      case packet_type::pubrel:
      case packet_type::pubcomp: round_trip<ack_packet>(packet, v); break;
      case packet_type::subscribe: round_trip<subscribe_packet>(packet, v); break;
      case packet_type::suback:
      case packet_type::unsuback: round_trip<subscribe_ack_packet>(packet, v); break;
      case packet_type::unsubscribe: round_trip<unsubscribe_packet>(packet, v); break;
      case packet_type::disconnect: round_trip<disconnect_packet>(packet, v); break;
      case packet_type::auth: round_trip<auth_packet>(packet, v); break;
      default: (void)decode_empty(packet); break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  packet_reader reader(1u << 20, 4096, 64);
  std::size_t half = size / 2;
  for (auto [from, to] : {std::pair{std::size_t{0}, half}, std::pair{half, size}}) {
    std::size_t at = from;
    while (at < to) {
      auto room = reader.prepare();
      std::size_t n = std::min(room.size(), to - at);
      std::copy(data + at, data + at + n, room.begin());
      reader.commit(n);
      at += n;
      raw_packet packet;
      reason why = reason::success;
      for (;;) {
        auto status = reader.next(packet, why);
        if (status == read_status::error) return 0;
        if (status == read_status::need_more) break;
        check(packet);
      }
    }
  }
  return 0;
}
