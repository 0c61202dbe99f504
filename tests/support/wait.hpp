// Waiting on a condition with a deadline (no sleeps to wait for readiness).
#pragma once

#include <chrono>
#include <thread>

namespace ipc::test {

// Polls `condition` until it holds or `limit` passes; returns whether it held.
template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // poll interval, not a wait
  }
  return true;
}

}  // namespace ipc::test
