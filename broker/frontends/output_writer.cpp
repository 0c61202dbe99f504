// output_writer: the writer coroutine and the write at the end of a read batch.
#include "frontends/output_writer.hpp"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/broker_core.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::broker {

output_writer::output_writer(broker_core& core, transport::stream& stream, connection& owner)
    : core_(core),
      stream_(stream),
      owner_(owner),
      out_(core.memory()),
      wake_(stream.get_executor()) {
  wake_.expires_at(asio::steady_timer::time_point::max());
}

output_writer::~output_writer() { out_.release(in_flight_); }

void output_writer::wake(client_state* state) {
  if (!waiting_) return;  // the writer is busy: it takes what is queued next
  if (!owner_.draining() && !deferred_ && state != nullptr && core_.defer_write(*state)) {
    deferred_ = true;  // written when the read batch ends
    return;
  }
  if (deferred_) return;
  waiting_ = false;
  wake_.cancel();
}

void output_writer::write_deferred() {
  deferred_ = false;
  if (!waiting_ || owner_.stopped()) return;
  if (!owner_.draining() && (out_.empty() || write_now())) return;
  waiting_ = false;  // the rest, or the close after the error, is the writer's
  wake_.cancel();
}

void output_writer::cancel() { wake_.cancel(); }

bool output_writer::write_now() {
  out_.take(in_flight_);
  in_flight_held_ = true;
  in_flight_written_ = 0;
  gather(0);
  std::error_code ec;
  std::size_t n = stream_.write_now(gather_, ec);
  if (ec || n < in_flight_.bytes) {  // the writer goes on from here (and meets the error)
    in_flight_written_ = n;
    return false;
  }
  in_flight_held_ = false;
  auto bytes = in_flight_.bytes;
  out_.release(in_flight_);
  owner_.written(bytes);
  return true;
}

void output_writer::gather(std::size_t skip) {
  gather_.clear();
  auto add = [&](const std::uint8_t* data, std::size_t size) {
    if (skip >= size) {
      skip -= size;
      return;
    }
    gather_.emplace_back(data + skip, size - skip);
    skip = 0;
  };
  for (const auto& segment : in_flight_.segments) {
    if (segment.scratch_end > segment.scratch_begin)
      add(in_flight_.scratch.data() + segment.scratch_begin,
          segment.scratch_end - segment.scratch_begin);
    if (segment.body) add(segment.body.bytes().data(), segment.body.bytes().size());
  }
}

asio::awaitable<void> output_writer::run() {
  std::error_code ec;
  while (!owner_.stopped()) {
    if (in_flight_held_) {  // write_now() wrote part of this batch
      gather(in_flight_written_);
    } else if (out_.empty()) {
      if (owner_.draining()) break;
      waiting_ = true;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      waiting_ = false;
      continue;
    } else {
      out_.take(in_flight_);
      gather(0);
    }
    in_flight_held_ = false;
    co_await stream_.write(gather_, ec);
    if (ec) break;
    auto bytes = in_flight_.bytes;
    out_.release(in_flight_);
    owner_.written(bytes);
  }
  out_.release(in_flight_);
}

}  // namespace ipc::broker
