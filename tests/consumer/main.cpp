// consumer URL: subscribes, publishes one message to itself through the broker at URL,
// sends one to a queue and receives it; prints "consumer ok" and exits 0 when all came back.
#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "ipc/client.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer URL\n";
    return 1;
  }
  ipc::client_options options;
  options.url = argv[1];
  options.auto_reconnect = false;
  ipc::Client client(options);
  if (auto ec = client.connect()) {
    std::cerr << "connect: " << ec.message() << "\n";
    return 2;
  }
  std::atomic<int> received{0};
  std::error_code ec;
  auto subscription = client.subscribe(
      "consumer/+", [&](const ipc::message& m) { received += m.payload() == "hello" ? 1 : 0; }, ec);
  if (ec || client.publish_confirmed("consumer/test", "hello")) return 3;
  if (client.send("consumer-jobs", "job")) return 4;
  auto consumer = client.consume(
      "consumer-jobs", {}, [&](const ipc::message& m) { received += m.payload() == "job" ? 1 : 0; },
      ec);
  if (ec) return 5;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (received < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a counter
  if (received < 2) {
    std::cerr << "received " << received << " of 2\n";
    return 6;
  }
  std::cout << "consumer ok\n";
  return 0;
}
