// ipcctl send, recv, req, reply and queue list|info|create|delete|purge|bind|unbind
// (SPEC §6): queues and request/reply through ipcd::client.
#include <cstdio>
#include <iostream>
#include <mutex>

#include "common.hpp"
#include "ipc/client.hpp"

namespace ipcctl {
namespace {

using json = nlohmann::json;

struct send_args {
  std::string queue;
  std::optional<std::string> payload;
  std::vector<std::string> headers;
  std::uint64_t count = 1;
  std::string ttl;
  std::optional<unsigned> priority;
  std::string delay, deliver_at;
};

int run_send(const global_options& global, const send_args& args) {
  ipc::headers hdrs;
  if (!parse_headers(args.headers, hdrs)) return exit_usage;
  if (!add_attributes(false, args.ttl, hdrs)) return exit_usage;
  if (args.priority) {
    if (*args.priority > 255) {
      std::cerr << "ipcctl: --priority must be from 0 to 255\n";
      return exit_usage;
    }
    hdrs.push_back(ipc::priority(static_cast<std::uint8_t>(*args.priority)));
  }
  if (!args.delay.empty()) {
    auto by = parse_duration(args.delay);
    if (!by || by->count() <= 0) {
      std::cerr << "ipcctl: --delay '" << args.delay << "' is not a positive duration\n";
      return exit_usage;
    }
    hdrs.push_back(ipc::delay(*by));
  }
  if (!args.deliver_at.empty()) {
    auto at = parse_rfc3339(args.deliver_at);
    if (!at) {
      std::cerr << "ipcctl: --deliver-at '" << args.deliver_at
                << "' is not an RFC 3339 time such as 2026-12-24T18:00:00Z\n";
      return exit_usage;
    }
    hdrs.push_back(ipc::deliver_at(*at));
  }
  std::string payload = read_payload(args.payload);
  std::error_code refused;
  std::string refused_why;
  auto options = global.client_options();
  options.auto_reconnect = false;
  options.on_error = [&](std::error_code ec, std::string_view why) {
    if (!refused) refused = ec, refused_why = why;
  };
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  // All but the last are pipelined; the confirmed last one proves the broker has them.
  for (std::uint64_t i = 1; i < args.count && !refused; ++i) {
    auto ec = client.send_unconfirmed(args.queue, payload, hdrs);
    if (ec == ipc::errc::limit_exceeded) {
      client.flush();
      --i;
    } else if (ec) {
      return fail("send", ec);
    }
  }
  if (auto ec = client.send(args.queue, payload, hdrs))
    return fail("send to " + args.queue, ec, client.last_error_message());
  if (refused) return fail("send to " + args.queue, refused, refused_why);
  return exit_ok;
}

struct recv_args {
  std::string queue;
  std::uint64_t count = 0;
  std::uint32_t prefetch = 0;
  bool no_ack = false, verbose = false;
};

int run_recv(const global_options& global, const recv_args& args) {
  auto options = global.client_options();
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  printer out(args.count, args.verbose, global.json);
  ipc::consume_options consume{args.prefetch, args.no_ack};
  // With --count, one delivery at a time unless --prefetch says otherwise, so that no
  // message beyond the count is delivered (and later redelivered with a raised count).
  if (args.count != 0 && consume.prefetch == 0) consume.prefetch = 1;
  std::error_code ec;
  // The last delivery's CANCEL must go out before its ACK, or the freed credit brings one
  // more message (then requeued with a raised count). The handler may run before
  // consume() has returned the subscription: then the main thread finishes the job.
  std::mutex finishing;
  bool assigned = false, finish_pending = false;
  std::uint64_t pending_tag = 0;
  ipc::subscription consumer;  // after what its handler uses: destroyed first
  auto handle = [&](const ipc::message& m) {
    if (!out.print(m)) return;  // beyond the count: requeued when we close
    if (args.count != 0 && out.printed() == args.count) {
      std::lock_guard lock(finishing);
      if (!assigned) {
        finish_pending = true;
        pending_tag = m.delivery_tag();
        return;
      }
      consumer.unsubscribe();  // CANCEL first
    }
    if (m.delivery_tag() != 0) client.ack(m.delivery_tag());
  };
  auto subscribed = client.consume(args.queue, consume, handle, ec);
  if (ec) return fail("recv " + args.queue, ec, client.last_error_message());
  {
    std::lock_guard lock(finishing);
    consumer = std::move(subscribed);
    assigned = true;
    if (finish_pending) {
      consumer.unsubscribe();
      if (pending_tag != 0) client.ack(pending_tag);
    }
  }
  int code = out.wait(global.timeout, "recv " + args.queue);
  client.flush();  // the acks are out before the connection closes
  return code;
}

struct req_args {
  std::string target;
  std::optional<std::string> payload;
  std::vector<std::string> headers;
  bool queue = false, verbose = false;
};

int run_req(const global_options& global, const req_args& args) {
  ipc::request_options request;
  if (!parse_headers(args.headers, request.headers)) return exit_usage;
  request.to_queue = args.queue;
  if (global.timeout) request.timeout = *global.timeout;
  std::string payload = read_payload(args.payload);
  auto options = global.client_options();
  options.auto_reconnect = false;
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  std::error_code ec;
  auto reply = client.request(args.target, payload, request, ec);
  if (ec) return fail("request to " + args.target, ec, client.last_error_message());
  if (global.json) {
    json line{{"payload", reply.payload}, {"id", reply.id}};
    for (const auto& [k, v] : reply.headers) line["headers"][k] = v;
    std::cout << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
  } else {
    std::cout << reply.payload << "\n";
  }
  return exit_ok;
}

struct reply_args {
  std::string target;
  bool echo = false, queue = false;
  std::string exec;
  std::uint64_t count = 0;
};

// Runs `command` with `input` on its standard input; returns its standard output.
std::optional<std::string> run_filter(const std::string& command, std::string_view input) {
  char path[] = "/tmp/ipcctl-reply-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return std::nullopt;
  std::FILE* file = ::fdopen(fd, "wb");
  std::fwrite(input.data(), 1, input.size(), file);
  std::fclose(file);
  std::FILE* pipe = ::popen((command + " < " + path).c_str(), "r");
  std::string output;
  if (pipe != nullptr) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      output.append(buffer, n);
    ::pclose(pipe);
  }
  std::remove(path);
  if (pipe == nullptr) return std::nullopt;
  return output;
}

int run_reply(const global_options& global, const reply_args& args) {
  if (args.echo == !args.exec.empty()) {
    std::cerr << "ipcctl: reply needs exactly one of --echo and --exec CMD\n";
    return exit_usage;
  }
  auto options = global.client_options();
  ipc::Client client(options);
  if (int code = connect(client, options.url)) return code;
  printer answered(args.count, false, false, true);
  std::error_code ec;
  auto responder = client.serve(
      args.target,
      [&](const ipc::message& m) -> std::optional<std::string> {
        if (!answered.print(m)) return std::nullopt;
        if (args.echo) return std::string(m.payload());
        return run_filter(args.exec, m.payload());
      },
      args.queue, ec);
  if (ec) return fail("reply " + args.target, ec, client.last_error_message());
  int code = answered.wait(global.timeout, "reply " + args.target);
  client.flush();
  return code;
}

}  // namespace

void register_queues(CLI::App& app, global_options& global, int& exit_status) {
  auto send = std::make_shared<send_args>();
  auto* send_cmd = app.add_subcommand("send", "confirmed send to a queue");
  send_cmd->add_option("queue", send->queue, "queue name")->required();
  send_cmd->add_option("payload", send->payload, "payload (stdin when absent or -)");
  send_cmd->add_option("-H,--header", send->headers, "header key=value (repeatable)");
  send_cmd->add_option("--count", send->count, "send N times")->check(CLI::PositiveNumber);
  send_cmd->add_option("--ttl", send->ttl,
                       "expire the message after DURATION (500ms, 30s, 5m): dead-lettered");
  send_cmd->add_option("--priority", send->priority,
                       "its priority in a queue with max_priority (higher first)");
  auto* delay = send_cmd->add_option("--delay", send->delay,
                                     "deliver DURATION from now (500ms, 30s, 5m, 2h)");
  send_cmd
      ->add_option("--deliver-at", send->deliver_at,
                   "deliver at an RFC 3339 time (2026-12-24T18:00:00Z, or +01:00)")
      ->excludes(delay);
  send_cmd->callback([&global, &exit_status, send] { exit_status = run_send(global, *send); });

  auto recv = std::make_shared<recv_args>();
  auto* recv_cmd = app.add_subcommand("recv", "consume from a queue, print and ack");
  recv_cmd->add_option("queue", recv->queue, "queue name")->required();
  recv_cmd->add_option("--count", recv->count, "exit after N messages");
  recv_cmd->add_option("--prefetch", recv->prefetch, "unacked deliveries at once");
  recv_cmd->add_flag("--no-ack", recv->no_ack, "settle on delivery (no acks; at-most-once)");
  recv_cmd->add_flag("-v,--verbose", recv->verbose, "print the topic before the payload");
  recv_cmd->callback([&global, &exit_status, recv] { exit_status = run_recv(global, *recv); });

  auto req = std::make_shared<req_args>();
  auto* req_cmd = app.add_subcommand("req", "send a request and print the reply");
  req_cmd->add_option("target", req->target, "topic (or queue with --queue)")->required();
  req_cmd->add_option("payload", req->payload, "payload (stdin when absent or -)");
  req_cmd->add_option("-H,--header", req->headers, "header key=value (repeatable)");
  req_cmd->add_flag("--queue", req->queue, "the target is a queue");
  req_cmd->callback([&global, &exit_status, req] { exit_status = run_req(global, *req); });

  auto reply = std::make_shared<reply_args>();
  auto* reply_cmd = app.add_subcommand("reply", "answer requests");
  reply_cmd->add_option("target", reply->target, "topic pattern (or queue with --queue)")
      ->required();
  reply_cmd->add_flag("--echo", reply->echo, "answer with the request's payload");
  reply_cmd->add_option("--exec", reply->exec, "answer with CMD's output (request on stdin)");
  reply_cmd->add_flag("--queue", reply->queue, "take requests from a queue");
  reply_cmd->add_option("--count", reply->count, "exit after N requests");
  reply_cmd->callback([&global, &exit_status, reply] { exit_status = run_reply(global, *reply); });
}

}  // namespace ipcctl
