// The embedded default config (SPEC §5) and the default Unix socket URL (SPEC §2),
// computed from the environment facts main() passes in; nothing here reads the env.
#include <string>
#include <string_view>

#include "ipc/config/config.hpp"
#include "ipc/transport/url.hpp"

namespace ipc::config {
namespace {

// The XDG base directory spec says relative paths in its variables are invalid
// and must be ignored, so a relative value counts as unset.
bool usable_dir(std::string_view dir) { return !dir.empty() && dir.front() == '/'; }

// Joins a directory and a relative tail without doubling the '/' between them.
std::string join(std::string_view dir, std::string_view tail) {
  while (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
  return std::string(dir) + "/" + std::string(tail);
}

// /tmp/ipcd-$UID: the per-user fallback when no XDG or home directory is known.
std::string per_user_tmp(const environment& env) { return "/tmp/ipcd-" + std::to_string(env.uid); }

// %ProgramData%\ipcd (C:\ProgramData\ipcd when the variable is unset).
std::string windows_data_dir(const environment& env) {
  std::string base = env.program_data.empty() ? "C:\\ProgramData" : env.program_data;
  while (!base.empty() && (base.back() == '\\' || base.back() == '/')) base.pop_back();
  return base + "\\ipcd";
}

std::string default_storage_dir(const environment& env) {
  if (env.windows) return windows_data_dir(env) + "\\data";
  if (env.is_root) return "/var/lib/ipcd";
  if (usable_dir(env.xdg_state_home)) return join(env.xdg_state_home, "ipcd");
  if (usable_dir(env.home)) return join(env.home, ".local/state/ipcd");
  return join(per_user_tmp(env), "state");
}

}  // namespace

std::string default_unix_url(const environment& env) {
  if (env.windows) return "npipe:////./pipe/ipcd";
  if (env.is_root) return "unix:///run/ipcd/ipcd.sock";
  if (usable_dir(env.xdg_runtime_dir))
    return "unix://" + join(env.xdg_runtime_dir, "ipcd/ipcd.sock");
  return "unix://" + join(per_user_tmp(env), "ipcd.sock");
}

broker_config default_config(const environment& env) {
  broker_config config;
  listener local;
  local.url = default_unix_url(env);
  local.shm = true;  // local clients may switch to shared memory (shared-memory.md)
  config.listeners.push_back(local);
  const std::string tcp_url = "tcp://127.0.0.1:" + std::to_string(transport::default_tcp_port);
  listener tcp;
  tcp.url = tcp_url;
  config.listeners.push_back(tcp);
  listener monitoring;  // docs/monitoring.md: /metrics, /healthz, the dashboard
  monitoring.url = "http://127.0.0.1:7880";
  monitoring.protocol = listener_protocol::http;
  config.listeners.push_back(monitoring);
  config.storage.dir = default_storage_dir(env);
  // A service has no console: its log goes to %ProgramData%\ipcd\logs as well.
  if (env.windows) config.log.file = windows_data_dir(env) + "\\logs\\ipcd.log";
  return config;
}

}  // namespace ipc::config
