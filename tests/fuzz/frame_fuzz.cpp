// libFuzzer target: the frame reader and every typed decoder (docs/protocol.md §2, §3,
// §4) on arbitrary bytes, fed in two halves so that frames split across reads are
// exercised. A decoder may refuse a frame; it must never read out of bounds. Run by
// scripts/fuzz.sh.
#include <algorithm>
#include <cstring>

#include "ipc/protocol/decoder.hpp"

using namespace ipc::protocol;

namespace {

template <class Frame>
void try_decode(const raw_frame& frame) {
  Frame out;
  (void)decode(frame, out);
}

void decode_any(const raw_frame& frame) {
  try_decode<hello_frame>(frame);
  try_decode<welcome_frame>(frame);
  try_decode<ping_frame>(frame);
  try_decode<error_frame>(frame);
  try_decode<ok_frame>(frame);
  try_decode<publish_frame>(frame);
  try_decode<subscribe_frame>(frame);
  try_decode<unsubscribe_frame>(frame);
  try_decode<message_frame>(frame);
  try_decode<send_frame>(frame);
  try_decode<consume_frame>(frame);
  try_decode<cancel_frame>(frame);
  try_decode<deliver_frame>(frame);
  try_decode<ack_frame>(frame);
  try_decode<nack_frame>(frame);
  try_decode<request_frame>(frame);
  try_decode<response_frame>(frame);
  try_decode<admin_frame>(frame);
  try_decode<admin_result_frame>(frame);
  message_body body;
  (void)decode_message_body(frame.body, body);
  hello_frame hello;
  if (decode(frame, hello) == errc::ok)
    for (auto entry : hello.properties) (void)entry;  // walk the map
  publish_frame publish;
  if (decode(frame, publish) == errc::ok)
    for (auto entry : publish.headers) (void)entry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  frame_reader reader(64 * 1024, 4096);
  std::size_t half = size / 2;
  std::size_t offsets[] = {0, half, size};
  for (int part = 0; part < 2; ++part) {
    std::size_t at = offsets[part], end = offsets[part + 1];
    while (at < end) {
      auto space = reader.prepare();
      std::size_t n = std::min(space.size(), end - at);
      std::memcpy(space.data(), data + at, n);
      reader.commit(n);
      at += n;
      raw_frame frame;
      errc error = errc::ok;
      for (;;) {
        auto status = reader.next(frame, error);
        if (status == read_status::need_more) break;
        if (status == read_status::error) return 0;  // the broker closes the connection
        decode_any(frame);
      }
    }
  }
  return 0;
}
