// consumer URL: subscribes, publishes one message to itself through the broker at URL,
// sends one to a queue and receives it; prints "consumer ok" and exits 0 when all came back.
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>

// The asynchronous client's header includes Asio: it does not compile unless the build
// passes the Asio settings the library was built with (ipcd::client and ipcd-client.pc).
#include "ipc/async_client.hpp"
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
  std::mutex mutex;
  std::condition_variable arrived;
  int received = 0;
  auto count = [&](bool wanted) {
    std::lock_guard lock(mutex);
    received += wanted ? 1 : 0;
    arrived.notify_all();
  };
  std::error_code ec;
  auto subscription = client.subscribe(
      "consumer/+", [&](const ipc::message& m) { count(m.payload() == "hello"); }, ec);
  if (ec || client.publish_confirmed("consumer/test", "hello")) return 3;
  if (client.send("consumer-jobs", "job")) return 4;
  auto consumer = client.consume(
      "consumer-jobs", {}, [&](const ipc::message& m) { count(m.payload() == "job"); }, ec);
  if (ec) return 5;
  std::unique_lock lock(mutex);
  if (!arrived.wait_for(lock, std::chrono::seconds(10), [&] { return received >= 2; })) {
    std::cerr << "received " << received << " of 2\n";
    return 6;
  }
  std::cout << "consumer ok\n";
  return 0;
}
