// The `ipcctl bench pubsub` workload against peer brokers, for comparison: one publisher,
// K subscribers, N messages of S bytes, every message counted, the publisher kept at most
// W messages ahead of the slowest subscriber. `peer_bench nats HOST PORT …` uses the NATS
// C client (libnats), `peer_bench mqtt HOST PORT …` uses libmosquitto with QoS 0.
// Usage: peer_bench (nats|mqtt) HOST PORT MSGS SIZE SUBS [WINDOW]; prints one JSON line.
#include <mosquitto.h>
#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

struct counter {
  std::atomic<unsigned long long> received{0};
};

struct settings {
  std::string kind, host;
  int port = 0;
  unsigned long long msgs = 0, window = 20000;
  std::size_t size = 128, subs = 1;
};

unsigned long long slowest(const std::vector<counter>& counters) {
  unsigned long long low = ~0ull;
  for (const auto& c : counters) low = std::min(low, c.received.load(std::memory_order_acquire));
  return low;
}

// The publisher's wait, as in `ipcctl bench pubsub`: a publisher a whole window ahead
// sleeps until the slowest subscriber has taken half of it, and is woken by it.
class window_gate {
 public:
  static constexpr unsigned long long nobody_waits = ~0ull;
  void wait(const std::vector<counter>& counters, unsigned long long until) {
    std::unique_lock lock(mutex_);
    resume_at_.store(until, std::memory_order_seq_cst);
    woken_.wait_for(lock, std::chrono::milliseconds(10),
                    [&] { return slowest(counters) >= until; });
    resume_at_.store(nobody_waits, std::memory_order_relaxed);
  }
  void progressed(unsigned long long received, const std::vector<counter>& counters) {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // as in ipcctl's window_gate
    auto until = resume_at_.load(std::memory_order_seq_cst);
    if (received < until || slowest(counters) < until) return;
    std::lock_guard lock(mutex_);
    woken_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable woken_;
  std::atomic<unsigned long long> resume_at_{nobody_waits};
};
window_gate gate;
const std::vector<counter>* all_counters = nullptr;  // for the subscribers' callbacks

void received_one(counter& c) {
  auto now = c.received.fetch_add(1, std::memory_order_release) + 1;
  gate.progressed(now, *all_counters);
}

// Publishes with `publish(payload)`, never more than `window` ahead of the subscribers.
template <class Publish>
void publish_all(const settings& s, const std::vector<counter>& counters, Publish publish) {
  std::string payload(s.size, 'x');
  for (unsigned long long seq = 0; seq < s.msgs; ++seq) {
    while (seq - std::min(seq, slowest(counters)) >= s.window)
      gate.wait(counters, seq - s.window / 2);
    publish(payload);
  }
}

bool wait_all(const settings& s, const std::vector<counter>& counters) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (slowest(counters) < s.msgs) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

void on_nats_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  received_one(*static_cast<counter*>(closure));
  natsMsg_Destroy(msg);
}

double run_nats(const settings& s, std::vector<counter>& counters) {
  std::string url = "nats://" + s.host + ":" + std::to_string(s.port);
  std::vector<natsConnection*> subscribers(s.subs);
  std::vector<natsSubscription*> subscriptions(s.subs);
  for (std::size_t i = 0; i < s.subs; ++i) {
    if (natsConnection_ConnectTo(&subscribers[i], url.c_str()) != NATS_OK) return -1;
    natsConnection_Subscribe(&subscriptions[i], subscribers[i], "bench.pubsub", on_nats_message,
                             &counters[i]);
    natsSubscription_SetPendingLimits(subscriptions[i], -1, -1);
    natsConnection_Flush(subscribers[i]);
  }
  natsConnection* publisher = nullptr;
  if (natsConnection_ConnectTo(&publisher, url.c_str()) != NATS_OK) return -1;
  auto begin = std::chrono::steady_clock::now();
  publish_all(s, counters, [&](const std::string& payload) {
    natsConnection_Publish(publisher, "bench.pubsub", payload.data(),
                           static_cast<int>(payload.size()));
  });
  natsConnection_Flush(publisher);
  bool complete = wait_all(s, counters);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  natsConnection_Destroy(publisher);
  for (std::size_t i = 0; i < s.subs; ++i) {
    natsSubscription_Destroy(subscriptions[i]);
    natsConnection_Destroy(subscribers[i]);
  }
  return complete ? elapsed : -1;
}

void on_mqtt_message(mosquitto*, void* closure, const mosquitto_message*) {
  received_one(*static_cast<counter*>(closure));
}

mosquitto* mqtt_connect(const settings& s, void* closure) {
  mosquitto* client = mosquitto_new(nullptr, true, closure);
  if (client == nullptr ||
      mosquitto_connect(client, s.host.c_str(), s.port, 60) != MOSQ_ERR_SUCCESS)
    return nullptr;
  mosquitto_loop_start(client);
  return client;
}

double run_mqtt(const settings& s, std::vector<counter>& counters) {
  mosquitto_lib_init();
  std::vector<mosquitto*> subscribers;
  for (std::size_t i = 0; i < s.subs; ++i) {
    mosquitto* client = mqtt_connect(s, &counters[i]);
    if (client == nullptr) return -1;
    mosquitto_message_callback_set(client, on_mqtt_message);
    mosquitto_subscribe(client, nullptr, "bench/pubsub", 0);
    subscribers.push_back(client);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // SUBACKs (no API to await them)
  mosquitto* publisher = mqtt_connect(s, nullptr);
  if (publisher == nullptr) return -1;
  auto begin = std::chrono::steady_clock::now();
  publish_all(s, counters, [&](const std::string& payload) {
    while (mosquitto_publish(publisher, nullptr, "bench/pubsub", static_cast<int>(payload.size()),
                             payload.data(), 0, false) == MOSQ_ERR_NOMEM)
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  });
  bool complete = wait_all(s, counters);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  for (auto* client : subscribers) {
    mosquitto_disconnect(client);
    mosquitto_loop_stop(client, true);
    mosquitto_destroy(client);
  }
  mosquitto_disconnect(publisher);
  mosquitto_loop_stop(publisher, true);
  mosquitto_destroy(publisher);
  mosquitto_lib_cleanup();
  return complete ? elapsed : -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: %s (nats|mqtt) HOST PORT MSGS SIZE SUBS [WINDOW]\n", argv[0]);
    return 1;
  }
  settings s{argv[1], argv[2], std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10)};
  s.size = std::strtoull(argv[5], nullptr, 10);
  s.subs = std::strtoull(argv[6], nullptr, 10);
  if (argc > 7) s.window = std::strtoull(argv[7], nullptr, 10);
  std::vector<counter> counters(s.subs);
  all_counters = &counters;
  double elapsed = s.kind == "nats" ? run_nats(s, counters) : run_mqtt(s, counters);
  if (elapsed < 0) {
    std::fprintf(stderr, "%s: incomplete: %llu of %llu delivered to the slowest subscriber\n",
                 s.kind.c_str(), slowest(counters), s.msgs);
    return 3;
  }
  double delivered = static_cast<double>(s.msgs * s.subs) / elapsed;
  std::printf(
      "{\"bench\":\"pubsub\",\"broker\":\"%s\",\"msgs\":%llu,\"size\":%zu,\"subs\":%zu,"
      "\"elapsed_s\":%.4f,\"delivered_per_s\":%.0f}\n",
      s.kind == "nats" ? "nats-server" : "mosquitto", s.msgs, s.size, s.subs, elapsed, delivered);
  return 0;
}
