// Thread-safe collection of received messages for assertions from the test thread.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "ipc/types.hpp"
#include "wait.hpp"

namespace ipc::test {

class collector {
 public:
  // A handler that records "topic payload" for every message.
  message_handler handler() {
    return [this](const message& m) {
      std::lock_guard lock(mutex_);
      items_.push_back(std::string(m.topic()) + " " + std::string(m.payload()));
    };
  }
  std::vector<std::string> items() const {
    std::lock_guard lock(mutex_);
    return items_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  bool wait_for(std::size_t count,
                std::chrono::milliseconds limit = std::chrono::seconds(10)) const {
    return wait_until([&] { return size() >= count; }, limit);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> items_;
};

}  // namespace ipc::test
