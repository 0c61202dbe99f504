// Password checks off the I/O thread (docs/security.md §4): the hash is slow on purpose,
// so it runs on a worker thread of its own, and at most `max_in_progress` checks wait or
// run at once in the process, so that unauthenticated clients cannot queue unbounded
// work. Standard library only: a front-end hops the answer back to its I/O thread.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace ipc::broker {

class password_checker {
 public:
  static constexpr int max_in_progress = 64;

  // One place among max_in_progress, given back when the ticket is destroyed (after its
  // check, or unused when the connection ended first).
  class ticket {
   public:
    ticket(ticket&& other) noexcept : held_(other.held_) { other.held_ = false; }
    ticket& operator=(ticket&&) = delete;
    ~ticket();

   private:
    friend class password_checker;
    ticket() = default;
    bool held_ = true;
  };

  // A place for one check, or nullopt when max_in_progress are taken (refuse the login).
  static std::optional<ticket> reserve();
  // Compares `password` with `hash` (authenticator::check_password) on the worker thread
  // and calls `done` there with the answer; the place is held until then.
  static void check(ticket place, std::string hash, std::string password,
                    std::function<void(bool ok)> done);
};

}  // namespace ipc::broker
