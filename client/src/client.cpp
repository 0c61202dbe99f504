// ipc::Client: runs an async_client on a private io_context thread and waits on futures.
#include "ipc/client.hpp"

#include <future>
#include <thread>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_future.hpp>

#include "ipc/async_client.hpp"

namespace ipc {

struct Client::impl {
  explicit impl(client_options options)
      : timeout(options.request_timeout),
        work(asio::make_work_guard(io)),
        client(io.get_executor(), std::move(options)),
        thread([this] { io.run(); }) {}

  ~impl() {
    asio::post(io, [this] { client.close(); });
    work.reset();
    thread.join();
  }

  // Runs `fn` on the I/O thread and waits for the future it returns.
  template <class Fn>
  auto on_io(Fn fn) {
    using result = decltype(fn());
    if (std::this_thread::get_id() == thread.get_id()) return fn();  // from a handler
    std::promise<result> promise;
    auto future = promise.get_future();
    asio::post(io, [&] { promise.set_value(fn()); });
    return future.get();
  }

  bool on_io_thread() const { return std::this_thread::get_id() == thread.get_id(); }
  // A blocking call made from a handler would wait for the thread it blocks: refused.
  bool refuse(std::error_code& ec) const {
    if (!on_io_thread()) return false;
    ec = std::make_error_code(std::errc::resource_deadlock_would_occur);
    return true;
  }

  template <class T>
  bool wait(std::future<T>& future) {
    return future.wait_for(timeout) == std::future_status::ready;
  }

  std::chrono::milliseconds timeout;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  async_client client;
  std::thread thread;
};

namespace {

// The value of a future that was `ready` in time, or {} with ec set (timeout or error).
template <class T>
T take(std::future<T>& future, bool ready, std::error_code& ec) {
  if (!ready) {
    ec = make_error_code(errc::timeout);
    return {};
  }
  try {
    ec = {};
    return future.get();
  } catch (const std::system_error& e) {
    ec = e.code();
    return {};
  }
}

template <class T>
std::error_code outcome(std::future<T>& future) {
  try {
    future.get();
    return {};
  } catch (const std::system_error& e) {
    return e.code();
  }
}
}  // namespace

Client::Client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
Client::~Client() = default;

std::error_code Client::connect() {
  if (impl_->on_io_thread()) return std::make_error_code(std::errc::resource_deadlock_would_occur);
  auto future = impl_->on_io([this] { return impl_->client.async_connect(asio::use_future); });
  return outcome(future);  // bounded by options.connect_timeout inside the client
}

std::error_code Client::publish(std::string_view topic, std::string_view payload,
                                const headers& hdrs, std::string_view reply_to) {
  return impl_->on_io([&] { return impl_->client.publish(topic, payload, hdrs, reply_to); });
}

std::error_code Client::publish_confirmed(std::string_view topic, std::string_view payload,
                                          const headers& hdrs) {
  if (impl_->on_io_thread()) return std::make_error_code(std::errc::resource_deadlock_would_occur);
  auto future = impl_->on_io(
      [&] { return impl_->client.async_publish(topic, payload, hdrs, asio::use_future); });
  if (!impl_->wait(future)) return make_error_code(errc::timeout);
  return outcome(future);
}

std::error_code Client::flush() {
  if (impl_->on_io_thread()) return std::make_error_code(std::errc::resource_deadlock_would_occur);
  auto future = impl_->on_io([this] { return impl_->client.async_flush(asio::use_future); });
  if (!impl_->wait(future)) return make_error_code(errc::timeout);
  return outcome(future);
}

subscription Client::subscribe(std::string pattern, message_handler handler, std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  auto future = impl_->on_io([&] {
    return impl_->client.async_subscribe(std::move(pattern), std::move(handler), asio::use_future);
  });
  return take(future, impl_->wait(future), ec);
}

std::string Client::admin(std::string command, std::string args_json, std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  // The error body is wanted too, so the callback form is used instead of use_future;
  // everything the callback touches is shared, so a timed-out call leaves nothing dangling.
  auto promise = std::make_shared<std::promise<std::pair<std::error_code, std::string>>>();
  auto future = promise->get_future();
  asio::post(impl_->io,
             [this, promise, command = std::move(command), args = std::move(args_json)]() mutable {
               impl_->client.async_admin(std::move(command), std::move(args),
                                         [promise](std::error_code e, std::string body) {
                                           promise->set_value({e, std::move(body)});
                                         });
             });
  if (!impl_->wait(future)) {
    ec = make_error_code(errc::timeout);
    return {};
  }
  auto [e, body] = future.get();
  ec = e;
  return body;
}

std::error_code Client::send(std::string_view queue, std::string_view payload,
                             const headers& hdrs) {
  if (impl_->on_io_thread()) return std::make_error_code(std::errc::resource_deadlock_would_occur);
  auto future = impl_->on_io(
      [&] { return impl_->client.async_send(queue, payload, hdrs, asio::use_future); });
  if (!impl_->wait(future)) return make_error_code(errc::timeout);
  return outcome(future);
}

std::error_code Client::send_unconfirmed(std::string_view queue, std::string_view payload,
                                         const headers& hdrs) {
  return impl_->on_io([&] { return impl_->client.send(queue, payload, hdrs); });
}

subscription Client::consume(std::string queue, consume_options options, message_handler handler,
                             std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  auto future = impl_->on_io([&] {
    return impl_->client.async_consume(std::move(queue), options, std::move(handler),
                                       asio::use_future);
  });
  return take(future, impl_->wait(future), ec);
}

std::error_code Client::ack(std::uint64_t delivery_tag) {
  return impl_->on_io([&] { return impl_->client.ack(delivery_tag); });
}

std::error_code Client::nack(std::uint64_t delivery_tag, nack_disposition disposition) {
  return impl_->on_io([&] { return impl_->client.nack(delivery_tag, disposition); });
}

owned_message Client::request(std::string target, std::string payload, request_options options,
                              std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  auto limit = options.timeout + std::chrono::seconds(5);  // the client times out first
  auto future = impl_->on_io([&] {
    return impl_->client.async_request(std::move(target), std::move(payload), std::move(options),
                                       asio::use_future);
  });
  return take(future, future.wait_for(limit) == std::future_status::ready, ec);
}

subscription Client::serve(std::string target, reply_function fn, bool to_queue,
                           std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  auto future = impl_->on_io([&] {
    return impl_->client.async_serve(std::move(target), std::move(fn), to_queue, asio::use_future);
  });
  return take(future, impl_->wait(future), ec);
}

subscription Client::serve(std::string target, async_reply_function fn, bool to_queue,
                           std::error_code& ec) {
  if (impl_->refuse(ec)) return {};
  auto future = impl_->on_io([&] {
    return impl_->client.async_serve(std::move(target), std::move(fn), to_queue, asio::use_future);
  });
  return take(future, impl_->wait(future), ec);
}

bool Client::declare_queue(std::string name, const queue_options& options, std::error_code& ec) {
  if (impl_->refuse(ec)) return false;
  auto future = impl_->on_io([&] {
    return impl_->client.async_declare_queue(std::move(name), options, asio::use_future);
  });
  return take(future, impl_->wait(future), ec);
}

connection_state Client::state() const {
  return impl_->on_io([this] { return impl_->client.state(); });
}
std::uint32_t Client::max_payload() const {
  return impl_->on_io([this] { return impl_->client.max_payload(); });
}
std::uint64_t Client::connection_id() const {
  return impl_->on_io([this] { return impl_->client.connection_id(); });
}
std::string Client::last_error_message() const {
  return impl_->on_io([this] { return impl_->client.last_error_message(); });
}
void Client::close() {
  impl_->on_io([this] {
    impl_->client.close();
    return 0;
  });
}

}  // namespace ipc
