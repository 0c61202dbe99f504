// password_checker: a count of checks in progress and one worker thread with a queue of
// jobs, started on first use and joined at exit.
#include "access/password_checker.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "access/authenticator.hpp"

namespace ipc::broker {
namespace {

std::atomic<int> in_progress{0};

class worker {
 public:
  worker() : thread_([this] { run(); }) {}
  ~worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping, nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is ready
};

worker& the_worker() {
  static worker instance;
  return instance;
}

}  // namespace

password_checker::ticket::~ticket() {
  if (held_) --in_progress;
}

std::optional<password_checker::ticket> password_checker::reserve() {
  if (in_progress.fetch_add(1) < max_in_progress) return ticket();
  --in_progress;
  return std::nullopt;
}

void password_checker::check(ticket place, std::string hash, std::string password,
                             std::function<void(bool ok)> done) {
  auto held = std::make_shared<ticket>(std::move(place));
  the_worker().post([held, hash = std::move(hash), password = std::move(password),
                     done = std::move(done)]() mutable {
    bool ok = false;
    try {
      ok = authenticator::check_password(hash, password);
    } catch (const std::exception&) {
      ok = false;  // a hash OpenSSL cannot compute fails like a wrong password
    }
    held.reset();  // the place is free once the answer is known
    done(ok);
  });
}

}  // namespace ipc::broker
