// ipcctl bench pubsub: one publisher, K subscribers, every message checked for order and
// loss; reports delivered msgs/s. Clients run on two I/O threads (publisher, subscribers).
#include <atomic>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <nlohmann/json.hpp>

#include "bench.hpp"
#include "common.hpp"
#include "ipc/async_client.hpp"

namespace ipcctl {
namespace {

struct subscriber_state {
  std::unique_ptr<ipc::async_client> client;
  ipc::subscription sub;
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> out_of_order{0};
  // The broker ended the connection (a slow consumer, say): set on the subscribers'
  // thread, read once it has been joined.
  std::error_code lost;
};

std::uint64_t slowest(const std::vector<std::unique_ptr<subscriber_state>>& subs) {
  std::uint64_t low = ~std::uint64_t{0};
  for (const auto& s : subs) low = std::min(low, s->received.load(std::memory_order_acquire));
  return low;
}

// The publisher's wait for the subscribers, woken by them: a publisher a whole window
// ahead sleeps until the slowest subscriber has taken half of it (a fixed poll interval
// would leave the CPUs idle between looks, or spin).
class window_gate {
 public:
  // `window`: messages the publisher may be ahead (see progressed()).
  window_gate(asio::any_io_executor publisher, std::uint64_t window)
      : publisher_(std::move(publisher)), fenced_(window < 2) {}
  static constexpr std::uint64_t nobody_waits = ~std::uint64_t{0};

  // Publisher: sleeps on `pause` until `slowest(subs)` reaches `until` (or 10 ms pass).
  asio::awaitable<void> wait(asio::steady_timer& pause,
                             const std::vector<std::unique_ptr<subscriber_state>>& subs,
                             std::uint64_t until) {
    pause_ = &pause;
    resume_at_.store(until, std::memory_order_seq_cst);
    if (slowest(subs) < until) {  // else it got there before it could see resume_at_
      pause.expires_after(std::chrono::milliseconds(10));
      std::error_code ignored;  // cancelled: woken
      waiting_ = true;
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      waiting_ = false;
    }
    resume_at_.store(nobody_waits, std::memory_order_relaxed);
  }
  // A subscriber that has `received` messages: wakes the publisher when the slowest has
  // reached what it waits for (one wake-up per wait). Called for every message, so
  // without a fence (it would cost more than the rest of the handler): a subscriber that
  // looks at resume_at_ just before the publisher's store becomes visible, while the
  // publisher reads the subscriber's count from just before, misses this once but sees
  // it on its next message: a waiting publisher waits for half a window, and at least
  // one more message is on its way to each subscriber after that. A window of one has
  // no half: its looks keep the fence (our count's store before their resume_at_, as
  // their resume_at_ store is before their look at our count).
  void progressed(std::uint64_t received,
                  const std::vector<std::unique_ptr<subscriber_state>>& subs) {
    if (fenced_) std::atomic_thread_fence(std::memory_order_seq_cst);
    auto until = resume_at_.load(fenced_ ? std::memory_order_seq_cst : std::memory_order_relaxed);
    if (received < until || slowest(subs) < until) return;
    if (!resume_at_.compare_exchange_strong(until, nobody_waits)) return;
    asio::post(publisher_, [this] {
      if (waiting_) pause_->cancel();  // else it woke by itself meanwhile
    });
  }

 private:
  asio::any_io_executor publisher_;
  std::atomic<std::uint64_t> resume_at_{nobody_waits};
  asio::steady_timer* pause_ = nullptr;  // these two: the publisher's thread only
  bool waiting_ = false;
  bool fenced_;
};

// Publishes args.msgs, never more than args.window ahead of the slowest subscriber; ends
// with a timeout error once `stop` is set (deliveries stalled past the limit).
asio::awaitable<void> publish_all(ipc::async_client& client, const pubsub_args& args,
                                  const std::vector<std::unique_ptr<subscriber_state>>& subs,
                                  window_gate& gate, const std::atomic<bool>& stop) {
  std::string payload(std::max<std::size_t>(args.size, 8), 'x');
  asio::steady_timer pause(co_await asio::this_coro::executor);
  std::uint64_t known_slowest = 0;  // the subscribers have at least this many
  for (std::uint64_t seq = 0; seq < args.msgs; ++seq) {
    std::memcpy(payload.data(), &seq, sizeof seq);
    while (seq - std::min(seq, known_slowest) >= args.window &&
           seq - std::min(seq, known_slowest = slowest(subs)) >= args.window) {
      if (stop.load(std::memory_order_acquire))
        throw std::system_error(ipc::make_error_code(ipc::errc::timeout));
      co_await gate.wait(pause, subs, seq - args.window / 2);
    }
    if (auto ec = client.publish(args.topic, payload)) throw std::system_error(ec);
    // Let the writer run now and then so output goes out while we keep publishing.
    if (seq % 256 == 255) co_await asio::post(asio::use_awaitable);
  }
  co_await client.async_flush(asio::use_awaitable);
}

}  // namespace

std::string random_suffix() {
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(std::random_device{}()));
  return suffix;
}

int measure_pubsub(const global_options& global, const pubsub_args& given, nlohmann::json& report) {
  auto args = given;
  if (args.topic.empty()) args.topic = "bench/pubsub/" + random_suffix();
  auto options = global.client_options();
  options.auto_reconnect = false;
  auto sub_options = options;
  if (!args.sub_url.empty()) sub_options.url = args.sub_url;
  asio::io_context sub_io(1), pub_io(1);
  window_gate gate(pub_io.get_executor(), args.window);
  auto sub_work = asio::make_work_guard(sub_io);
  std::thread sub_thread([&] { sub_io.run(); });
  std::vector<std::unique_ptr<subscriber_state>> subs;
  std::promise<void> all_done;
  std::once_flag finish_once;
  auto finish = [&] { std::call_once(finish_once, [&] { all_done.set_value(); }); };
  std::atomic<std::size_t> finished{0};
  for (std::size_t i = 0; i < args.subs; ++i) {
    auto state = std::make_unique<subscriber_state>();
    auto options_of_one = sub_options;
    // A subscriber the broker drops ends the run at once with the broker's reason (not
    // with a timeout once the window stalls); a client's own close reports nothing.
    options_of_one.on_state = [one = state.get(), &finish](ipc::connection_state now,
                                                           std::error_code ec) {
      if (now != ipc::connection_state::disconnected || !ec || one->lost) return;
      one->lost = ec;
      finish();
    };
    state->client = std::make_unique<ipc::async_client>(sub_io.get_executor(), options_of_one);
    subs.push_back(std::move(state));
  }
  std::error_code ec;
  for (auto& s : subs) {
    auto* state = s.get();
    auto connected =
        asio::post(sub_io,
                   asio::use_future([&] { return state->client->async_connect(asio::use_future); }))
            .get();
    try {
      connected.get();
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    if (ec) break;
    auto handler = [state, &args, &finished, &finish, &gate, &subs](const ipc::message& m) {
      std::uint64_t seq = 0;
      std::memcpy(&seq, m.payload().data(), std::min<std::size_t>(8, m.payload().size()));
      auto expected = state->received.load(std::memory_order_relaxed);
      if (seq != expected) state->out_of_order.fetch_add(1, std::memory_order_relaxed);
      state->received.store(expected + 1, std::memory_order_release);
      gate.progressed(expected + 1, subs);
      if (expected + 1 == args.msgs && finished.fetch_add(1) + 1 == args.subs) finish();
    };
    auto subscribed =
        asio::post(sub_io, asio::use_future([&] {
                     return state->client->async_subscribe(args.topic, handler, asio::use_future);
                   }))
            .get();
    try {
      state->sub = subscribed.get();
    } catch (const std::system_error& e) {
      ec = e.code();
    }
    if (ec) break;
  }
  auto stop_subs = [&] {
    asio::post(sub_io, [&] {
      for (auto& s : subs) {
        s->sub = {};
        s->client->close();
      }
    });
    sub_work.reset();
    sub_thread.join();
  };
  if (ec) {
    stop_subs();
    std::string detail;
    for (auto& state : subs)
      if (detail.empty()) detail = state->client->last_error_message();
    return fail("bench: subscriber", ec, detail);
  }
  ipc::async_client publisher(pub_io.get_executor(), options);
  std::error_code pub_error;
  std::promise<void> publisher_done;
  // When the publisher started (after it connected): written on its thread, read here.
  std::atomic<std::chrono::steady_clock::rep> begin{
      std::chrono::steady_clock::now().time_since_epoch().count()};
  std::atomic<bool> stop{false};
  asio::co_spawn(
      pub_io,
      [&]() -> asio::awaitable<void> {
        co_await publisher.async_connect(asio::use_awaitable);
        begin = std::chrono::steady_clock::now().time_since_epoch().count();
        co_await publish_all(publisher, args, subs, gate, stop);
      },
      [&](std::exception_ptr e) {
        publisher_done.set_value();
        if (!e) return;
        finish();  // a failed publisher ends the wait for deliveries
        try {
          std::rethrow_exception(e);
        } catch (const std::system_error& failure) {
          pub_error = failure.code();
        } catch (...) {
          pub_error = ipc::make_error_code(ipc::errc::internal_error);
        }
      });
  std::thread pub_thread([&] { pub_io.run(); });
  auto done = all_done.get_future();
  auto limit = global.timeout.value_or(std::chrono::seconds(120));
  bool complete = done.wait_for(limit) == std::future_status::ready;
  auto started = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(begin));
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  stop.store(true, std::memory_order_release);  // a publisher still waiting on the window ends
  // The publisher's last flush may still be on its way back: let it finish before closing.
  publisher_done.get_future().wait_for(complete ? limit : std::chrono::milliseconds(0));
  std::uint64_t disorder = 0;
  for (auto& s : subs) disorder += s->out_of_order.load();
  std::uint64_t delivered = 0;
  for (auto& s : subs) delivered += s->received.load();
  asio::post(pub_io, [&] { publisher.close(); });
  pub_thread.join();
  stop_subs();
  // A subscriber dropped or a publisher that failed ends the wait at once (complete); a
  // wait that ran out reports the deliveries that stalled.
  for (auto& s : subs)
    if (s->lost) return fail("bench: subscriber", s->lost, s->client->last_error_message());
  if (!complete)
    return fail("bench", ipc::make_error_code(ipc::errc::timeout),
                std::to_string(delivered) + " of " + std::to_string(args.msgs * args.subs) +
                    " deliveries arrived");
  if (pub_error) return fail("bench: publisher", pub_error, publisher.last_error_message());
  double rate = static_cast<double>(delivered) / elapsed;
  report = {{"bench", "pubsub"},
            {"url", options.url},
            {"sub_url", sub_options.url},
            {"msgs", args.msgs},
            {"size", args.size},
            {"subs", args.subs},
            {"elapsed_s", elapsed},
            {"published_per_s", static_cast<double>(args.msgs) / elapsed},
            {"delivered_per_s", rate},
            {"delivered_mb_per_s", rate * static_cast<double>(args.size) / 1e6},
            {"out_of_order", disorder}};
  if (disorder != 0) std::cerr << "ipcctl: bench: " << disorder << " messages out of order\n";
  return disorder == 0 ? exit_ok : exit_refused;
}

namespace {

int run_pubsub(const global_options& global, const pubsub_args& args) {
  nlohmann::json report;
  int status = measure_pubsub(global, args, report);
  if (report.is_null()) return status;
  if (global.json) {
    std::cout << report.dump() << "\n";
  } else {
    double rate = report["delivered_per_s"].get<double>();
    std::printf(
        "pubsub %s: %llu msgs x %zu B to %zu sub(s) in %.3f s: %.0f msgs/s delivered "
        "(%.1f MB/s), %.0f msgs/s published%s\n",
        report["url"].get<std::string>().c_str(), static_cast<unsigned long long>(args.msgs),
        args.size, args.subs, report["elapsed_s"].get<double>(), rate,
        rate * static_cast<double>(args.size) / 1e6, report["published_per_s"].get<double>(),
        status != exit_ok ? ", OUT OF ORDER" : "");
  }
  return status;
}

}  // namespace

void register_bench(CLI::App& app, global_options& global, int& exit_status) {
  auto* bench = app.add_subcommand("bench", "benchmarks")->require_subcommand(1);
  auto args = std::make_shared<pubsub_args>();
  auto* pubsub = bench->add_subcommand("pubsub", "1 publisher -> K subscribers, all verified");
  pubsub->add_option("--msgs", args->msgs, "messages to publish")->check(CLI::PositiveNumber);
  pubsub->add_option("--size", args->size, "payload bytes (at least 8 are used)");
  pubsub->add_option("--subs", args->subs, "subscribers")->check(CLI::PositiveNumber);
  pubsub->add_option("--window", args->window, "max messages in flight to the slowest subscriber")
      ->check(CLI::PositiveNumber);
  pubsub->add_option("--topic", args->topic,
                     "topic to use (default: bench/pubsub/ and a random part)");
  pubsub->add_option(
      "--sub-url", args->sub_url,
      "subscribers connect to this broker (publisher: --url), e.g. across an uplink");
  pubsub->callback([&global, &exit_status, args] { exit_status = run_pubsub(global, *args); });
  register_queue_benches(bench, global, exit_status);
  register_delay_bench(bench, global, exit_status);
  register_shm_bench(bench, global, exit_status);
}

}  // namespace ipcctl
