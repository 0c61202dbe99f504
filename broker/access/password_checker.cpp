// password_checker: one worker thread, a count of checks in progress, and the hop back to
// the I/O thread through a post that cancels a timer the caller waits on.
#include "access/password_checker.hpp"

#include <atomic>
#include <memory>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include "access/authenticator.hpp"

namespace ipc::broker {
namespace {

std::atomic<int> in_progress{0};

asio::thread_pool& worker() {
  static asio::thread_pool pool(1);
  return pool;
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

asio::awaitable<bool> password_checker::check(ticket place, std::string hash,
                                              std::string password) {
  auto held = std::move(place);  // the place is taken until the answer is back
  auto executor = co_await asio::this_coro::executor;
  auto signal =
      std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  auto outcome = std::make_shared<bool>(false);
  asio::post(worker(),
             [signal, outcome, hash = std::move(hash), password = std::move(password)]() mutable {
               bool ok = false;
               try {
                 ok = authenticator::check_password(hash, password);
               } catch (const std::exception&) {
                 ok = false;  // a hash OpenSSL cannot compute fails like a wrong password
               }
               auto target = signal->get_executor();
               asio::post(target, [signal = std::move(signal), outcome = std::move(outcome), ok] {
                 *outcome = ok;
                 signal->cancel();
               });
             });
  std::error_code ignored;
  co_await signal->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return *outcome;
}

}  // namespace ipc::broker
