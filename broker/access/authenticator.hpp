// Who a connection is (docs/security.md §2): the HELLO's mechanism and credentials, the
// Unix peer credentials, and the config's auth section decide the user and its
// permissions. Sans-I/O: the slow password hash is handed back as a job for the caller
// to run off the I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access/permissions.hpp"
#include "core/errc.hpp"
#include "ipc/config/config.hpp"

namespace ipc::broker {

// What a client presented, whatever its protocol: the mechanism and its credentials
// (a native HELLO's properties, an MQTT CONNECT's user name and password).
struct presented_credentials {
  std::string_view mechanism;  // "anonymous" | "password" | "token"
  std::string_view user, password;
  std::string_view token;
};

struct auth_decision {
  errc error = errc::ok;   // auth_failed: refuse (fatal)
  std::string message;     // for the client (never says which part failed)
  std::string log_reason;  // for the log (never holds a secret)
  std::string user;        // the user it claims or is
  // What vouches for `user` ("anonymous", "uid:N", "cert:SUBJECT", "token:HASH",
  // "password:HASH"): a reload keeps the connection only while it still does.
  std::string basis;
  // Set when a password must be checked (slowly) before `user` is accepted; an empty
  // hash (unknown user, no password login) is checked against a decoy and always fails.
  std::optional<std::string> password_hash;
  std::string password;
};

class authenticator {
 public:
  // `uid_of` resolves a Unix account name of unix_users to a uid, `sid_of` a Windows
  // account name of windows_users to a SID string (nullopt: unknown).
  authenticator(const config::auth& settings,
                const std::function<std::optional<std::uint32_t>(const std::string&)>& uid_of,
                const std::function<std::optional<std::string>(const std::string&)>& sid_of = {});

  // `peer_uid`: Unix peer credentials; `tls_subject`: a verified client certificate's
  // subject (RFC 2253), "" without one; `peer_sid`: a named-pipe client's user SID.
  auth_decision decide(const presented_credentials& presented,
                       std::optional<std::uint32_t> peer_uid, std::string_view tls_subject = {},
                       std::string_view peer_sid = {}) const;
  // Whether the config has an auth section (without one every client is anonymous).
  bool enabled() const { return settings_.present; }
  // Runs on any thread: the slow comparison of a password with its hash.
  static bool check_password(const std::string& hash, const std::string& password);

  // Whether `basis` (auth_decision::basis) still makes a connection `user` under this
  // config; a reload closes the connections for which it does not.
  bool still_valid(const std::string& user, std::string_view basis) const;
  // The permissions of an authenticated user (shared by its connections).
  std::shared_ptr<const permissions> permissions_of(const std::string& user) const;
  // The connection limit of a user: its own, else limits.max_connections_per_user (0: none).
  std::uint32_t connection_limit(const std::string& user, std::uint32_t default_limit) const;
  // unix_users / windows_users accounts that name no local account (they authenticate
  // nobody).
  const std::vector<std::string>& unresolved_accounts() const { return unresolved_; }

 private:
  const config::user* find(std::string_view name) const;
  // The user a verified certificate subject maps to, "" when none.
  std::string cert_user(std::string_view tls_subject) const;

  config::auth settings_;
  std::map<std::uint32_t, std::string> uid_users_;
  std::map<std::string, std::string, std::less<>> sid_users_;
  std::map<std::string, std::string, std::less<>> cert_users_;
  std::vector<std::string> unresolved_;
  std::map<std::string, std::shared_ptr<const permissions>, std::less<>> permissions_;
  std::shared_ptr<const permissions> everything_ = std::make_shared<permissions>();
};

}  // namespace ipc::broker
