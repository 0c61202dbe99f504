// ipcctl pub and sub (SPEC §6): publish payloads, print received messages.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <iterator>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "ipc/async_client.hpp"
#include "ipc/client.hpp"

namespace ipcctl {
namespace {

// --will-topic, --will-payload, --will-retain, --will-delay (docs/protocol.md §3.1.4).
struct will_args {
  std::string topic, payload, delay;
  bool retain = false;

  void add_to(CLI::App& command) {
    command.add_option("--will-topic", topic,
                       "publish a last will on TOPIC if this connection ends uncleanly");
    command.add_option("--will-payload", payload, "the will's payload");
    command.add_flag("--will-retain", retain, "the will is retained");
    command.add_option("--will-delay", delay, "publish the will DURATION after the loss");
  }
  // Sets options.will; false (after a message) when the options do not fit together.
  bool apply(ipc::client_options& options) const {
    if (topic.empty()) {
      if (!payload.empty() || retain || !delay.empty()) {
        std::cerr << "ipcctl: --will-payload, --will-retain and --will-delay need --will-topic\n";
        return false;
      }
      return true;
    }
    ipc::will will;
    will.topic = topic;
    will.payload = payload;
    will.retain = retain;
    if (!delay.empty()) {
      auto parsed = parse_duration(delay);
      if (!parsed) {
        std::cerr << "ipcctl: --will-delay '" << delay << "' is not a duration\n";
        return false;
      }
      will.delay = *parsed;
    }
    options.will = std::move(will);
    return true;
  }
};

struct pub_args {
  std::string topic;
  std::optional<std::string> payload;
  std::vector<std::string> headers;
  std::uint64_t count = 1;
  bool retain = false;
  std::string ttl;
  int qos = -1;  // -1: not given
  will_args will;
};

int run_pub(const global_options& global, const pub_args& args) {
  ipc::headers hdrs;
  if (!parse_headers(args.headers, hdrs)) return exit_usage;
  if (!add_attributes(args.retain, args.ttl, hdrs)) return exit_usage;
  if (args.qos >= 0) hdrs.emplace_back("ipc-qos", std::to_string(args.qos));
  std::string payload = read_payload(args.payload);
  std::error_code first_error;
  std::string first_message;
  auto options = global.client_options();
  options.auto_reconnect = false;
  if (!args.will.apply(options)) return exit_usage;
  options.on_error = [&](std::error_code ec, std::string_view message) {
    if (!first_error) {
      first_error = ec;
      first_message = message;
    }
  };
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  if (payload.size() > client.max_payload())
    return fail("publish", ipc::make_error_code(ipc::errc::payload_too_large),
                "payload of " + std::to_string(payload.size()) + " bytes, broker max_payload is " +
                    std::to_string(client.max_payload()));
  // All but the last are pipelined; the confirmed last one proves the broker took them.
  for (std::uint64_t i = 1; i < args.count; ++i) {
    if (auto ec = client.publish(args.topic, payload, hdrs)) {
      if (ec != ipc::make_error_code(ipc::errc::limit_exceeded)) return fail("publish", ec);
      if (auto flushed = client.flush()) return fail("publish", flushed);
      --i;  // output was full: retry this one after the flush
    }
  }
  if (auto ec = client.publish_confirmed(args.topic, payload, hdrs))
    return fail("publish", ec, client.last_error_message());
  if (first_error) return fail("publish", first_error, first_message);
  return exit_ok;
}

struct sub_args {
  std::string pattern;
  std::uint64_t count = 0;  // 0: until interrupted
  bool verbose = false;
  will_args will;
};

int run_sub(const global_options& global, const sub_args& args) {
  auto options = global.client_options();
  if (!args.will.apply(options)) return exit_usage;
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  printer out(args.count, args.verbose, global.json);
  std::error_code ec;
  auto sub = client.subscribe(
      args.pattern, [&](const ipc::message& m) { out.print(m); }, ec);
  if (ec) return fail("subscribe " + args.pattern, ec, client.last_error_message());
  return out.wait(global.timeout, "sub " + args.pattern);
}

}  // namespace

void register_pubsub(CLI::App& app, global_options& global, int& exit_status) {
  auto pub = std::make_shared<pub_args>();
  auto* pub_cmd = app.add_subcommand("pub", "publish a message to a topic");
  pub_cmd->add_option("topic", pub->topic, "topic")->required();
  pub_cmd->add_option("payload", pub->payload, "payload (stdin when absent or -)");
  pub_cmd->add_option("-H,--header", pub->headers, "header key=value (repeatable)");
  pub_cmd->add_option("--count", pub->count, "publish N times")->check(CLI::PositiveNumber);
  pub_cmd->add_flag("--retain", pub->retain,
                    "keep as the topic's retained message (an empty payload clears it)");
  pub_cmd->add_option("--ttl", pub->ttl, "expire the message after DURATION (500ms, 30s, 5m)");
  pub_cmd->add_option("--qos", pub->qos, "the QoS MQTT subscribers get it at (at most theirs)")
      ->check(CLI::Range(0, 2));
  pub->will.add_to(*pub_cmd);
  pub_cmd->callback([&global, &exit_status, pub] { exit_status = run_pub(global, *pub); });

  auto sub = std::make_shared<sub_args>();
  auto* sub_cmd = app.add_subcommand("sub", "print messages published to a pattern");
  sub_cmd->add_option("pattern", sub->pattern, "topic pattern (+ and # wildcards)")->required();
  sub_cmd->add_option("--count", sub->count, "exit after N messages");
  sub_cmd->add_flag("-v,--verbose", sub->verbose, "print the topic before the payload");
  sub->will.add_to(*sub_cmd);
  sub_cmd->callback([&global, &exit_status, sub] { exit_status = run_sub(global, *sub); });
}

}  // namespace ipcctl
