// output_queue: scratch-buffer appends that coalesce, body references, batch hand-off.
#include "frontends/output_queue.hpp"

#include <cstring>

namespace ipc::broker {

std::uint8_t* output_queue::extend(std::size_t n) {
  auto& scratch = pending_.scratch;
  auto& segments = pending_.segments;
  std::size_t begin = scratch.size();
  scratch.resize(begin + n);
  // Coalesce with the last segment when it ends in scratch and has no body after it.
  if (!segments.empty() && !segments.back().body && segments.back().scratch_end == begin) {
    segments.back().scratch_end += n;
  } else {
    segments.push_back({begin, begin + n, {}});
  }
  pending_bytes_ += n;
  gauge_->add(n);
  return scratch.data() + begin;
}

void output_queue::append(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  std::memcpy(extend(bytes.size()), bytes.data(), bytes.size());
}

void output_queue::append(body_ref body) {
  auto size = body.bytes().size();
  auto& segments = pending_.segments;
  if (!segments.empty() && !segments.back().body) {
    segments.back().body = std::move(body);
  } else {
    auto end = pending_.scratch.size();
    segments.push_back({end, end, std::move(body)});
  }
  pending_bytes_ += size;
  gauge_->add(size);
}

void output_queue::batch::clear() {
  scratch.clear();
  segments.clear();  // releases body references
  bytes = 0;
}

void output_queue::clear() {
  gauge_->release(pending_bytes_);
  pending_.clear();
  pending_bytes_ = 0;
}

void output_queue::take(batch& out) {
  release(out);
  std::swap(out, pending_);
  out.bytes = pending_bytes_;
  pending_bytes_ = 0;
}

}  // namespace ipc::broker
