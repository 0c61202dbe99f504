// Broker configuration as plain structs, its JSON loading and validation.
// The broker core never reads JSON, argv, env or files: main() loads a
// broker_config here and hands the structs to the components.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ipc::config {

// The protocol a listener speaks (docs/config.md): the native protocol, MQTT 3.1.1/5
// (docs/mqtt.md) or the HTTP monitoring endpoint (docs/monitoring.md), chosen by the URL's
// scheme (mqtt://, mqtts://, http://, https://) or the "protocol" key.
enum class listener_protocol : std::uint8_t { native, mqtt, http };

// One listening address (SPEC §2 URL) with its per-transport options.
struct listener {
  std::string url;  // unix:///abs/path | tcp://host:port | tls://… | npipe://… | mqtt(s)://…
  listener_protocol protocol = listener_protocol::native;
  std::uint32_t mode = 0660;  // unix: permission bits of the socket file
  std::string group;          // unix: group owning the socket file ("" = process group)
  // npipe: accounts, groups or SIDs that may connect besides SYSTEM, Administrators and
  // the broker's own account.
  std::vector<std::string> access;
  // tls: PEM files; `ca` verifies client certificates (required with require_client_cert).
  std::string cert, key, ca;
  bool require_client_cert = false;
  // unix (native protocol): clients may switch to shared-memory rings of this size per
  // direction, polling this long before they sleep (docs/shared-memory.md).
  bool shm = false;
  std::uint32_t shm_ring_bytes = 1024 * 1024;  // transport::shm_options::ring_bytes (a test checks)
  std::uint32_t shm_spin_us = 0;               // 0: sleep at once (2-core machines)
  bool operator==(const listener&) const = default;
};

inline constexpr std::uint32_t max_shm_spin_us = 1000;  // a spinning side gives up its CPU by 1 ms

// What a listener URL is to the transport: mqtt://HOST[:PORT] is tcp:// (port 1883 when
// none is given), mqtts:// is tls:// (8883), http:// is tcp:// (7880), https:// is tls://
// (7881); any other URL is itself.
std::string transport_url_of(std::string_view url);
// The protocol a URL's scheme implies (mqtt for mqtt:// and mqtts://, http for http:// and
// https://), else nullopt.
std::optional<listener_protocol> protocol_of_scheme(std::string_view url);
std::string_view protocol_name(listener_protocol protocol);

// Hard limits. Each default says where its number comes from in docs/config.md.
struct limits {
  std::uint32_t max_payload = 1024 * 1024;                // SPEC §3; NATS' default max_payload
  std::uint32_t max_connections = 65536;                  // NATS' default max_connections
  std::uint32_t max_connections_per_user = 0;             // 0 = only max_connections applies
  std::uint64_t max_pending_bytes = 64ull * 1024 * 1024;  // NATS' default max_pending
  std::uint32_t max_subscriptions = 65536;                // per connection
  std::uint32_t max_topic_length = 4096;                  // bytes of one topic or pattern
  std::uint32_t max_topic_levels = 128;                   // '/'-separated levels
  std::uint32_t max_headers = 64;                         // header entries per message
  std::uint32_t max_header_bytes = 16 * 1024;             // sum of header key+value bytes
  std::uint32_t match_cache_entries = 4096;               // topic match cache; 0 switches it off
  std::uint32_t max_queues = 10000;                       // queues in the broker
  std::uint32_t default_prefetch = 100;                   // consumer credit when CONSUME asks for 0
  std::uint32_t max_prefetch = 65535;         // the largest credit a consumer may ask for
  std::uint32_t max_pending_requests = 1024;  // open requests per connection
  std::string slow_consumer = "disconnect";   // disconnect | drop (topic messages only)
  std::uint32_t auth_timeout_ms = 10000;      // HELLO and authentication must finish in this
  std::uint32_t keepalive_ms = 120000;     // PING an idle client this often (NATS' 2 min); 0 = off
  std::uint32_t keepalive_max_missed = 2;  // idle intervals more: closed (NATS' max_pings_out)
  // The broker-wide bound on message data held (docs/config.md): "N%" of physical memory
  // (max_memory_percent, RabbitMQ's relative watermark) or a number of bytes (max_memory,
  // percent 0); 0 bytes = no bound.
  std::uint64_t max_memory = 0;
  std::uint32_t max_memory_percent = 40;
  std::uint64_t max_retained = 100000;                      // retained messages in the broker
  std::uint64_t max_retained_bytes = 128ull * 1024 * 1024;  // their records' bytes
  bool operator==(const limits&) const = default;
};

// Options of one queue (SPEC §4 "Queue options"); also what `ipcctl queue create` sends.
struct queue_options {
  bool durable = false;
  std::uint64_t max_length = 0;                   // messages (ready + unacked); 0 = no count limit
  std::uint64_t max_bytes = 64ull * 1024 * 1024;  // stored body bytes; every queue is bounded
  std::string overflow = "reject";                // reject | drop-oldest
  std::uint64_t ttl_ms = 0;                       // message time to live; 0 = forever
  std::string dead_letter;                        // queue for expired/rejected/over-delivered
  std::uint32_t max_deliveries = 0;               // dead-letter after this many; 0 = unlimited
  bool single_active_consumer = false;  // one consumer at a time receives; the next takes over
  std::uint8_t max_priority = 0;        // 1-10: deliver higher ipc-priority first; 0 = FIFO
  std::vector<std::string> bind;        // topic patterns whose publishes enqueue a copy
  bool operator==(const queue_options&) const = default;
};

struct queues {
  bool auto_create = true;  // a send or consume on an unknown queue creates it (transient)
  std::vector<std::pair<std::string, queue_options>> declared;  // in file order
  bool operator==(const queues&) const = default;
};

struct storage {
  std::string dir;              // where durable state lives
  std::string fsync = "batch";  // always | batch | never
  std::uint32_t fsync_interval_ms = 10;
  std::uint64_t segment_bytes = 64ull * 1024 * 1024;  // a log segment is closed past this size
  bool operator==(const storage&) const = default;
};

// The MQTT front-end (docs/mqtt.md §7). Each default says where its number comes from.
struct mqtt {
  // QoS 1/2 messages sent to one client and not yet acknowledged; an MQTT 5 client's
  // smaller Receive Maximum wins. Mosquitto's max_inflight_messages is 20; a window of
  // 20 caps one subscriber at 20 messages per round trip, so a larger one is the default.
  std::uint16_t max_inflight = 1024;
  // QoS 1/2 publishes a client may have unacknowledged to the broker (MQTT 5 Receive
  // Maximum in CONNACK; 65535 = the protocol's maximum, as Mosquitto's default).
  std::uint16_t receive_maximum = 65535;
  // Topic aliases a client may set (MQTT 5 Topic Alias Maximum in CONNACK; Mosquitto: 10).
  std::uint16_t topic_alias_maximum = 1024;
  // A persistent session's messages waiting for its client (offline, or beyond the
  // in-flight window): Mosquitto's max_queued_messages default; bytes bound them too.
  std::uint64_t max_queued_messages = 1000;
  std::uint64_t max_queued_bytes = 64ull * 1024 * 1024;
  // The longest a session outlives its connection, in seconds: RabbitMQ's
  // mqtt.max_session_expiry_interval_seconds (one day); it caps 3.1.1 persistent
  // sessions too, which would otherwise never end.
  std::uint32_t max_session_expiry_s = 86400;
  // The longest Keep Alive a client may ask, in seconds (Mosquitto's max_keepalive; 65535,
  // the protocol's maximum, leaves it to the clients). An MQTT 5 client asking more, or 0,
  // is given this as Server Keep Alive; an MQTT 3.1.1 client asking more is refused.
  std::uint16_t max_keepalive_s = 65535;
  bool operator==(const mqtt&) const = default;
};

// The HTTP monitoring endpoint (docs/monitoring.md §6).
struct http {
  // Paths anyone may read when there is an auth section (health probes need no secret).
  std::vector<std::string> public_paths = {"/healthz"};
  std::uint32_t max_connections = 64;        // a few browsers and scrapers; more get 503
  std::uint32_t request_timeout_ms = 10000;  // a request head must arrive within this
  std::uint32_t idle_timeout_ms = 60000;     // a kept-alive connection idle this long closes
  bool operator==(const http&) const = default;
};

// What a user may do (docs/security.md §3): topic patterns for publish/subscribe, queue
// patterns ("jobs", "jobs.*", "*") for send/consume, and the admin verbs.
struct permission_set {
  std::vector<std::string> publish, subscribe, send, consume;
  bool admin = false;
  bool monitor = false;  // read the HTTP monitoring endpoint (admin may too)
  bool operator==(const permission_set&) const = default;
};

struct user {
  std::string name;
  std::string password;               // hash printed by `ipcctl passwd`; "" = no password login
  bool restricted = false;            // has "permissions": only what they allow
  permission_set allow;               // "permissions"
  permission_set deny;                // "deny": overrides allow
  std::uint32_t max_connections = 0;  // 0 = limits.max_connections_per_user
  bool operator==(const user&) const = default;
};

struct token {
  std::string hash;  // printed by `ipcctl passwd --token`
  std::string user;
  bool operator==(const token&) const = default;
};

// Back-off for failed password logins (docs/security.md §2.5), per claimed user and per
// peer address: after `failures` in a row, each further login waits out a delay that
// doubles from `delay_ms` up to `max_delay_ms`.
struct lockout_settings {
  std::uint32_t failures = 5;           // failures in a row allowed without delay; 0: off
  std::uint64_t delay_ms = 1000;        // the first delay
  std::uint64_t max_delay_ms = 300000;  // the longest (5 min)
  bool operator==(const lockout_settings&) const = default;
};

struct auth {
  bool present = false;    // the config has an "auth" section
  bool anonymous = false;  // clients may connect without credentials
  std::vector<user> users;
  std::vector<token> tokens;
  std::vector<std::pair<std::string, std::string>> unix_users;  // uid or account → user
  // Windows user SID ("S-1-5-21-…") or account name of a named-pipe client → user.
  std::vector<std::pair<std::string, std::string>> windows_users;
  // Verified TLS client certificate subject ("CN=svc-a" or a full RFC 2253 subject) → user.
  std::vector<std::pair<std::string, std::string>> cert_users;
  lockout_settings lockout;
  bool operator==(const auth&) const = default;
};

struct log {
  std::string level = "info";   // trace | debug | info | warn | error | critical | off
  std::string format = "text";  // text | json
  bool to_stderr = true;        // "stderr": write to standard error
  std::string file;             // also write to this file ("" = no file), rotated:
  std::uint64_t max_file_bytes = 10ull * 1024 * 1024;  // rotate past this size
  std::uint32_t max_files = 5;                         // rotated files kept besides the current one
  bool operator==(const log&) const = default;
};

// An uplink to a NATS cluster (docs/uplinks.md): the servers to connect to, what local
// topics go up (export), what subjects come down (import). Reloadable: a changed uplink
// reconnects, an unchanged one is left alone.
struct uplink_export {
  std::string pattern;   // local topic pattern
  std::string prefix;    // subject prefix; "" takes the uplink's
  bool durable = false;  // spooled in the durable log while the uplink is down
  bool operator==(const uplink_export&) const = default;
};

struct uplink_import {
  std::string pattern;  // topic pattern, mapped to subjects (docs/uplinks.md §3)
  std::string prefix;   // subject prefix; "" takes the uplink's
  std::string queue;    // send into this local queue instead of publishing to the topic
  std::string group;    // NATS queue group: hosts share the subject's messages
  bool operator==(const uplink_import&) const = default;
};

struct uplink {
  std::string name;
  std::vector<std::string> servers;  // nats://HOST[:PORT] or tls://HOST[:PORT] (4222)
  std::vector<uplink_export> exports;
  std::vector<uplink_import> imports;
  std::string prefix;  // the subject prefix of every rule without its own
  // Credentials for the NATS servers: user and password, a token, or an NKey: the path
  // of a file holding the user's seed ("SU…"), whose key signs the server's nonce.
  std::string user, password, token, nkey;
  // tls:// servers: CA to verify them (the system's when empty), a client certificate.
  std::string tls_ca, tls_cert, tls_key;
  // The local user whose permissions bound what the uplink may subscribe to (export) and
  // publish or send (import); "" = everything.
  std::string local_user;
  // Durable exports waiting for the uplink (docs/uplinks.md §4): bounded like a queue;
  // past it "drop-oldest" (counted) or "reject" (local publishes are refused).
  std::uint64_t max_spool_bytes = 256ull * 1024 * 1024;
  std::string spool_overflow = "drop-oldest";
  // Spooled messages sent and not yet confirmed by the server (a PING/PONG round trip).
  std::uint32_t max_inflight = 4096;
  // Reconnect back-off: from reconnect_wait_ms doubling to max_reconnect_wait_ms, with
  // up to 25 % random jitter; the NATS clients' default wait is 2 s.
  std::uint32_t reconnect_wait_ms = 250;
  std::uint32_t max_reconnect_wait_ms = 8000;
  std::uint32_t connect_timeout_ms = 2000;  // the NATS clients' default
  // A server that answers no PING for ping_interval_ms × max_pings_out is gone. The
  // NATS clients ping every 2 minutes; an uplink wants to notice a dead server sooner.
  std::uint32_t ping_interval_ms = 10000;
  std::uint32_t max_pings_out = 2;
  // Durable messages remembered per origin to drop duplicates a crash resends.
  std::uint32_t dedupe_window = 100000;
  bool operator==(const uplink&) const = default;
};

// What an uplink server URL is to the transport: nats://HOST[:PORT] is tcp://, tls:// is
// itself; the port is 4222 (NATS' client port) when none is given.
std::string uplink_transport_url(std::string_view url);

// Member types are qualified: a member named like its unqualified type would change
// the name's meaning inside the class, which GCC rejects.
struct broker_config {
  std::vector<listener> listeners;
  config::limits limits;
  config::queues queues;
  config::storage storage;
  config::auth auth;
  config::log log;
  config::mqtt mqtt;
  config::http http;
  std::vector<uplink> uplinks;
  // Seconds between the periodic $SYS/broker/... statistics (docs/monitoring.md §7), as
  // Mosquitto's sys_interval (its default is 10); 0 = none.
  std::uint32_t sys_interval_s = 10;
  bool operator==(const broker_config&) const = default;
};

// One problem found in a config, with the JSON path it concerns ("/limits/max_payload").
struct error {
  std::string path;
  std::string message;
};

// The facts about the process environment the defaults depend on (SPEC §5);
// main() fills it in so that nothing here reads the environment.
struct environment {
  bool is_root = false;
  std::uint32_t uid = 0;
  std::string xdg_runtime_dir;  // "" when unset
  std::string xdg_state_home;   // "" when unset
  std::string home;             // "" when unset
  bool windows = false;         // defaults for Windows (named pipe, %ProgramData%)
  std::string program_data;     // %ProgramData% ("" when unset)
};

// Whether this build's platform has the local transport `scheme_name` ("unix", "npipe");
// config_platform_posix.cpp / config_platform_windows.cpp answer.
bool local_transport_available(std::string_view scheme_name);
// Whether this build has TLS (not the Windows cross build, which has no OpenSSL).
bool tls_available();

// The default local URL for this environment (SPEC §2): a Unix socket, or on Windows
// the named pipe.
std::string default_unix_url(const environment& env);

// The embedded default config (SPEC §5): the default Unix socket, TCP on
// 127.0.0.1:7878, the monitoring endpoint on http://127.0.0.1:7880, storage under /var/lib/ipcd
// (root) or $XDG_STATE_HOME/ipcd.
broker_config default_config(const environment& env);

struct load_result {
  broker_config config;
  std::vector<error> errors;  // empty when the config is usable
  bool ok() const { return errors.empty(); }
};

// Parses JSON text over the defaults of `env`; reports every unknown key, wrong
// type and invalid value with its JSON path (and runs validate()).
load_result parse(std::string_view json_text, const environment& env);

// Reads and parses a file; an unreadable file is one error with path "".
load_result load_file(const std::string& file_path, const environment& env);

// Semantic checks on a config however it was built; returns all errors.
std::vector<error> validate(const broker_config& config);

// Checks one queue's name and options (also used for queues created at run time);
// `path` prefixes the JSON paths of the errors ("/queues/jobs").
std::vector<error> validate_queue(std::string_view name, const queue_options& options,
                                  const std::string& path = "");

// Parses queue options from a JSON object text (admin `queue.create`), over defaults.
std::vector<error> parse_queue_options(std::string_view json_text, queue_options& out);

// Queue names: [A-Za-z0-9._-]{1,255} (SPEC §3).
bool valid_queue_name(std::string_view name);

}  // namespace ipc::config
