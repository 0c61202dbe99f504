// The measuring halves of ipcctl bench pubsub and bench reqrep, for the verbs that run
// them more than once (bench shm): each fills the JSON report `--json` prints.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common.hpp"

namespace ipcctl {

struct pubsub_args {
  std::uint64_t msgs = 100000;
  std::size_t size = 128;
  std::size_t subs = 1;
  std::uint64_t window = 20000;  // messages the publisher may be ahead of the slowest subscriber
  std::string topic;             // "" = bench/pubsub/RANDOM: benches running at once stay apart
  std::string sub_url;           // subscribers connect here ("" = --url): across two brokers
};

struct reqrep_args {
  std::uint64_t msgs = 20000;
  std::size_t size = 128;
  bool queue = false;
  std::string target;     // "" = bench/reqrep/RANDOM, or the queue bench.reqrep with `queue`
  std::string reply_url;  // the replier connects here ("" = --url): across two brokers
};

// 8 random hexadecimal digits: the default topics' random part (short: a topic's length
// is part of the per-message work a bench measures).
std::string random_suffix();

// Runs the benchmark against global.url; exit_ok with `report` filled, or the exit code
// after printing why it failed (exit_refused when messages came out of order: the report
// is filled then too).
int measure_pubsub(const global_options& global, const pubsub_args& args, nlohmann::json& report);
int measure_reqrep(const global_options& global, const reqrep_args& args, nlohmann::json& report);

void register_shm_bench(CLI::App* bench, global_options& global, int& exit_status);

}  // namespace ipcctl
