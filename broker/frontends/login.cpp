// login: the back-off key of a peer and the password check off the I/O thread.
#include "frontends/login.hpp"

#include <memory>

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

namespace ipc::broker {

std::string login_peer_key(const transport::peer_info& p) {
  if (p.transport == transport::scheme::tcp || p.transport == transport::scheme::tls) {
    auto colon = p.address.rfind(':');
    return colon == std::string::npos ? p.address : p.address.substr(0, colon);
  }
  if (p.uid) return "uid " + std::to_string(*p.uid);
  if (!p.sid.empty()) return "sid " + p.sid;
  return p.address;
}

asio::awaitable<bool> check_password_off_thread(asio::any_io_executor executor,
                                                password_checker::ticket place, std::string hash,
                                                std::string password) {
  // The answer comes back from the checker's thread through a post onto `executor`,
  // which wakes this coroutine by cancelling `signal`.
  auto signal =
      std::make_shared<asio::steady_timer>(executor, asio::steady_timer::time_point::max());
  auto outcome = std::make_shared<bool>(false);
  password_checker::check(std::move(place), std::move(hash), std::move(password),
                          [signal, outcome](bool ok) {
                            auto target = signal->get_executor();
                            asio::post(target, [signal, outcome, ok] {
                              *outcome = ok;
                              signal->cancel();
                            });
                          });
  std::error_code ignored;
  co_await signal->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return *outcome;
}

}  // namespace ipc::broker
