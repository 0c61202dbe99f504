// The `uplinks` section (docs/config.md §9, docs/uplinks.md §2): NATS servers, export and
// import rules (a pattern string or an object with more options), credentials, TLS, the
// spool's bound and the reconnect timing; reading and validation.
#include <algorithm>
#include <set>
#include <string>

#include "ipc/config/config.hpp"
#include "ipc/credentials/nkey.hpp"
#include "ipc/nats/subjects.hpp"
#include "ipc/routing/topic.hpp"
#include "ipc/transport/url.hpp"
#include "json_reader.hpp"

namespace ipc::config {

using namespace detail;

namespace {

// NATS' registered client port.
constexpr std::string_view nats_port = "4222";

void read_export(const json& value, const std::string& path, uplink_export& out,
                 error_list& errors) {
  if (value.is_string()) {
    out.pattern = value.get<std::string>();
    return;
  }
  object_reader reader(value, path, errors);
  if (!reader.ok()) return;
  reader.read("pattern", out.pattern);
  reader.read("prefix", out.prefix);
  reader.read("durable", out.durable);
  reader.report_unknown_keys();
}

void read_import(const json& value, const std::string& path, uplink_import& out,
                 error_list& errors) {
  if (value.is_string()) {
    out.pattern = value.get<std::string>();
    return;
  }
  object_reader reader(value, path, errors);
  if (!reader.ok()) return;
  reader.read("pattern", out.pattern);
  reader.read("prefix", out.prefix);
  reader.read("queue", out.queue);
  reader.read("group", out.group);
  reader.report_unknown_keys();
}

template <typename Rule, typename Read>
void read_rules(object_reader& reader, std::string_view key, std::vector<Rule>& out, Read read) {
  const json* value = reader.find(key);
  if (!value) return;
  if (!value->is_array())
    return reader.report_at(key, "expected an array of topic patterns or rule objects");
  for (std::size_t i = 0; i < value->size(); ++i) {
    Rule rule;
    read((*value)[i], reader.path_of(key) + "/" + std::to_string(i), rule, reader.errors());
    out.push_back(std::move(rule));
  }
}

void read_uplink(const json& value, const std::string& path, uplink& out, error_list& errors) {
  object_reader reader(value, path, errors);
  reader.read("name", out.name);
  read_strings(reader, "servers", out.servers);
  read_rules(reader, "export", out.exports, read_export);
  read_rules(reader, "import", out.imports, read_import);
  reader.read("prefix", out.prefix);
  reader.read("user", out.user);
  reader.read("password", out.password);
  reader.read("token", out.token);
  reader.read("nkey", out.nkey);
  reader.read("ca", out.tls_ca);
  reader.read("cert", out.tls_cert);
  reader.read("key", out.tls_key);
  reader.read("local_user", out.local_user);
  reader.read("max_spool_bytes", out.max_spool_bytes);
  reader.read("spool_overflow", out.spool_overflow);
  reader.read("max_inflight", out.max_inflight);
  reader.read("reconnect_wait_ms", out.reconnect_wait_ms);
  reader.read("max_reconnect_wait_ms", out.max_reconnect_wait_ms);
  reader.read("connect_timeout_ms", out.connect_timeout_ms);
  reader.read("ping_interval_ms", out.ping_interval_ms);
  reader.read("max_pings_out", out.max_pings_out);
  reader.read("dedupe_window", out.dedupe_window);
  reader.planned({"creds"});
  reader.report_unknown_keys();
}

void check_pattern(std::vector<error>& errors, const std::string& path,
                   const std::string& pattern) {
  if (pattern.empty()) return errors.push_back({path, "a rule needs a topic pattern"});
  auto problem = routing::check_pattern(pattern, routing::name_limits{65535, 65535});
  if (problem != routing::topic_error::none)
    errors.push_back({path, "invalid topic pattern '" + pattern +
                                "': " + std::string(routing::describe(problem))});
}

void check_prefix(std::vector<error>& errors, const std::string& path, const std::string& prefix) {
  if (!prefix.empty() && !nats::valid_subject(prefix, false))
    errors.push_back({path, "invalid subject prefix '" + prefix +
                                "': dot-separated tokens without spaces or wildcards"});
}

void check_server(std::vector<error>& errors, const std::string& path, const std::string& server) {
  if (!server.starts_with("nats://") && !server.starts_with("tls://"))
    return errors.push_back(
        {path, "expected nats://HOST[:PORT] or tls://HOST[:PORT], got \"" + server + "\""});
  if (server.find('@') != std::string::npos)
    return errors.push_back({path, "credentials go in user/password or token, not in the URL"});
  auto parsed = transport::parse_url(uplink_transport_url(server));
  if (!parsed.value) return errors.push_back({path, parsed.error});
  if (parsed.value->port == 0) errors.push_back({path, "a server needs a port other than 0"});
  if (parsed.value->kind == transport::scheme::tls && !tls_available())
    errors.push_back({path, "this build has no TLS"});
}

void validate_uplink(const uplink& u, const std::string& path, bool has_storage,
                     std::vector<error>& errors) {
  if (!valid_queue_name(u.name) || u.name.size() > 200)
    errors.push_back({path + "/name", "an uplink needs a name of 1 to 200 of A-Z a-z 0-9 . _ -"});
  if (u.servers.empty()) errors.push_back({path + "/servers", "at least one server is needed"});
  for (std::size_t i = 0; i < u.servers.size(); ++i)
    check_server(errors, path + "/servers/" + std::to_string(i), u.servers[i]);
  if (u.exports.empty() && u.imports.empty())
    errors.push_back({path, "an uplink needs an export or an import rule"});
  check_prefix(errors, path + "/prefix", u.prefix);
  for (std::size_t i = 0; i < u.exports.size(); ++i) {
    auto at = path + "/export/" + std::to_string(i);
    check_pattern(errors, at, u.exports[i].pattern);
    check_prefix(errors, at + "/prefix", u.exports[i].prefix);
    if (u.exports[i].durable && !has_storage)
      errors.push_back({at + "/durable", "a durable export needs storage.dir"});
  }
  for (std::size_t i = 0; i < u.imports.size(); ++i) {
    auto at = path + "/import/" + std::to_string(i);
    const auto& rule = u.imports[i];
    check_pattern(errors, at, rule.pattern);
    check_prefix(errors, at + "/prefix", rule.prefix);
    if (!rule.queue.empty() && !valid_queue_name(rule.queue))
      errors.push_back({at + "/queue", "invalid queue name '" + rule.queue + "'"});
    if (!rule.group.empty() && !nats::valid_queue_group(rule.group))
      errors.push_back({at + "/group", "invalid queue group '" + rule.group +
                                           "': one token without spaces, dots or wildcards"});
  }
  if (u.user.empty() != u.password.empty())
    errors.push_back({path + "/password", "user and password go together"});
  if (!u.token.empty() && !u.user.empty())
    errors.push_back({path + "/token", "give a token or a user and password, not both"});
  if (!u.nkey.empty()) {
    if (!u.user.empty() || !u.token.empty())
      errors.push_back({path + "/nkey", "give an NKey, a token or a user and password, not two"});
    std::string problem;
    if (!credentials::read_user_seed_file(u.nkey, problem))
      errors.push_back({path + "/nkey", problem});
  }
  if (u.tls_cert.empty() != u.tls_key.empty())
    errors.push_back({path + "/key", "a client certificate needs both cert and key"});
  if (u.spool_overflow != "drop-oldest" && u.spool_overflow != "reject")
    errors.push_back({path + "/spool_overflow",
                      "must be \"drop-oldest\" or \"reject\", got \"" + u.spool_overflow + "\""});
  if (u.max_spool_bytes < 64 * 1024)
    errors.push_back({path + "/max_spool_bytes", "must be at least 65536"});
  if (u.max_inflight == 0 || u.max_inflight > 65535)
    errors.push_back({path + "/max_inflight", "must be from 1 to 65535"});
  if (u.reconnect_wait_ms < 10 || u.max_reconnect_wait_ms < u.reconnect_wait_ms)
    errors.push_back(
        {path + "/reconnect_wait_ms", "must be at least 10 and at most max_reconnect_wait_ms"});
  if (u.connect_timeout_ms < 100)
    errors.push_back({path + "/connect_timeout_ms", "must be at least 100"});
  if (u.ping_interval_ms < 100)
    errors.push_back({path + "/ping_interval_ms", "must be at least 100"});
  if (u.max_pings_out == 0) errors.push_back({path + "/max_pings_out", "must be at least 1"});
}

}  // namespace

std::string uplink_transport_url(std::string_view url) {
  std::string_view scheme = "tcp", rest = url;
  if (url.starts_with("nats://")) {
    rest = url.substr(7);
  } else if (url.starts_with("tls://")) {
    scheme = "tls";
    rest = url.substr(6);
  }
  while (rest.ends_with('/')) rest.remove_suffix(1);
  bool has_port = rest.starts_with('[') ? rest.find("]:") != std::string_view::npos
                                        : rest.find(':') != std::string_view::npos;
  std::string out(scheme);
  out += "://";
  out += rest;
  if (!has_port) {
    out += ':';
    out += nats_port;
  }
  return out;
}

namespace detail {

void read_uplinks(const json& value, std::vector<uplink>& out, error_list& errors) {
  if (!value.is_array())
    return report(errors, "/uplinks", "expected an array of uplinks, got " + describe(value));
  out.clear();
  for (std::size_t i = 0; i < value.size(); ++i) {
    uplink u;
    read_uplink(value[i], "/uplinks/" + std::to_string(i), u, errors);
    out.push_back(std::move(u));
  }
}

}  // namespace detail

void validate_uplinks(const broker_config& config, std::vector<error>& errors) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < config.uplinks.size(); ++i) {
    const auto& u = config.uplinks[i];
    auto path = "/uplinks/" + std::to_string(i);
    validate_uplink(u, path, !config.storage.dir.empty(), errors);
    if (!u.local_user.empty() && config.auth.present &&
        std::none_of(config.auth.users.begin(), config.auth.users.end(),
                     [&](const user& known) { return known.name == u.local_user; }))
      errors.push_back({path + "/local_user", "no user '" + u.local_user + "' in auth.users"});
    if (!u.name.empty() && !names.insert(u.name).second)
      errors.push_back({path + "/name", "uplink '" + u.name + "' is named twice"});
  }
}

}  // namespace ipc::config
