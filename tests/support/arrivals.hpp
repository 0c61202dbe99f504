// Thread-safe record of received payloads with their arrival times (system clock), for
// tests that check what a consumer or subscriber got, in which order and when.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ipc/client.hpp"
#include "wait.hpp"

namespace ipc::test {

class arrivals {
 public:
  using clock = std::chrono::system_clock;

  // Records each message's payload.
  message_handler handler() {
    return [this](const message& m) { add(m.payload()); };
  }
  // Records each queue delivery's payload, then acks it on `client`.
  message_handler acking(Client& client) {
    return [this, &client](const message& m) {
      add(m.payload());
      client.ack(m.delivery_tag());
    };
  }
  bool wait_for(std::size_t count,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    return wait_until([&] { return size() >= count; }, limit);
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  std::vector<std::string> payloads() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [payload, at] : items_) out.push_back(payload);
    return out;
  }
  std::vector<std::pair<std::string, clock::time_point>> items() const {
    std::lock_guard lock(mutex_);
    return items_;
  }

 private:
  void add(std::string_view payload) {
    auto now = clock::now();
    std::lock_guard lock(mutex_);
    items_.emplace_back(std::string(payload), now);
  }

  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, clock::time_point>> items_;
};

}  // namespace ipc::test
