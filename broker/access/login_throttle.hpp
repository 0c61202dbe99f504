// Back-off for password guessing (docs/security.md §2.5), sans-I/O: failed logins are
// counted per claimed user and per peer (IP address, Unix uid, pipe SID); after
// `failures` in a row, every further login of that user or from that peer is refused
// without checking its password until a delay has passed, which doubles with each
// further failure up to `max_delay_ms`. A success clears both counts. Refused logins are
// not counted, so retrying during a delay does not prolong it. At most `max_entries`
// users and peers are tracked each; stale ones are forgotten first.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "ipc/config/config.hpp"

namespace ipc::broker {

class login_throttle {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_entries = 65536;  // each of users and peers

  explicit login_throttle(config::lockout_settings settings = {}) : settings_(settings) {}
  // New settings (a reload): counts and delays already running stay.
  void configure(const config::lockout_settings& settings) { settings_ = settings; }

  // How long a login of `user` from `peer` must still wait (zero: check it now).
  clock::duration locked_for(std::string_view user, std::string_view peer,
                             clock::time_point now) const;
  void failed(std::string_view user, std::string_view peer, clock::time_point now);
  void succeeded(std::string_view user, std::string_view peer);

  // Checks in progress: at most `max_in_flight` per user and per peer, so that a burst
  // of parallel guesses cannot fill the password checker before its failures count.
  // begin() false: refuse this login; true: call end() once its check is done.
  static constexpr std::uint32_t max_in_flight = 2;
  bool begin(std::string_view user, std::string_view peer);
  void end(std::string_view user, std::string_view peer);

  // One check in progress, ended when this is destroyed (after the check, or unused when
  // the connection went away first).
  class in_flight {
   public:
    in_flight(login_throttle& owner, std::string user, std::string peer)
        : owner_(&owner), user_(std::move(user)), peer_(std::move(peer)) {}
    in_flight(in_flight&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          user_(std::move(other.user_)),
          peer_(std::move(other.peer_)) {}
    in_flight& operator=(in_flight&&) = delete;
    ~in_flight() {
      if (owner_ != nullptr) owner_->end(user_, peer_);
    }

   private:
    login_throttle* owner_;
    std::string user_, peer_;
  };
  std::size_t tracked() const { return users_.size() + peers_.size(); }

 private:
  struct entry {
    std::uint32_t failures = 0;
    clock::time_point until{};  // no login before this
    clock::time_point last{};   // the last failure
  };
  using table = std::unordered_map<std::string, entry>;
  clock::duration wait(const table& t, std::string_view key, clock::time_point now) const;
  void count(table& t, std::string_view key, clock::time_point now);

  config::lockout_settings settings_;
  table users_, peers_;
  clock::time_point next_sweep_{};  // no sweep of a full table before this
  std::unordered_map<std::string, std::uint32_t> user_checks_, peer_checks_;  // in progress
};

}  // namespace ipc::broker
