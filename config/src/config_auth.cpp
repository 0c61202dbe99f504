// The `auth` section (docs/security.md, docs/config.md): users with password hashes and
// permissions, tokens, Unix peer-credential mappings. Reading and validation; every
// problem fails closed with its JSON path.
#include <set>

#include "ipc/config/config.hpp"
#include "ipc/credentials/password.hpp"
#include "ipc/routing/topic.hpp"
#include "ipc/transport/url.hpp"
#include "json_reader.hpp"

namespace ipc::config {

using namespace detail;

namespace {

void read_permissions(const json& value, const std::string& path, permission_set& out,
                      error_list& errors) {
  object_reader reader(value, path, errors);
  read_strings(reader, "publish", out.publish);
  read_strings(reader, "subscribe", out.subscribe);
  read_strings(reader, "send", out.send);
  read_strings(reader, "consume", out.consume);
  reader.read("admin", out.admin);
  reader.read("monitor", out.monitor);
  reader.report_unknown_keys();
}

void read_user(const json& value, const std::string& path, user& out, error_list& errors) {
  object_reader reader(value, path, errors);
  reader.read("name", out.name);
  if (const json* password = reader.find("password")) {
    if (!password->is_string())
      reader.report_at("password", "expected a string, got " + describe(*password));
    else if ((out.password = password->get<std::string>()).empty())
      reader.report_at("password",
                       "empty password: put the hash printed by 'ipcctl passwd', "
                       "or leave the key out for a user without password login");
  }
  if (const json* allow = reader.find("permissions")) {
    out.restricted = true;
    read_permissions(*allow, reader.path_of("permissions"), out.allow, errors);
  }
  if (const json* deny = reader.find("deny"))
    read_permissions(*deny, reader.path_of("deny"), out.deny, errors);
  reader.read("max_connections", out.max_connections);
  reader.report_unknown_keys();
}

// {"KEY": "user", …} (unix_users, cert_users).
void read_user_map(object_reader& reader, std::string_view key, std::string_view what,
                   std::vector<std::pair<std::string, std::string>>& out) {
  const json* value = reader.find(key);
  if (!value) return;
  if (!value->is_object())
    return reader.report_at(key, "expected an object of " + std::string(what) + " → user name");
  for (const auto& [name, member] : value->items()) {
    if (member.is_string())
      out.emplace_back(name, member.get<std::string>());
    else
      report(reader.errors(), child_path(reader.path_of(key), name),
             "expected a user name, got " + describe(member));
  }
}

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool valid_account(std::string_view key) {  // a uid, or a Unix account name
  if (key.empty() || key.size() > 32) return false;
  bool digits = true;
  for (char c : key) digits = digits && c >= '0' && c <= '9';
  if (digits) return key.size() <= 10;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return !(key[0] >= '0' && key[0] <= '9') && key[0] != '-';
}

void validate_permissions(const permission_set& set, const std::string& path, const limits& bounds,
                          std::vector<error>& errors) {
  routing::name_limits names{bounds.max_topic_length, bounds.max_topic_levels};
  auto topics = [&](const std::vector<std::string>& patterns, std::string_view key) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      auto problem = routing::check_pattern(patterns[i], names);
      if (problem != routing::topic_error::none)
        errors.push_back({path + "/" + std::string(key) + "/" + std::to_string(i),
                          "invalid topic pattern '" + patterns[i] +
                              "': " + std::string(routing::describe(problem))});
    }
  };
  auto queues = [&](const std::vector<std::string>& patterns, std::string_view key) {
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      std::string_view p = patterns[i];
      if (p.ends_with('*')) p.remove_suffix(1);
      if (!(p.empty() || valid_queue_name(p)))
        errors.push_back({path + "/" + std::string(key) + "/" + std::to_string(i),
                          "invalid queue pattern '" + patterns[i] +
                              "': a queue name, a prefix ending in '*', or '*'"});
    }
  };
  topics(set.publish, "publish");
  topics(set.subscribe, "subscribe");
  queues(set.send, "send");
  queues(set.consume, "consume");
}

// 127.0.0.0/8 written as a dotted quad, ::1, or the name localhost.
bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  int parts = 1, digits = 0;
  for (char c : host) {
    if (c == '.') {
      if (digits == 0 || digits > 3) return false;
      ++parts;
      digits = 0;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  return parts == 4 && digits > 0 && digits <= 3;
}

}  // namespace

namespace detail {

void read_auth(const json& value, auth& out, error_list& errors) {
  object_reader reader(value, "/auth", errors);
  out.present = true;
  reader.read("anonymous", out.anonymous);
  if (const json* users = reader.find("users")) {
    if (!users->is_array()) {
      reader.report_at("users", "expected an array of users");
    } else {
      for (std::size_t i = 0; i < users->size(); ++i) {
        user u;
        read_user((*users)[i], "/auth/users/" + std::to_string(i), u, errors);
        out.users.push_back(std::move(u));
      }
    }
  }
  if (const json* tokens = reader.find("tokens")) {
    if (!tokens->is_array()) {
      reader.report_at("tokens", "expected an array of {\"hash\", \"user\"}");
    } else {
      for (std::size_t i = 0; i < tokens->size(); ++i) {
        object_reader entry((*tokens)[i], "/auth/tokens/" + std::to_string(i), errors);
        token t;
        entry.read("hash", t.hash);
        entry.read("user", t.user);
        entry.report_unknown_keys();
        out.tokens.push_back(std::move(t));
      }
    }
  }
  read_user_map(reader, "unix_users", "uid or account", out.unix_users);
  read_user_map(reader, "cert_users", "certificate subject", out.cert_users);
  read_user_map(reader, "windows_users", "SID or account", out.windows_users);
  if (const json* lockout = reader.find("lockout")) {
    object_reader entry(*lockout, "/auth/lockout", errors);
    entry.read("failures", out.lockout.failures);
    entry.read("delay_ms", out.lockout.delay_ms);
    entry.read("max_delay_ms", out.lockout.max_delay_ms);
    entry.report_unknown_keys();
  }
  reader.report_unknown_keys();
}

}  // namespace detail

void validate_auth(const broker_config& config, std::vector<error>& errors) {
  const auth& a = config.auth;
  if (!a.present) {
    // Without auth every client is anonymous with full rights: only local listeners.
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
      auto parsed = transport::parse_url(transport_url_of(config.listeners[i].url));
      if (!parsed.value) continue;
      auto kind = parsed.value->kind;
      if ((kind == transport::scheme::tcp || kind == transport::scheme::tls) &&
          !is_loopback(parsed.value->host))
        errors.push_back({"/listeners/" + std::to_string(i) + "/url",
                          "a listener on a non-loopback address needs an \"auth\" section "
                          "(users, tokens), or \"auth\": {\"anonymous\": true} to allow "
                          "anyone who can reach it"});
    }
    return;
  }
  // A delay of at least 10 ms (less is no back-off), at most a day.
  if (a.lockout.delay_ms < 10 || a.lockout.delay_ms > 86400000)
    errors.push_back({"/auth/lockout/delay_ms", "must be between 10 and 86400000"});
  if (a.lockout.max_delay_ms < a.lockout.delay_ms || a.lockout.max_delay_ms > 86400000)
    errors.push_back(
        {"/auth/lockout/max_delay_ms", "must be between /auth/lockout/delay_ms and 86400000"});
  if (a.lockout.failures > 1000)
    errors.push_back({"/auth/lockout/failures", "must be between 0 and 1000"});
  std::set<std::string> names;
  for (std::size_t i = 0; i < a.users.size(); ++i) {
    const user& u = a.users[i];
    std::string path = "/auth/users/" + std::to_string(i);
    if (!valid_user_name(u.name))
      errors.push_back({path + "/name",
                        "invalid user name '" + u.name + "': use 1 to 64 of A-Z a-z 0-9 . _ - @"});
    else if (!names.insert(u.name).second)
      errors.push_back({path + "/name", "duplicate user '" + u.name + "'"});
    if (u.name == "anonymous" && !u.password.empty())
      errors.push_back({path + "/password", "the user 'anonymous' cannot have a password"});
    if (!u.password.empty()) {
      auto problem = ipc::credentials::check_password_hash(u.password);
      if (!problem.empty()) errors.push_back({path + "/password", problem});
    }
    validate_permissions(u.allow, path + "/permissions", config.limits, errors);
    validate_permissions(u.deny, path + "/deny", config.limits, errors);
  }
  for (std::size_t i = 0; i < a.tokens.size(); ++i) {
    std::string path = "/auth/tokens/" + std::to_string(i);
    auto problem = ipc::credentials::check_token_hash(a.tokens[i].hash);
    if (!problem.empty()) errors.push_back({path + "/hash", problem});
    if (!names.contains(a.tokens[i].user))
      errors.push_back({path + "/user", "no user '" + a.tokens[i].user + "' in /auth/users"});
  }
  for (const auto& [subject, name] : a.cert_users) {
    std::string path = detail::child_path("/auth/cert_users", subject);
    if (subject.find('=') == std::string::npos)
      errors.push_back({path, "expected a subject like \"CN=name\" or an RFC 2253 subject"});
    if (!names.contains(name)) errors.push_back({path, "no user '" + name + "' in /auth/users"});
  }
  for (const auto& [account, name] : a.unix_users) {
    std::string path = detail::child_path("/auth/unix_users", account);
    if (!valid_account(account))
      errors.push_back({path, "'" + account + "' is neither a uid nor a Unix account name"});
    if (!names.contains(name)) errors.push_back({path, "no user '" + name + "' in /auth/users"});
  }
  for (const auto& [account, name] : a.windows_users) {
    std::string path = detail::child_path("/auth/windows_users", account);
    if (account.empty()) errors.push_back({path, "expected a SID (\"S-1-…\") or an account name"});
    if (!names.contains(name)) errors.push_back({path, "no user '" + name + "' in /auth/users"});
  }
}

}  // namespace ipc::config
