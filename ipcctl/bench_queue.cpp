// ipcctl bench queue (1 producer -> K consumers with acks, every message accounted for),
// bench reqrep (closed-loop request/reply latency percentiles) and bench oneway (one
// message at a time, publish -> delivery latency percentiles).
#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>

#include "bench.hpp"
#include "common.hpp"
#include "ipc/async_client.hpp"

namespace ipcctl {
namespace {

using clock_type = std::chrono::steady_clock;

struct queue_args {
  std::uint64_t msgs = 100000;
  std::size_t size = 128;
  std::size_t consumers = 1;
  std::uint32_t prefetch = 1000;
  std::uint64_t window = 20000;
  std::string queue = "bench.queue";
  bool durable = false;            // confirmed sends to a durable queue, confirm latency measured
  std::size_t producers = 1;       // --durable: producer connections, each pipelining
  std::uint32_t in_flight = 1000;  // --durable: unconfirmed sends per producer at once
  bool priority = false;  // a queue with max_priority 10, sends cycling through priorities 0-10
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// Sorts `micros` and adds their PREFIXp50_us, p90, p99, p999 and max to `report`.
void add_latencies(nlohmann::json& report, std::vector<double>& micros,
                   const std::string& prefix = {}) {
  std::sort(micros.begin(), micros.end());
  report[prefix + "p50_us"] = percentile(micros, 50);
  report[prefix + "p90_us"] = percentile(micros, 90);
  report[prefix + "p99_us"] = percentile(micros, 99);
  report[prefix + "p999_us"] = percentile(micros, 99.9);
  report[prefix + "max_us"] = micros.empty() ? 0.0 : micros.back();
}

// Confirmed producers for bench queue --durable: each keeps `in_flight` sends waiting for
// their OK and records how long each OK took. Runs on one I/O thread.
struct confirmed_producers {
  struct producer {
    std::unique_ptr<ipc::async_client> client;
    std::uint64_t next = 0, end = 0;
    std::uint32_t waiting = 0;
    std::string payload;
  };
  const queue_args& args;
  std::vector<producer> producers;
  std::vector<double> micros;
  std::uint64_t confirmed = 0;
  std::error_code failure;
  std::function<void()> on_done;
  clock_type::time_point finished;

  void pump(producer& p) {
    while (!failure && p.waiting < args.in_flight && p.next < p.end) {
      std::uint64_t seq = p.next++;
      std::memcpy(p.payload.data(), &seq, sizeof seq);
      ++p.waiting;
      auto t0 = clock_type::now();
      p.client->async_send(args.queue, p.payload, {}, [this, &p, t0](std::error_code ec) {
        --p.waiting;
        micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        if (ec && !failure) failure = ec;
        if (++confirmed == args.msgs || (failure && p.waiting == 0)) {
          finished = clock_type::now();
          if (on_done) std::exchange(on_done, nullptr)();
          return;
        }
        pump(p);
      });
    }
  }
};

// The error a failed bench coroutine ended with.
std::error_code error_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& err) {
    return err.code();
  } catch (const std::exception&) {
    return ipc::make_error_code(ipc::errc::internal_error);
  }
}

// Runs `fn` on `io`'s thread and waits for the std::future it returns.
template <class Fn>
auto on(asio::io_context& io, Fn fn) {
  return asio::post(io, asio::use_future(std::move(fn))).get().get();
}

int run_queue(const global_options& global, const queue_args& args) {
  auto options = global.client_options();
  options.auto_reconnect = false;
  asio::io_context consumer_io(1), producer_io(1);
  auto work = asio::make_work_guard(consumer_io);
  std::thread consumer_thread([&] { consumer_io.run(); });
  std::vector<std::unique_ptr<ipc::async_client>> clients;
  std::vector<ipc::subscription> subs;
  std::vector<std::uint8_t> seen(args.msgs, 0);
  std::atomic<std::uint64_t> received{0}, duplicates{0};
  std::promise<void> done;
  std::error_code failure;
  try {
    if (args.durable) {  // the queue must exist as durable before a consume creates it
      clients.push_back(std::make_unique<ipc::async_client>(consumer_io.get_executor(), options));
      auto* admin = clients.back().get();
      on(consumer_io, [&] { return admin->async_connect(asio::use_future); });
      on(consumer_io, [&] {
        return admin->async_admin("queue.create",
                                  nlohmann::json{{"name", args.queue}, {"durable", true}}.dump(),
                                  asio::use_future);
      });
      auto info = nlohmann::json::parse(on(consumer_io, [&] {
        return admin->async_admin("queue.info", nlohmann::json{{"name", args.queue}}.dump(),
                                  asio::use_future);
      }));
      if (info["options"]["durable"] != true) {
        std::cerr << "ipcctl: bench queue: queue '" << args.queue
                  << "' exists and is not durable; use --queue NAME\n";
        failure = ipc::make_error_code(ipc::errc::invalid_argument);
      }
    }
    if (args.priority && !failure) {  // the queue must have its priorities before a consume
      clients.push_back(std::make_unique<ipc::async_client>(consumer_io.get_executor(), options));
      auto* admin = clients.back().get();
      on(consumer_io, [&] { return admin->async_connect(asio::use_future); });
      on(consumer_io, [&] {
        return admin->async_admin("queue.create",
                                  nlohmann::json{{"name", args.queue}, {"max_priority", 10}}.dump(),
                                  asio::use_future);
      });
      auto info = nlohmann::json::parse(on(consumer_io, [&] {
        return admin->async_admin("queue.info", nlohmann::json{{"name", args.queue}}.dump(),
                                  asio::use_future);
      }));
      if (info["options"]["max_priority"] != 10) {
        std::cerr << "ipcctl: bench queue: queue '" << args.queue
                  << "' exists without max_priority 10; use --queue NAME\n";
        failure = ipc::make_error_code(ipc::errc::invalid_argument);
      }
    }
    for (std::size_t i = 0; i < args.consumers && !failure; ++i) {
      clients.push_back(std::make_unique<ipc::async_client>(consumer_io.get_executor(), options));
      auto* client = clients.back().get();
      on(consumer_io, [&] { return client->async_connect(asio::use_future); });
      auto handler = [&, client](const ipc::message& m) {
        std::uint64_t seq = 0;
        std::memcpy(&seq, m.payload().data(), std::min<std::size_t>(8, m.payload().size()));
        if (seq < args.msgs && seen[seq]++ != 0) duplicates.fetch_add(1);
        client->ack(m.delivery_tag());
        if (received.fetch_add(1) + 1 == args.msgs) done.set_value();
      };
      subs.push_back(on(consumer_io, [&] {
        return client->async_consume(args.queue, {args.prefetch, false}, handler, asio::use_future);
      }));
    }
  } catch (const std::system_error& e) {
    failure = e.code();
  }
  ipc::async_client producer(producer_io.get_executor(), options);
  std::promise<void> producer_done;
  auto begin = clock_type::now();
  confirmed_producers confirmer{args, {}, {}, 0, {}, {}, {}};
  std::string fsync_policy;
  if (!failure && args.durable) {
    // K connections share the messages; each pipelines confirmed sends.
    asio::co_spawn(
        producer_io,
        [&]() -> asio::awaitable<void> {
          co_await producer.async_connect(asio::use_awaitable);
          auto status = nlohmann::json::parse(
              co_await producer.async_admin("status", "{}", asio::use_awaitable), nullptr, false);
          if (status.is_object() && status["storage"].is_object())
            fsync_policy = status["storage"].value("fsync", "");
          for (std::size_t i = 0; i < args.producers; ++i) {
            confirmed_producers::producer p;
            p.client = std::make_unique<ipc::async_client>(producer_io.get_executor(), options);
            co_await p.client->async_connect(asio::use_awaitable);
            p.next = args.msgs * i / args.producers;
            p.end = args.msgs * (i + 1) / args.producers;
            p.payload.assign(std::max<std::size_t>(args.size, 8), 'd');
            confirmer.producers.push_back(std::move(p));
          }
          confirmer.micros.reserve(args.msgs);
          confirmer.on_done = [&] {
            failure = confirmer.failure;
            producer_done.set_value();
          };
          begin = clock_type::now();
          for (auto& p : confirmer.producers) confirmer.pump(p);
        },
        [&](std::exception_ptr e) {
          if (!e) return;
          failure = error_of(e);
          producer_done.set_value();
        });
  } else if (!failure) {
    asio::co_spawn(
        producer_io,
        [&]() -> asio::awaitable<void> {
          co_await producer.async_connect(asio::use_awaitable);
          begin = clock_type::now();
          std::string payload(std::max<std::size_t>(args.size, 8), 'q');
          std::vector<ipc::headers> levels(1);  // --priority: one header set per level
          if (args.priority) {
            levels.clear();
            for (std::uint8_t level = 0; level <= 10; ++level)
              levels.push_back({ipc::priority(level)});
          }
          asio::steady_timer pause(producer_io);
          for (std::uint64_t seq = 0; seq < args.msgs; ++seq) {
            std::memcpy(payload.data(), &seq, sizeof seq);
            while (seq - std::min(seq, received.load()) >= args.window) {
              pause.expires_after(std::chrono::microseconds(50));
              co_await pause.async_wait(asio::use_awaitable);
            }
            if (auto ec = producer.send(args.queue, payload, levels[seq % levels.size()]))
              throw std::system_error(ec);
            if (seq % 256 == 255) co_await asio::post(asio::use_awaitable);
          }
          co_await producer.async_flush(asio::use_awaitable);
        },
        [&](std::exception_ptr e) {
          if (e) failure = error_of(e);
          producer_done.set_value();
        });
  } else {
    producer_done.set_value();
  }
  std::thread producer_thread([&] { producer_io.run_for(std::chrono::minutes(10)); });
  auto limit = global.timeout.value_or(std::chrono::seconds(120));
  // The producer's last flush may still be on its way back: let it finish before closing.
  bool produced = producer_done.get_future().wait_for(limit) == std::future_status::ready;
  bool complete =
      produced && !failure && done.get_future().wait_for(limit) == std::future_status::ready;
  double elapsed = std::chrono::duration<double>(clock_type::now() - begin).count();
  asio::post(producer_io, [&] {
    producer.close();
    for (auto& p : confirmer.producers) p.client->close();
  });
  producer_thread.join();
  asio::post(consumer_io, [&] {
    subs.clear();
    for (auto& c : clients) c->close();
  });
  work.reset();
  consumer_thread.join();
  if (failure) return fail("bench queue", failure);
  if (!complete)
    return fail("bench queue", ipc::make_error_code(ipc::errc::timeout),
                std::to_string(received.load()) + " of " + std::to_string(args.msgs) + " arrived");
  double rate = static_cast<double>(args.msgs) / elapsed;
  if (args.durable) {
    auto& micros = confirmer.micros;
    double confirm_s = std::chrono::duration<double>(confirmer.finished - begin).count();
    double confirmed_rate = static_cast<double>(args.msgs) / confirm_s;
    nlohmann::json report{{"bench", "queue"},
                          {"durable", true},
                          {"fsync", fsync_policy},
                          {"url", options.url},
                          {"msgs", args.msgs},
                          {"size", args.size},
                          {"producers", args.producers},
                          {"in_flight", args.in_flight},
                          {"consumers", args.consumers},
                          {"confirmed_per_s", confirmed_rate},
                          {"acked_per_s", rate},
                          {"duplicates", duplicates.load()}};
    add_latencies(report, micros, "confirm_");
    if (global.json)
      std::cout << report.dump() << "\n";
    else
      std::printf(
          "queue %s (durable, fsync %s): %llu msgs x %zu B from %zu producer(s), %u in flight "
          "each: %.0f msgs/s confirmed, %.0f msgs/s consumed and acked; confirm latency us "
          "p50 %.0f p90 %.0f p99 %.0f p99.9 %.0f max %.0f%s\n",
          options.url.c_str(), fsync_policy.c_str(), static_cast<unsigned long long>(args.msgs),
          args.size, args.producers, args.in_flight, confirmed_rate, rate, percentile(micros, 50),
          percentile(micros, 90), percentile(micros, 99), percentile(micros, 99.9),
          micros.empty() ? 0.0 : micros.back(), duplicates.load() ? ", DUPLICATES" : "");
    return duplicates.load() == 0 ? exit_ok : exit_refused;
  }
  nlohmann::json report{
      {"bench", "queue"},         {"url", options.url},          {"msgs", args.msgs},
      {"size", args.size},        {"consumers", args.consumers}, {"prefetch", args.prefetch},
      {"elapsed_s", elapsed},     {"acked_per_s", rate},         {"duplicates", duplicates.load()},
      {"priority", args.priority}};
  if (global.json)
    std::cout << report.dump() << "\n";
  else
    std::printf(
        "queue %s%s: %llu msgs x %zu B to %zu consumer(s), prefetch %u, in %.3f s: "
        "%.0f msgs/s consumed and acked%s\n",
        options.url.c_str(), args.priority ? " (priorities 0-10)" : "",
        static_cast<unsigned long long>(args.msgs), args.size, args.consumers, args.prefetch,
        elapsed, rate, duplicates.load() ? ", DUPLICATES" : "");
  return duplicates.load() == 0 ? exit_ok : exit_refused;
}

}  // namespace

int measure_reqrep(const global_options& global, const reqrep_args& given, nlohmann::json& report) {
  auto args = given;
  if (args.target.empty())
    args.target = args.queue ? std::string("bench.reqrep") : "bench/reqrep/" + random_suffix();
  auto options = global.client_options();
  options.auto_reconnect = false;
  asio::io_context server_io(1), client_io(1);
  auto work = asio::make_work_guard(server_io);
  std::thread server_thread([&] { server_io.run(); });
  auto server_options = options;
  if (!args.reply_url.empty()) server_options.url = args.reply_url;
  ipc::async_client server(server_io.get_executor(), server_options);
  std::error_code failure;
  ipc::subscription serving;
  try {
    on(server_io, [&] { return server.async_connect(asio::use_future); });
    serving = on(server_io, [&] {
      return server.async_serve(
          args.target,
          [](const ipc::message& m) { return std::optional<std::string>(m.payload()); }, args.queue,
          asio::use_future);
    });
  } catch (const std::system_error& e) {
    failure = e.code();
  }
  std::vector<double> micros;
  micros.reserve(args.msgs);
  double elapsed = 0;
  ipc::async_client requester(client_io.get_executor(), options);
  if (!failure) {
    asio::co_spawn(
        client_io,
        [&]() -> asio::awaitable<void> {
          co_await requester.async_connect(asio::use_awaitable);
          std::string payload(args.size, 'r');
          ipc::request_options request;
          request.to_queue = args.queue;
          auto begin = clock_type::now();
          for (std::uint64_t i = 0; i < args.msgs; ++i) {
            auto t0 = clock_type::now();
            co_await requester.async_request(args.target, payload, request, asio::use_awaitable);
            micros.push_back(
                std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
          }
          elapsed = std::chrono::duration<double>(clock_type::now() - begin).count();
          requester.close();
        },
        [&](std::exception_ptr e) {
          if (!e) return;
          failure = error_of(e);
          requester.close();
        });
    client_io.run();
  }
  asio::post(server_io, [&] {
    serving = {};
    server.close();
  });
  work.reset();
  server_thread.join();
  if (failure) {  // the broker's reason, from whichever client met it
    auto detail = server.last_error_message();
    if (detail.empty()) detail = requester.last_error_message();
    return fail("bench reqrep", failure, detail);
  }
  report = {{"bench", "reqrep"},
            {"url", options.url},
            {"reply_url", server_options.url},
            {"msgs", args.msgs},
            {"size", args.size},
            {"queue", args.queue},
            {"elapsed_s", elapsed},
            {"requests_per_s", static_cast<double>(args.msgs) / elapsed}};
  add_latencies(report, micros);
  return exit_ok;
}

namespace {

struct oneway_args {
  std::uint64_t msgs = 20000;
  std::size_t size = 128;
  std::string topic;  // "" = bench/oneway/RANDOM: another bench cannot end a wait early
};

// One message at a time: the publisher stamps it (steady clock, the same in both
// threads), the subscriber takes the time it took to arrive and tells the publisher,
// which then sends the next; nothing else is in flight.
int run_oneway(const global_options& global, const oneway_args& given) {
  auto args = given;
  if (args.topic.empty()) args.topic = "bench/oneway/" + random_suffix();
  auto options = global.client_options();
  options.auto_reconnect = false;
  asio::io_context sub_io(1), pub_io(1);
  auto work = asio::make_work_guard(sub_io);
  std::thread sub_thread([&] { sub_io.run(); });
  ipc::async_client subscriber(sub_io.get_executor(), options);
  ipc::async_client publisher(pub_io.get_executor(), options);
  // Each arrival cancels `arrived`, set never to expire: arming a timer per message would
  // cost the publisher a system call (timerfd) between its publish and its sleep, on the
  // CPU the subscriber waits for. A watchdog ends the run when nothing arrives for a
  // while instead.
  asio::steady_timer arrived(pub_io, asio::steady_timer::time_point::max());
  asio::steady_timer watchdog(pub_io);
  std::uint64_t arrivals = 0;  // on pub_io
  bool stalled = false, finished = false;
  std::vector<double> micros;
  micros.reserve(args.msgs);
  std::error_code failure;
  ipc::subscription sub;
  try {
    on(sub_io, [&] { return subscriber.async_connect(asio::use_future); });
    sub = on(sub_io, [&] {
      return subscriber.async_subscribe(
          args.topic,
          [&](const ipc::message& m) {
            auto now = clock_type::now().time_since_epoch();
            std::int64_t sent = 0;
            std::memcpy(&sent, m.payload().data(), std::min<std::size_t>(8, m.payload().size()));
            micros.push_back(
                std::chrono::duration<double, std::micro>(now - clock_type::duration(sent))
                    .count());
            asio::post(pub_io, [&] {
              ++arrivals;
              arrived.cancel();
            });
          },
          asio::use_future);
    });
  } catch (const std::system_error& e) {
    failure = e.code();
  }
  double elapsed = 0;
  if (!failure) {
    auto limit = global.timeout.value_or(std::chrono::seconds(10));
    asio::co_spawn(
        pub_io,
        [&]() -> asio::awaitable<void> {
          co_await publisher.async_connect(asio::use_awaitable);
          asio::co_spawn(
              pub_io,
              [&]() -> asio::awaitable<void> {  // no arrival for `limit`: the run fails
                std::uint64_t seen = 0;
                for (;;) {
                  watchdog.expires_after(limit);
                  std::error_code ec;
                  co_await watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                  if (ec || finished) co_return;  // the publisher is done
                  if (arrivals == seen) {
                    stalled = true;
                    arrived.cancel();
                    co_return;
                  }
                  seen = arrivals;
                }
              },
              asio::detached);
          std::string payload(std::max<std::size_t>(args.size, 8), 'o');
          auto begin = clock_type::now();
          for (std::uint64_t i = 0; i < args.msgs; ++i) {
            std::int64_t stamp = clock_type::now().time_since_epoch().count();
            std::memcpy(payload.data(), &stamp, sizeof stamp);
            if (auto ec = publisher.publish(args.topic, payload)) throw std::system_error(ec);
            while (arrivals <= i && !stalled) {  // each arrival cancels the wait
              std::error_code ec;
              co_await arrived.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            if (stalled) throw std::system_error(ipc::make_error_code(ipc::errc::timeout));
          }
          elapsed = std::chrono::duration<double>(clock_type::now() - begin).count();
          finished = true;
          watchdog.cancel();
          publisher.close();
        },
        [&](std::exception_ptr e) {
          if (!e) return;
          failure = error_of(e);
          finished = true;
          watchdog.cancel();
          publisher.close();
        });
    pub_io.run();
  }
  asio::post(sub_io, [&] {
    sub = {};
    subscriber.close();
  });
  work.reset();
  sub_thread.join();
  if (failure) {
    auto detail = subscriber.last_error_message();
    if (detail.empty()) detail = publisher.last_error_message();
    return fail("bench oneway", failure, detail);
  }
  nlohmann::json report{{"bench", "oneway"},
                        {"url", options.url},
                        {"msgs", args.msgs},
                        {"size", args.size},
                        {"elapsed_s", elapsed}};
  add_latencies(report, micros);
  if (global.json) {
    std::cout << report.dump() << "\n";
  } else {
    std::printf(
        "oneway %s: %llu msgs x %zu B one at a time; publish -> delivery us p50 %.1f p90 %.1f "
        "p99 %.1f p99.9 %.1f max %.1f\n",
        options.url.c_str(), static_cast<unsigned long long>(args.msgs), args.size,
        percentile(micros, 50), percentile(micros, 90), percentile(micros, 99),
        percentile(micros, 99.9), micros.empty() ? 0.0 : micros.back());
  }
  return exit_ok;
}

int run_reqrep(const global_options& global, const reqrep_args& args) {
  nlohmann::json report;
  if (int status = measure_reqrep(global, args, report); status != exit_ok) return status;
  if (global.json) {
    std::cout << report.dump() << "\n";
  } else {
    auto at = [&](const char* key) { return report[key].get<double>(); };
    std::printf(
        "reqrep %s (%s): %llu requests x %zu B in %.3f s, %.0f req/s; latency us "
        "p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f max %.1f\n",
        report["url"].get<std::string>().c_str(), args.queue ? "queue" : "topic",
        static_cast<unsigned long long>(args.msgs), args.size, at("elapsed_s"),
        at("requests_per_s"), at("p50_us"), at("p90_us"), at("p99_us"), at("p999_us"),
        at("max_us"));
  }
  return exit_ok;
}

}  // namespace

void register_queue_benches(CLI::App* bench, global_options& global, int& exit_status) {
  auto q = std::make_shared<queue_args>();
  auto* queue = bench->add_subcommand("queue", "1 producer -> K consumers with acks");
  queue->add_option("--msgs", q->msgs, "messages to send")->check(CLI::PositiveNumber);
  queue->add_option("--size", q->size, "payload bytes (at least 8 are used)");
  queue->add_option("--consumers", q->consumers, "consumers")->check(CLI::PositiveNumber);
  queue->add_option("--prefetch", q->prefetch, "consumer prefetch")->check(CLI::PositiveNumber);
  queue->add_option("--window", q->window, "max messages the producer is ahead of the acks");
  queue->add_option("--queue", q->queue, "queue to use");
  queue->add_flag("--durable", q->durable,
                  "confirmed sends to a durable queue (created if missing): confirmed msgs/s and "
                  "confirm latency under the broker's fsync policy");
  queue->add_option("--producers", q->producers, "--durable: producer connections")
      ->check(CLI::PositiveNumber);
  queue->add_flag("--priority", q->priority,
                  "a queue with max_priority 10, sends cycling through priorities 0-10");
  queue->add_option("--in-flight", q->in_flight, "--durable: unconfirmed sends per producer")
      ->check(CLI::PositiveNumber);
  queue->callback([&global, &exit_status, q] {
    if (q->durable && q->queue == "bench.queue") q->queue = "bench.durable";
    exit_status = run_queue(global, *q);
  });

  auto r = std::make_shared<reqrep_args>();
  auto* reqrep = bench->add_subcommand("reqrep", "closed-loop request/reply latency");
  reqrep->add_option("--msgs", r->msgs, "requests")->check(CLI::PositiveNumber);
  reqrep->add_option("--size", r->size, "payload bytes");
  reqrep->add_flag("--queue", r->queue, "requests go through a queue instead of a topic");
  reqrep->add_option("--target", r->target,
                     "topic or queue to use (default: bench/reqrep/ and a random part, or the "
                     "queue bench.reqrep)");
  reqrep->add_option(
      "--reply-url", r->reply_url,
      "the replier connects to this broker (requester: --url), e.g. across an uplink");
  reqrep->callback([&global, &exit_status, r] { exit_status = run_reqrep(global, *r); });

  auto o = std::make_shared<oneway_args>();
  auto* oneway =
      bench->add_subcommand("oneway", "one message at a time: publish -> delivery latency");
  oneway->add_option("--msgs", o->msgs, "messages")->check(CLI::PositiveNumber);
  oneway->add_option("--size", o->size, "payload bytes (at least 8 are used)");
  oneway->add_option("--topic", o->topic,
                     "topic to use (default: bench/oneway/ and a random part)");
  oneway->callback([&global, &exit_status, o] { exit_status = run_oneway(global, *o); });
}

}  // namespace ipcctl
