// login_throttle: failure counts with doubling delays, bounded tables.
#include "access/login_throttle.hpp"

#include <algorithm>

namespace ipc::broker {

login_throttle::clock::duration login_throttle::wait(const table& t, std::string_view key,
                                                     clock::time_point now) const {
  auto found = t.find(std::string(key));
  if (found == t.end() || found->second.until <= now) return clock::duration::zero();
  return found->second.until - now;
}

login_throttle::clock::duration login_throttle::locked_for(std::string_view user,
                                                           std::string_view peer,
                                                           clock::time_point now) const {
  if (settings_.failures == 0) return clock::duration::zero();
  return std::max(wait(users_, user, now), wait(peers_, peer, now));
}

void login_throttle::count(table& t, std::string_view key, clock::time_point now) {
  const auto max_delay = std::chrono::milliseconds(settings_.max_delay_ms);
  if (t.size() >= max_entries && !t.contains(std::string(key))) {
    // Forget what has been quiet for longer than the longest delay, at most once a
    // second (a sweep walks the whole table); while it stays full, newcomers are not
    // tracked (the table stays bounded, and a flood of names costs no sweep each).
    if (now >= next_sweep_) {
      std::erase_if(t, [&](const auto& e) { return now - e.second.last > max_delay; });
      next_sweep_ = now + std::chrono::seconds(1);
    }
    if (t.size() >= max_entries) return;
  }
  auto& e = t[std::string(key)];
  if (now - e.last > 2 * max_delay) e.failures = 0;  // long quiet: start over
  e.last = now;
  if (++e.failures <= settings_.failures) return;
  // Failure failures+1 waits delay_ms, each later one twice the one before, capped.
  auto doublings = std::min<std::uint32_t>(e.failures - settings_.failures - 1, 30);
  auto delay = std::min<std::uint64_t>(settings_.delay_ms << doublings, settings_.max_delay_ms);
  e.until = now + std::chrono::milliseconds(delay);
}

void login_throttle::failed(std::string_view user, std::string_view peer, clock::time_point now) {
  if (settings_.failures == 0) return;
  count(users_, user, now);
  count(peers_, peer, now);
}

void login_throttle::succeeded(std::string_view user, std::string_view peer) {
  users_.erase(std::string(user));
  peers_.erase(std::string(peer));
}

bool login_throttle::begin(std::string_view user, std::string_view peer) {
  if (settings_.failures == 0) return true;
  auto& by_user = user_checks_[std::string(user)];
  auto& by_peer = peer_checks_[std::string(peer)];
  if (by_user >= max_in_flight || by_peer >= max_in_flight) {
    if (by_user == 0) user_checks_.erase(std::string(user));
    if (by_peer == 0) peer_checks_.erase(std::string(peer));
    return false;
  }
  ++by_user;
  ++by_peer;
  return true;
}

void login_throttle::end(std::string_view user, std::string_view peer) {
  auto release = [](auto& counts, std::string_view key) {
    auto found = counts.find(std::string(key));
    if (found != counts.end() && --found->second == 0) counts.erase(found);
  };
  release(user_checks_, user);
  release(peer_checks_, peer);
}

}  // namespace ipc::broker
