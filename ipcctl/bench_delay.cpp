// ipcctl bench delay: schedules N delayed messages (ipc-deliver-at spread over a window)
// into one queue and measures how fast they are scheduled, how late each is delivered
// after its time, and the broker's memory per scheduled message.
#include <algorithm>
#include <atomic>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>

#include "common.hpp"
#include "ipc/async_client.hpp"

namespace ipcctl {
namespace {

struct delay_args {
  std::uint64_t msgs = 100000;
  std::size_t size = 16;
  std::string lead = "2s";    // the first message is due this long after scheduling starts
  std::string spread = "2s";  // the due times are spread evenly over this window
  std::string queue = "bench.delay";
};

std::uint64_t unix_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

double at_percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

int run_delay(const global_options& global, const delay_args& args) {
  auto lead = parse_duration(args.lead), spread = parse_duration(args.spread);
  if (!lead || !spread) {
    std::cerr << "ipcctl: bench delay: --lead and --spread take durations (2s, 500ms)\n";
    return exit_usage;
  }
  auto options = global.client_options();
  options.auto_reconnect = false;
  options.max_pending_bytes = std::size_t{1} << 31;  // the producer queues every send at once
  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  std::thread thread([&] { io.run(); });
  ipc::async_client admin(io.get_executor(), options), producer(io.get_executor(), options),
      consumer(io.get_executor(), options);
  auto on = [&](auto fn) { return asio::post(io, asio::use_future(std::move(fn))).get().get(); };
  std::mutex mutex;
  std::vector<double> late_ms;  // delivery time minus due time
  late_ms.reserve(args.msgs);
  std::promise<void> all_in;
  std::atomic<bool> signalled{false};
  std::error_code failure;
  ipc::subscription sub;
  std::uint64_t memory_before = 0, memory_after = 0;
  double schedule_s = 0;
  try {
    on([&] { return admin.async_connect(asio::use_future); });
    on([&] { return producer.async_connect(asio::use_future); });
    on([&] { return consumer.async_connect(asio::use_future); });
    // Room for every message: the default max_bytes (64 MiB) holds about a million small ones.
    on([&] {
      return admin.async_admin(
          "queue.create",
          nlohmann::json{{"name", args.queue}, {"max_bytes", std::uint64_t{1} << 34}}.dump(),
          asio::use_future);
    });
    auto memory = [&] {
      auto status = nlohmann::json::parse(
          on([&] { return admin.async_admin("status", "{}", asio::use_future); }));
      return status["memory_bytes"].get<std::uint64_t>();
    };
    sub = on([&] {
      return consumer.async_consume(
          args.queue, {1000, true},
          [&](const ipc::message& m) {
            auto due = m.header("ipc-deliver-at");
            double late = 0;
            if (due)
              late = (static_cast<double>(unix_us()) - std::stod(std::string(*due)) * 1000) / 1000;
            std::lock_guard lock(mutex);
            late_ms.push_back(late);
            if (late_ms.size() == args.msgs && !signalled.exchange(true)) all_in.set_value();
          },
          asio::use_future);
    });
    memory_before = memory();
    std::string payload(args.size, 'd');
    auto start_us = unix_us();
    auto first_due_ms = start_us / 1000 + static_cast<std::uint64_t>(lead->count());
    auto begin = std::chrono::steady_clock::now();
    std::promise<std::error_code> sent;
    asio::post(io, [&] {
      // Pipelined sends; the confirmed last one proves the broker holds them all.
      for (std::uint64_t i = 0; i + 1 < args.msgs; ++i) {
        auto due = first_due_ms + i * static_cast<std::uint64_t>(spread->count()) / args.msgs;
        ipc::headers h{{"ipc-deliver-at", std::to_string(due)}};
        if (auto ec = producer.send(args.queue, payload, h)) return sent.set_value(ec);
      }
      auto last_due = first_due_ms + static_cast<std::uint64_t>(spread->count());
      producer.async_send(args.queue, payload, {{"ipc-deliver-at", std::to_string(last_due)}},
                          [&sent](std::error_code ec) { sent.set_value(ec); });
    });
    if (auto ec = sent.get_future().get()) throw std::system_error(ec);
    schedule_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    memory_after = memory();
    auto limit = global.timeout.value_or(std::chrono::seconds(120)) + *lead + *spread;
    if (all_in.get_future().wait_for(limit) != std::future_status::ready)
      failure = ipc::make_error_code(ipc::errc::timeout);
  } catch (const std::system_error& e) {
    failure = e.code();
  }
  asio::post(io, [&] {
    sub = {};
    admin.close();
    producer.close();
    consumer.close();
  });
  work.reset();
  thread.join();
  if (failure) return fail("bench delay", failure);
  std::sort(late_ms.begin(), late_ms.end());
  double bytes_each =
      memory_after > memory_before
          ? static_cast<double>(memory_after - memory_before) / static_cast<double>(args.msgs)
          : 0;
  nlohmann::json report{{"bench", "delay"},
                        {"url", options.url},
                        {"msgs", args.msgs},
                        {"size", args.size},
                        {"scheduled_per_s", static_cast<double>(args.msgs) / schedule_s},
                        {"late_p50_ms", at_percentile(late_ms, 50)},
                        {"late_p99_ms", at_percentile(late_ms, 99)},
                        {"late_max_ms", late_ms.back()},
                        {"early_min_ms", late_ms.front()},
                        {"broker_bytes_per_message", bytes_each}};
  if (global.json)
    std::cout << report.dump() << "\n";
  else
    std::printf(
        "delay %s: %llu msgs x %zu B scheduled at %.0f msgs/s; delivered after their time by "
        "p50 %.2f ms, p99 %.2f ms, max %.2f ms (earliest %.2f ms); broker memory %.0f B per "
        "scheduled message\n",
        options.url.c_str(), static_cast<unsigned long long>(args.msgs), args.size,
        static_cast<double>(args.msgs) / schedule_s, at_percentile(late_ms, 50),
        at_percentile(late_ms, 99), late_ms.back(), late_ms.front(), bytes_each);
  return exit_ok;
}

}  // namespace

void register_delay_bench(CLI::App* bench, global_options& global, int& exit_status) {
  auto args = std::make_shared<delay_args>();
  auto* delay = bench->add_subcommand(
      "delay", "schedule N delayed messages; schedule rate, lateness p50/p99, memory each");
  delay->add_option("--msgs", args->msgs, "messages to schedule")->check(CLI::PositiveNumber);
  delay->add_option("--size", args->size, "payload bytes");
  delay->add_option("--lead", args->lead, "the first is due this long after the start (2s)");
  delay->add_option("--spread", args->spread, "due times spread evenly over this window (2s)");
  delay->add_option("--queue", args->queue, "queue to use");
  delay->callback([&global, &exit_status, args] { exit_status = run_delay(global, *args); });
}

}  // namespace ipcctl
