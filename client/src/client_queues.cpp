// client_core's queue and request/reply side: SEND, CONSUME/CANCEL, DELIVER dispatch,
// ACK/NACK, and REQUEST with a client-side timeout.
#include <algorithm>

#include <asio/steady_timer.hpp>

#include "client_core.hpp"

namespace ipc::detail {

using protocol::errc;
using protocol::frame_type;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> client_core::header_pairs(
    const headers& hdrs, std::error_code& ec) {
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  if (hdrs.empty()) return pairs;  // most messages
  if (hdrs.size() > 65535) ec = make_error_code(errc::headers_too_large);
  pairs.reserve(hdrs.size());
  for (const auto& [k, v] : hdrs) {
    if (k.size() > 65535 || v.size() > 65535) ec = make_error_code(errc::headers_too_large);
    pairs.emplace_back(k, v);
  }
  return pairs;
}

std::error_code client_core::send(std::string_view queue, std::string_view payload,
                                  const headers& hdrs, std::uint32_t id) {
  if (state_ != connection_state::connected) return make_error_code(errc::not_connected);
  if (payload.size() > max_payload_) return make_error_code(errc::payload_too_large);
  if (queue.empty() || queue.size() > 255) return make_error_code(errc::invalid_queue_name);
  if (out_.size() > options_.max_pending_bytes) return make_error_code(errc::limit_exceeded);
  std::error_code ec;
  auto pairs = header_pairs(hdrs, ec);
  if (ec) return ec;
  protocol::encode_send(out_, id, queue, {}, {pairs, nullptr}, bytes_of(payload));
  wake_writer();
  return {};
}

void client_core::consume(std::string queue, consume_options options, message_handler handler,
                          unique_function<void(std::error_code, std::uint32_t)> done) {
  if (state_ != connection_state::connected) return done(make_error_code(errc::not_connected), 0);
  if (queue.empty() || queue.size() > 255)
    return done(make_error_code(errc::invalid_queue_name), 0);
  std::uint32_t cid = ++last_sid_;
  consumers_.emplace(
      cid, std::make_shared<consumer_entry>(consumer_entry{queue, options, std::move(handler)}));
  std::uint8_t flags = options.no_ack ? protocol::consume_flag_no_ack : 0;
  call(
      [&](protocol::byte_buffer& out, std::uint32_t id) {
        protocol::encode_consume(out, id, cid, queue, options.prefetch, flags);
      },
      [this, cid, done = std::move(done)](std::error_code ec, const protocol::raw_frame*) mutable {
        if (ec) erase_entry(consumers_, cid);
        done(ec, ec ? 0 : cid);
      });
}

void client_core::cancel(std::uint32_t cid) {
  if (!erase_entry(consumers_, cid)) return;
  if (state_ != connection_state::connected) return;
  protocol::encode_cancel(out_, next_id(), cid);  // its OK is not awaited
  wake_writer();
}

namespace {
// Tags handed to the application carry the connection's generation in their top 24 bits:
// a tag from before a reconnect must not settle a delivery of the new connection (the
// broker numbers tags per connection). Broker tags stay below 2^40.
constexpr int generation_shift = 40;
constexpr std::uint64_t broker_tag_mask = (std::uint64_t{1} << generation_shift) - 1;
std::uint64_t generation_bits(std::uint64_t generation) { return generation & 0xFFFFFF; }
}  // namespace

std::error_code client_core::settle(std::uint64_t tag, bool ack, nack_disposition disposition) {
  if (state_ != connection_state::connected) return make_error_code(errc::not_connected);
  if ((tag >> generation_shift) != generation_bits(generation_))
    return make_error_code(errc::unknown_delivery);  // from an earlier connection
  if (ack)
    protocol::encode_ack(out_, tag & broker_tag_mask);
  else
    protocol::encode_nack(out_, tag & broker_tag_mask, disposition);
  wake_writer();
  return {};
}

void client_core::dispatch_delivery(const protocol::raw_frame& frame) {
  protocol::deliver_frame d;
  if (protocol::decode(frame, d) != errc::ok)
    return lost(generation_, make_error_code(errc::malformed_frame));
  auto found = consumers_.find(d.cid);
  if (found == consumers_.end()) {
    // Cancelled while this was on its way: hand it back (tag 0: a no-ack delivery).
    if (d.delivery_tag != 0) protocol::encode_nack(out_, d.delivery_tag, nack_disposition::requeue);
    return wake_writer();
  }
  std::uint64_t tag =
      d.delivery_tag == 0 ? 0 : (generation_bits(generation_) << generation_shift) | d.delivery_tag;
  run_handler(*found->second, message(d.body, d.cid, tag, d.delivery_count));
}

void client_core::request(std::string_view target, std::string_view payload,
                          const request_options& options, answer_function done) {
  if (state_ != connection_state::connected)
    return done(make_error_code(errc::not_connected), nullptr);
  if (payload.size() > max_payload_) return done(make_error_code(errc::payload_too_large), nullptr);
  if (target.size() > 65535)
    return done(make_error_code(options.to_queue ? errc::invalid_queue_name : errc::invalid_topic),
                nullptr);
  std::error_code ec;
  auto pairs = header_pairs(options.headers, ec);
  if (ec) return done(ec, nullptr);
  auto kind = options.to_queue ? protocol::request_target::queue : protocol::request_target::topic;
  auto timeout_ms = static_cast<std::uint32_t>(options.timeout.count());
  std::uint32_t request_id = 0;
  call(
      [&](protocol::byte_buffer& out, std::uint32_t id) {
        request_id = id;
        protocol::encode_request(out, id, kind, target, timeout_ms, {pairs, nullptr},
                                 bytes_of(payload));
      },
      std::move(done));
  if (request_id == 0) return;  // not connected: already answered
  // At most a year: a larger timeout would overflow the clock's range.
  auto timeout = std::min<std::chrono::milliseconds>(options.timeout, std::chrono::hours(24 * 365));
  expect_by(request_id, std::chrono::steady_clock::now() + timeout);
}

}  // namespace ipc::detail
