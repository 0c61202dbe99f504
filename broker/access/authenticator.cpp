// authenticator: mechanisms anonymous (with Unix peer mapping), password and token.
#include "access/authenticator.hpp"

#include <charconv>

#include "ipc/credentials/password.hpp"

namespace ipc::broker {

namespace {
constexpr std::string_view refused = "authentication failed";
// Compared against when the user is unknown, so that an unknown name costs the same
// time as a wrong password (no user enumeration by timing).
const std::string& decoy_hash() {
  static const std::string hash =
      credentials::hash_password("decoy", credentials::default_iterations);
  return hash;
}
}  // namespace

authenticator::authenticator(
    const config::auth& settings,
    const std::function<std::optional<std::uint32_t>(const std::string&)>& uid_of,
    const std::function<std::optional<std::string>(const std::string&)>& sid_of)
    : settings_(settings) {
  for (const auto& [account, user] : settings_.windows_users) {
    if (account.starts_with("S-1-"))
      sid_users_[account] = user;
    else if (auto resolved = sid_of ? sid_of(account) : std::nullopt)
      sid_users_[*resolved] = user;
    else
      unresolved_.push_back(account);
  }
  for (const auto& [account, user] : settings_.unix_users) {
    std::uint32_t uid = 0;
    auto [end, ec] = std::from_chars(account.data(), account.data() + account.size(), uid);
    if (ec == std::errc() && end == account.data() + account.size()) {
      uid_users_[uid] = user;
    } else if (auto resolved = uid_of(account)) {
      uid_users_[*resolved] = user;
    } else {
      unresolved_.push_back(account);
    }
  }
  for (const auto& u : settings_.users)
    permissions_[u.name] = std::make_shared<const permissions>(u);
  for (const auto& [subject, user] : settings_.cert_users) cert_users_[subject] = user;
}

namespace {
// The CN of an RFC 2253 subject ("CN=svc-a,O=Example" → "svc-a"), "" without one.
std::string common_name(std::string_view subject) {
  std::size_t at = 0;
  while (at < subject.size()) {
    std::size_t end = at;
    while (end < subject.size() && subject[end] != ',') end += subject[end] == '\\' ? 2 : 1;
    std::string_view part = subject.substr(at, std::min(end, subject.size()) - at);
    if (part.starts_with("CN=")) return std::string(part.substr(3));
    at = end + 1;
  }
  return {};
}
}  // namespace

std::string authenticator::cert_user(std::string_view tls_subject) const {
  if (tls_subject.empty()) return {};
  auto mapped = cert_users_.find(tls_subject);
  if (mapped == cert_users_.end()) mapped = cert_users_.find("CN=" + common_name(tls_subject));
  return mapped == cert_users_.end() ? std::string() : mapped->second;
}

bool authenticator::still_valid(const std::string& user, std::string_view basis) const {
  auto value_of = [&](std::string_view prefix) { return basis.substr(prefix.size()); };
  if (basis == "anonymous") return !settings_.present || settings_.anonymous;
  if (!settings_.present) return false;  // credentials with no auth section to check them
  if (basis.starts_with("cert:")) return cert_user(value_of("cert:")) == user;
  if (basis.starts_with("uid:")) {
    std::uint32_t uid = 0;
    auto text = value_of("uid:");
    std::from_chars(text.data(), text.data() + text.size(), uid);
    auto mapped = uid_users_.find(uid);
    return mapped != uid_users_.end() && mapped->second == user;
  }
  if (basis.starts_with("sid:")) {
    auto mapped = sid_users_.find(value_of("sid:"));
    return mapped != sid_users_.end() && mapped->second == user;
  }
  if (basis.starts_with("password:")) {
    const config::user* found = find(user);
    return found != nullptr && found->password == value_of("password:");
  }
  if (basis.starts_with("token:")) {
    for (const auto& t : settings_.tokens)
      if (t.hash == value_of("token:") && t.user == user) return true;
    return false;
  }
  return false;
}

const config::user* authenticator::find(std::string_view name) const {
  for (const auto& u : settings_.users)
    if (u.name == name) return &u;
  return nullptr;
}

auth_decision authenticator::decide(const presented_credentials& presented,
                                    std::optional<std::uint32_t> peer_uid,
                                    std::string_view tls_subject, std::string_view peer_sid) const {
  auth_decision d;
  std::string_view mechanism = presented.mechanism;
  auto fail = [&](std::string reason) {
    d.error = errc::auth_failed;
    d.message = std::string(refused);
    d.log_reason = std::move(reason);
    return d;
  };
  if (mechanism == "anonymous") {
    if (!settings_.present) {
      d.user = "anonymous";
      d.basis = "anonymous";
      return d;
    }
    // A certificate verified by the TLS handshake against the listener's CA.
    if (auto mapped = cert_user(tls_subject); !mapped.empty()) {
      d.user = std::move(mapped);
      d.basis = "cert:" + std::string(tls_subject);
      return d;
    }
    if (peer_uid) {
      if (auto mapped = uid_users_.find(*peer_uid); mapped != uid_users_.end()) {
        d.user = mapped->second;  // the kernel vouches for the peer's uid
        d.basis = "uid:" + std::to_string(*peer_uid);
        return d;
      }
    }
    if (!peer_sid.empty()) {
      if (auto mapped = sid_users_.find(peer_sid); mapped != sid_users_.end()) {
        d.user = mapped->second;  // Windows vouches for the pipe client's token
        d.basis = "sid:" + std::string(peer_sid);
        return d;
      }
    }
    if (settings_.anonymous) {
      d.user = "anonymous";
      d.basis = "anonymous";
      return d;
    }
    d.user = "anonymous";
    d.message = "authentication required: anonymous connections are not allowed";
    d.error = errc::auth_failed;
    d.log_reason = peer_uid ? "anonymous, uid " + std::to_string(*peer_uid) + " not mapped"
                            : "anonymous not allowed";
    return d;
  }
  if (!settings_.present) {
    d.error = errc::auth_failed;
    d.message =
        "authentication mechanism '" + std::string(mechanism) + "' is not enabled on this broker";
    d.log_reason = "mechanism " + std::string(mechanism);
    return d;
  }
  if (mechanism == "password") {
    std::string_view user = presented.user, password = presented.password;
    d.user = std::string(user);
    const config::user* found = find(user);
    d.password = std::string(password);
    if (found == nullptr || found->password.empty()) {
      d.password_hash = std::string();  // checked against a decoy: always fails
      d.log_reason = found ? "no password login for this user" : "unknown user";
      return d;  // a decoy check: it fails whatever the password
    }
    d.password_hash = found->password;
    d.basis = "password:" + found->password;
    d.log_reason = "wrong password";
    return d;
  }
  if (mechanism == "token") {
    std::string_view token = presented.token;
    for (const auto& t : settings_.tokens)
      if (credentials::verify_token(t.hash, token)) {
        d.user = t.user;
        d.basis = "token:" + t.hash;
        return d;
      }
    return fail("unknown token");
  }
  d.error = errc::auth_failed;
  d.message =
      "authentication mechanism '" + std::string(mechanism) + "' is not enabled on this broker";
  d.log_reason = "mechanism " + std::string(mechanism);
  return d;
}

bool authenticator::check_password(const std::string& hash, const std::string& password) {
  if (hash.empty()) {
    (void)credentials::verify_password(decoy_hash(), password);
    return false;
  }
  return credentials::verify_password(hash, password);
}

std::shared_ptr<const permissions> authenticator::permissions_of(const std::string& user) const {
  auto found = permissions_.find(user);
  return found == permissions_.end() ? everything_ : found->second;
}

std::uint32_t authenticator::connection_limit(const std::string& user,
                                              std::uint32_t default_limit) const {
  const config::user* found = find(user);
  return found != nullptr && found->max_connections != 0 ? found->max_connections : default_limit;
}

}  // namespace ipc::broker
