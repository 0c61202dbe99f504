// message_pool: recycling of shared message bodies.
#include "core/message_pool.hpp"

namespace ipc::broker {

void body_ref::drop() {
  if (--body_->refs_ == 0) {
    if (body_->pool_ != nullptr)
      body_->pool_->release(body_);
    else
      delete body_;
  }
  body_ = nullptr;
}

message_pool::message_pool(std::size_t max_free, std::size_t max_kept_capacity)
    : max_free_(max_free), max_kept_capacity_(max_kept_capacity) {
  free_.reserve(max_free);
}

message_pool::~message_pool() {
  for (auto* body : free_) delete body;
}

body_ref message_pool::acquire() {
  shared_body* body = nullptr;
  if (free_.empty()) {
    body = new shared_body();
    body->pool_ = this;
  } else {
    body = free_.back();
    free_.pop_back();
    body->bytes_.clear();
  }
  return body_ref(body);
}

void message_pool::release(shared_body* body) {
  if (free_.size() >= max_free_ || body->bytes_.capacity() > max_kept_capacity_) {
    delete body;
    return;
  }
  free_.push_back(body);
}

}  // namespace ipc::broker
