// ipcctl queue list|info|create|delete|purge|bind|unbind (SPEC §6): admin requests
// rendered as tables or, with --json, the broker's JSON.
#include <iostream>

#include "common.hpp"

namespace ipcctl {
namespace {

using json = nlohmann::json;

std::string num(const json& value) { return value.is_null() ? "" : value.dump(); }

int print_answer(const global_options& global, int code, const json& answer,
                 const std::string& human) {
  if (code != exit_ok) return code;
  std::cout << (global.json ? answer.dump() + "\n" : human);
  return exit_ok;
}

int run_list(const global_options& global) {
  json answer;
  int code = admin_call(global, "queue.list", json::object(), answer);
  if (code != exit_ok || global.json) return print_answer(global, code, answer, "");
  std::vector<std::vector<std::string>> rows;
  for (const auto& q : answer)
    rows.push_back({q["name"].get<std::string>(), num(q["ready"]), num(q["unacked"]),
                    num(q["consumers"]), human_bytes(q["bytes"].get<std::uint64_t>()),
                    num(q["stats"]["enqueued"]), num(q["stats"]["dead_lettered"])});
  std::cout << render_table(
      {"NAME", "READY", "UNACKED", "CONSUMERS", "BYTES", "ENQUEUED", "DEAD_LETTERED"}, rows);
  return exit_ok;
}

int run_info(const global_options& global, const std::string& name) {
  json answer;
  int code = admin_call(global, "queue.info", {{"name", name}}, answer);
  if (code != exit_ok || global.json) return print_answer(global, code, answer, "");
  std::vector<std::vector<std::string>> rows;
  for (const char* key : {"name", "ready", "unacked", "consumers", "bytes"})
    rows.push_back(
        {key, answer[key].is_string() ? answer[key].get<std::string>() : num(answer[key])});
  for (const auto& [key, value] : answer["options"].items())
    rows.push_back({key, value.is_string() ? value.get<std::string>() : num(value)});
  rows.push_back({"bind", answer["bind"].dump()});
  for (const auto& [key, value] : answer["stats"].items()) rows.push_back({key, num(value)});
  std::cout << render_table({"FIELD", "VALUE"}, rows);
  return exit_ok;
}

struct create_args {
  std::string name;
  std::optional<std::uint64_t> max_length, max_bytes, max_deliveries;
  std::optional<std::string> overflow, ttl, dead_letter;
  std::vector<std::string> bind;
  bool durable = false;
  bool single_active_consumer = false;
  std::optional<std::uint32_t> max_priority;
};

int run_create(const global_options& global, const create_args& a) {
  json args{{"name", a.name}};
  if (a.max_length) args["max_length"] = *a.max_length;
  if (a.max_bytes) args["max_bytes"] = *a.max_bytes;
  if (a.max_deliveries) args["max_deliveries"] = *a.max_deliveries;
  if (a.overflow) args["overflow"] = *a.overflow;
  if (a.dead_letter) args["dead_letter"] = *a.dead_letter;
  if (!a.bind.empty()) args["bind"] = a.bind;
  if (a.durable) args["durable"] = true;
  if (a.single_active_consumer) args["single_active_consumer"] = true;
  if (a.max_priority) args["max_priority"] = *a.max_priority;
  if (a.ttl) {
    auto ttl = parse_duration(*a.ttl);
    if (!ttl) {
      std::cerr << "ipcctl: --ttl: not a duration: " << *a.ttl << "\n";
      return exit_usage;
    }
    args["ttl"] = ttl->count();
  }
  json answer;
  int code = admin_call(global, "queue.create", args, answer);
  bool created = code == exit_ok && answer.value("created", false);
  return print_answer(global, code, answer,
                      "queue " + a.name + (created ? " created\n" : " exists already\n"));
}

// delete, purge, bind, unbind: one admin call and a one-line confirmation.
int run_simple(const global_options& global, const std::string& command, json args,
               const std::string& done) {
  json answer;
  int code = admin_call(global, command, args, answer);
  return print_answer(global, code, answer, done + "\n");
}

}  // namespace

void register_queue_admin(CLI::App& app, global_options& global, int& exit_status) {
  auto* queue = app.add_subcommand("queue", "manage queues")->require_subcommand(1);
  queue->add_subcommand("list", "queues with their depth and consumers")->callback([&] {
    exit_status = run_list(global);
  });
  auto name = std::make_shared<std::string>();
  auto pattern = std::make_shared<std::string>();
  auto* info = queue->add_subcommand("info", "one queue's options and counters");
  info->add_option("name", *name, "queue name")->required();
  info->callback([&global, &exit_status, name] { exit_status = run_info(global, *name); });

  auto create = std::make_shared<create_args>();
  auto* c = queue->add_subcommand("create", "create a queue (options of SPEC §4)");
  c->add_option("name", create->name, "queue name")->required();
  c->add_option("--max-length", create->max_length, "messages held at most");
  c->add_option("--max-bytes", create->max_bytes, "payload bytes held at most");
  c->add_option("--overflow", create->overflow, "reject | drop-oldest");
  c->add_option("--ttl", create->ttl, "message time to live (e.g. 30s)");
  c->add_option("--dead-letter", create->dead_letter, "queue for dead letters");
  c->add_option("--max-deliveries", create->max_deliveries, "dead-letter after N deliveries");
  c->add_option("--bind", create->bind, "topic pattern to bind (repeatable)");
  c->add_flag("--durable", create->durable, "keep on disk");
  c->add_option("--max-priority", create->max_priority,
                "1-10: deliver messages with a higher --priority first");
  c->add_flag("--single-active-consumer", create->single_active_consumer,
              "deliver to one consumer at a time; the next takes over when it goes");
  c->callback([&global, &exit_status, create] { exit_status = run_create(global, *create); });

  for (const char* verb : {"delete", "purge"}) {
    auto* sub = queue->add_subcommand(verb, std::string(verb) + " a queue");
    sub->add_option("name", *name, "queue name")->required();
    std::string command = std::string("queue.") + verb;
    sub->callback([&global, &exit_status, name, command, verb] {
      exit_status =
          run_simple(global, command, {{"name", *name}},
                     "queue " + *name + (std::string(verb) == "delete" ? " deleted" : " purged"));
    });
  }
  for (const char* verb : {"bind", "unbind"}) {
    auto* sub = queue->add_subcommand(verb, std::string(verb) + " a topic pattern");
    sub->add_option("name", *name, "queue name")->required();
    sub->add_option("pattern", *pattern, "topic pattern")->required();
    std::string command = std::string("queue.") + verb;
    sub->callback([&global, &exit_status, name, pattern, command, verb] {
      exit_status = run_simple(global, command, {{"name", *name}, {"pattern", *pattern}},
                               "queue " + *name + " " + verb + " " + *pattern);
    });
  }
}

}  // namespace ipcctl
