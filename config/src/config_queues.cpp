// The `queues` section and queue options: JSON reading, name rules, validation. Used for
// config files and for queues created at run time (admin queue.create).
#include <string>

#include "ipc/config/config.hpp"
#include "json_reader.hpp"

namespace ipc::config {

using namespace detail;

namespace {

void read_patterns(object_reader& reader, std::vector<std::string>& out) {
  const json* value = reader.find("bind");
  if (!value) return;
  if (!value->is_array()) return reader.report_at("bind", "expected an array of topic patterns");
  out.clear();
  for (std::size_t i = 0; i < value->size(); ++i) {
    if ((*value)[i].is_string())
      out.push_back((*value)[i].get<std::string>());
    else
      report(reader.errors(), reader.path_of("bind") + "/" + std::to_string(i),
             "expected a topic pattern string, got " + describe((*value)[i]));
  }
}

void read_queue_options(const json& value, const std::string& path, queue_options& out,
                        error_list& errors) {
  object_reader reader(value, path, errors);
  reader.read("durable", out.durable);
  reader.read("max_length", out.max_length);
  reader.read("max_bytes", out.max_bytes);
  reader.read("overflow", out.overflow);
  reader.read("ttl", out.ttl_ms);
  reader.read("dead_letter", out.dead_letter);
  reader.read("max_deliveries", out.max_deliveries);
  reader.read("single_active_consumer", out.single_active_consumer);
  reader.read("max_priority", out.max_priority);
  read_patterns(reader, out.bind);
  reader.report_unknown_keys();
}

}  // namespace

bool valid_queue_name(std::string_view name) {
  // "." and ".." match the character rule but name directories: refused (names may
  // become file names with durable queues).
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace detail {

// "queues": {"auto_create": bool, "<name>": {options}, …}
void read_queues(const json& value, queues& out, error_list& errors) {
  if (!value.is_object())
    return report(errors, "/queues", "expected an object, got " + describe(value));
  for (const auto& [key, member] : value.items()) {
    std::string path = child_path("/queues", key);
    if (key == "auto_create") {
      if (member.is_boolean())
        out.auto_create = member.get<bool>();
      else
        report(errors, path, "expected true or false, got " + describe(member));
      continue;
    }
    queue_options options;
    read_queue_options(member, path, options, errors);
    out.declared.emplace_back(key, std::move(options));
  }
}

}  // namespace detail

std::vector<error> validate_queue(std::string_view name, const queue_options& options,
                                  const std::string& path) {
  std::vector<error> errors;
  if (!valid_queue_name(name))
    report(errors, path,
           "invalid queue name '" + std::string(name) + "': use 1 to 255 of A-Z a-z 0-9 . _ -");
  if (options.overflow != "reject" && options.overflow != "drop-oldest")
    report(errors, path + "/overflow",
           "must be \"reject\" or \"drop-oldest\", got \"" + options.overflow + "\"");
  if (options.max_bytes == 0)
    report(errors, path + "/max_bytes", "must be at least 1: every queue is bounded");
  if (!options.dead_letter.empty() && !valid_queue_name(options.dead_letter))
    report(errors, path + "/dead_letter", "invalid queue name '" + options.dead_letter + "'");
  if (options.dead_letter == name)
    report(errors, path + "/dead_letter", "a queue cannot be its own dead-letter queue");
  if (options.max_priority > 10)
    report(errors, path + "/max_priority",
           "must be from 1 to 10 (or 0 for none), got " + std::to_string(options.max_priority));
  for (std::size_t i = 0; i < options.bind.size(); ++i)
    if (options.bind[i].empty() || options.bind[i].size() > 65535)
      report(errors, path + "/bind/" + std::to_string(i), "invalid topic pattern");
  return errors;
}

std::vector<error> parse_queue_options(std::string_view json_text, queue_options& out) {
  error_list errors;
  json document = json::parse(json_text, nullptr, false);
  if (document.is_discarded()) {
    report(errors, "", "invalid JSON");
    return errors;
  }
  read_queue_options(document, "", out, errors);
  return errors;
}

}  // namespace ipc::config
