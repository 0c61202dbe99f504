// ipcctl bench shm: the same broker socket (or named pipe) over shared memory (shm://)
// and over the socket alone (unix:// or npipe://, shared memory declined), in interleaved
// rounds: request/reply round trips and pub/sub 1→1, medians per transport and the ratios
// (docs/shared-memory.md).
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string_view>
#include <vector>

#include "bench.hpp"
#include "common.hpp"
#include "ipc/transport/url.hpp"

namespace ipcctl {
namespace {

struct shm_bench_args {
  std::uint32_t rounds = 3;
  std::uint64_t requests = 20000;
  std::uint64_t msgs = 500000;
  std::size_t size = 128;
};

struct transport_runs {
  std::string name;
  std::vector<double> p50_us{}, p99_us{}, delivered_per_s{};
};

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// The local listener a unix://, npipe:// or shm:// URL names: its path (a socket's path,
// a pipe's //./pipe/NAME) and its own scheme; an empty path for any other URL.
struct local_target {
  std::string path, scheme;
};
local_target local_target_of(const std::string& text) {
  namespace transport = ipc::transport;
  auto parsed = transport::parse_url(text);
  if (!parsed.value) return {};
  auto local = transport::local_url_of(*parsed.value);
  if (local.kind != transport::scheme::unix_socket && local.kind != transport::scheme::named_pipe)
    return {};
  auto url = local.to_string();
  return {url.substr(url.find("://") + 3), std::string(transport::scheme_name(local.kind))};
}

int run_shm_bench(const global_options& global, const shm_bench_args& args) {
  auto [path, local_scheme] = local_target_of(global.client_options().url);
  if (path.empty()) {
    std::cerr << "ipcctl: bench shm compares shm:// with the socket alone on one local "
                 "listener: --url must be unix://PATH, npipe://PATH or shm://PATH\n";
    return exit_usage;
  }
  transport_runs shm, unix_socket;  // unix_socket: the local socket or pipe alone
  shm.name = "shm";
  unix_socket.name = local_scheme;
  nlohmann::json runs = nlohmann::json::array();
  int outcome = exit_ok;
  for (std::uint32_t round = 0; round < args.rounds; ++round) {
    for (auto* runs_of : {&shm, &unix_socket}) {
      auto options = global;
      bool over_shm = runs_of == &shm;
      options.url = (over_shm ? "shm://" : unix_socket.name + "://") + path;
      options.shared_memory = over_shm;  // unix:// (npipe://) stays on the socket
      nlohmann::json reqrep, pubsub;
      reqrep_args latency;
      latency.msgs = args.requests;
      latency.size = args.size;
      if (int status = measure_reqrep(options, latency, reqrep); status != exit_ok) return status;
      pubsub_args throughput;
      throughput.msgs = args.msgs;
      throughput.size = std::max<std::size_t>(args.size, 8);
      // Messages out of order (exit_refused) still give a figure: kept, and the verb
      // ends with that status after the report.
      if (int status = measure_pubsub(options, throughput, pubsub); status != exit_ok) {
        if (status != exit_refused || pubsub.is_null()) return status;
        outcome = status;
      }
      runs_of->p50_us.push_back(reqrep["p50_us"].get<double>());
      runs_of->p99_us.push_back(reqrep["p99_us"].get<double>());
      runs_of->delivered_per_s.push_back(pubsub["delivered_per_s"].get<double>());
      runs.push_back({{"round", round + 1},
                      {"transport", runs_of->name},
                      {"p50_us", runs_of->p50_us.back()},
                      {"p99_us", runs_of->p99_us.back()},
                      {"delivered_per_s", runs_of->delivered_per_s.back()}});
    }
  }
  auto summary = [](const transport_runs& t) {
    return nlohmann::json{{"p50_us", median(t.p50_us)},
                          {"p99_us", median(t.p99_us)},
                          {"delivered_per_s", median(t.delivered_per_s)}};
  };
  double p50_ratio = median(shm.p50_us) / median(unix_socket.p50_us);
  double throughput_ratio = median(shm.delivered_per_s) / median(unix_socket.delivered_per_s);
  if (global.json) {
    nlohmann::json report{{"bench", "shm"},
                          {"path", path},
                          {"rounds", args.rounds},
                          {"requests", args.requests},
                          {"msgs", args.msgs},
                          {"size", args.size},
                          {"shm", summary(shm)},
                          {unix_socket.name, summary(unix_socket)},
                          {"p50_ratio", p50_ratio},
                          {"throughput_ratio", throughput_ratio},
                          {"runs", runs}};
    std::cout << report.dump() << "\n";
    return outcome;
  }
  std::printf("shm vs %s on %s, %zu B, medians of %u rounds (%llu round trips, %llu msgs)\n",
              unix_socket.name.c_str(), path.c_str(), args.size, args.rounds,
              static_cast<unsigned long long>(args.requests),
              static_cast<unsigned long long>(args.msgs));
  std::vector<std::vector<std::string>> rows;
  auto fixed = [](double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", digits, value);
    return std::string(text);
  };
  for (const auto* t : {&shm, &unix_socket})
    rows.push_back({t->name, fixed(median(t->p50_us), 1), fixed(median(t->p99_us), 1),
                    fixed(median(t->delivered_per_s), 0)});
  rows.push_back(
      {"shm/" + unix_socket.name, fixed(p50_ratio, 2) + "x", "", fixed(throughput_ratio, 2) + "x"});
  std::cout << render_table({"TRANSPORT", "RT P50 US", "RT P99 US", "PUBSUB MSGS/S"}, rows);
  return outcome;
}

}  // namespace

void register_shm_bench(CLI::App* bench, global_options& global, int& exit_status) {
  auto args = std::make_shared<shm_bench_args>();
  auto* shm = bench->add_subcommand(
      "shm", "shared memory against the socket alone: round trips and pub/sub, both ways");
  shm->add_option("--rounds", args->rounds, "rounds, shm:// and the socket alone interleaved")
      ->check(CLI::PositiveNumber);
  shm->add_option("--requests", args->requests, "request/reply round trips per run")
      ->check(CLI::PositiveNumber);
  shm->add_option("--msgs", args->msgs, "pub/sub messages per run")->check(CLI::PositiveNumber);
  shm->add_option("--size", args->size, "payload bytes");
  shm->callback([&global, &exit_status, args] { exit_status = run_shm_bench(global, *args); });
}

}  // namespace ipcctl
