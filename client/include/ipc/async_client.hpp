// The asynchronous client on Asio: completion tokens, so callbacks, futures
// (asio::use_future) and C++20 coroutines (asio::use_awaitable) all work.
// Call its members from its executor's thread; handlers run there too. An operation
// keeps what it takes by value (a pattern, a handler) until it starts; what it takes by
// view or reference (a topic, a payload, headers, request options) is read when it
// starts, which for asio::use_awaitable is at the co_await and for asio::deferred when
// the deferred operation is launched.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include <asio/any_io_executor.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/dispatch.hpp>

#include "ipc/detail/unique_function.hpp"
#include "ipc/subscription.hpp"
#include "ipc/types.hpp"

// The library's Asio keeps 8 freed frames and handlers per thread; the number sets the
// size of a struct that every translation unit using Asio shares (ipcd::client and
// ipcd-client.pc pass it).
#if !defined(ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE) || ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE != 8
#error "build with -DASIO_RECYCLING_ALLOCATOR_CACHE_SIZE=8, as the ipcd client library was"
#endif

namespace ipc::protocol {
struct raw_frame;
}

namespace ipc {

class async_client {
 public:
  explicit async_client(const asio::any_io_executor& executor, client_options options = {});
  ~async_client();
  async_client(const async_client&) = delete;
  async_client& operator=(const async_client&) = delete;

  asio::any_io_executor get_executor() const { return executor_; }
  connection_state state() const;
  std::uint64_t connection_id() const;
  std::uint32_t max_payload() const;  // as announced by the broker

  // Connects and performs the handshake. Signature: void(std::error_code).
  template <class Token>
  auto async_connect(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) { start_connect(bind_done(std::move(handler))); }, token);
  }

  // Fire-and-forget publish: queued for the next gathered write. Fails at once with
  // not_connected, payload_too_large, invalid_topic or limit_exceeded (output full).
  std::error_code publish(std::string_view topic, std::string_view payload,
                          const headers& hdrs = {}, std::string_view reply_to = {});

  // Publish answered by the broker (OK or ERROR). Signature: void(std::error_code).
  template <class Token>
  auto async_publish(std::string_view topic, std::string_view payload, const headers& hdrs,
                     Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [this, topic, payload, &hdrs](auto handler) {
          start_publish(topic, payload, hdrs, bind_done(std::move(handler)));
        },
        token);
  }

  // Subscribes `pattern`; `handler` runs for each message on this client's executor.
  // Signature: void(std::error_code, subscription).
  template <class Token>
  auto async_subscribe(std::string pattern, message_handler handler, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, subscription)>(
        [this, pattern = std::move(pattern), handler = std::move(handler)](auto done) mutable {
          start_subscribe(std::move(pattern), std::move(handler), bind_subscribe(std::move(done)));
        },
        token);
  }

  // Fire-and-forget send to a queue (created if missing and allowed). Fails at once like
  // publish(); later refusals go to options.on_error.
  std::error_code send(std::string_view queue, std::string_view payload, const headers& hdrs = {});

  // Confirmed send: completes once the broker owns the message (or with why it refused:
  // queue_full, unknown_queue, invalid_queue_name, …). Signature: void(std::error_code).
  template <class Token>
  auto async_send(std::string_view queue, std::string_view payload, const headers& hdrs,
                  Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [this, queue, payload, &hdrs](auto handler) {
          start_send(queue, payload, hdrs, bind_done(std::move(handler)));
        },
        token);
  }

  // Consumes a queue; `handler` gets each delivery (ack it with ack(m.delivery_tag())
  // unless options.no_ack). Signature: void(std::error_code, subscription).
  template <class Token>
  auto async_consume(std::string queue, consume_options options, message_handler handler,
                     Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, subscription)>(
        [this, queue = std::move(queue), options, handler = std::move(handler)](auto done) mutable {
          start_consume(std::move(queue), options, std::move(handler),
                        bind_subscribe(std::move(done)));
        },
        token);
  }

  std::error_code ack(std::uint64_t delivery_tag);
  std::error_code nack(std::uint64_t delivery_tag,
                       nack_disposition disposition = nack_disposition::requeue);

  // A request to a topic (first reply wins) or a queue (one consumer answers); fails at
  // once with no_responders when nobody can answer, or with timeout. `target`, `payload`
  // and `options` are read when the operation starts (the request is encoded then), not
  // kept. Signature: void(std::error_code, owned_message reply).
  template <class Token>
  auto async_request(std::string_view target, std::string_view payload,
                     const request_options& options, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, owned_message)>(
        [this, target, payload, &options](auto done) {
          // The handler holds the core, not this object: an answer may come after the
          // async_client is gone (a close with a will waits for its GOODBYE to go out).
          start_request(target, payload, options,
                        [core = core_.get(), done = std::move(done)](
                            std::error_code ec, const protocol::raw_frame* answer) mutable {
                          complete_request(done, executor_of(*core), ec, answer);
                        });
        },
        token);
  }

  // Answers requests on a topic pattern (or, with to_queue, from a queue: acked after
  // answering). Signature: void(std::error_code, subscription).
  template <class Token>
  auto async_serve(std::string target, reply_function fn, bool to_queue, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, subscription)>(
        [this, target = std::move(target), fn = std::move(fn), to_queue](auto done) mutable {
          start_serve(std::move(target), std::move(fn), to_queue, bind_subscribe(std::move(done)));
        },
        token);
  }

  // Answers requests like the overload above, but the answer may come later and carry
  // headers: `fn` gets a reply_sender to call once, from any thread.
  template <class Token>
  auto async_serve(std::string target, async_reply_function fn, bool to_queue, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, subscription)>(
        [this, target = std::move(target), fn = std::move(fn), to_queue](auto done) mutable {
          start_serve_async(std::move(target), std::move(fn), to_queue,
                            bind_subscribe(std::move(done)));
        },
        token);
  }

  // Creates queue `name` with `options` (admin command queue.create; an existing queue is
  // left as it is). Signature: void(std::error_code, bool created).
  template <class Token>
  auto async_declare_queue(std::string name, queue_options options, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, bool)>(
        [this, name = std::move(name), options](auto done) mutable {
          auto ex = asio::get_associated_executor(done, executor_);
          start_declare_queue(
              std::move(name), options,
              [done = std::move(done), ex](std::error_code ec, bool created) mutable {
                asio::dispatch(
                    ex, [done = std::move(done), ec, created]() mutable { done(ec, created); });
              });
        },
        token);
  }

  // An admin request (docs/protocol.md §5.2). Signature: void(std::error_code, std::string json).
  template <class Token>
  auto async_admin(std::string command, std::string args_json, Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::string)>(
        [this, command = std::move(command), args_json = std::move(args_json)](auto done) mutable {
          auto ex = asio::get_associated_executor(done, executor_);
          start_admin(std::move(command), std::move(args_json),
                      [done = std::move(done), ex](std::error_code ec, std::string body) mutable {
                        asio::dispatch(
                            ex, [done = std::move(done), ec, body = std::move(body)]() mutable {
                              done(ec, std::move(body));
                            });
                      });
        },
        token);
  }

  // Completes once everything queued before it was written and the broker answered a
  // PING sent after it: the broker has processed all earlier frames.
  template <class Token>
  auto async_flush(Token&& token) {
    return asio::async_initiate<Token, void(std::error_code)>(
        [this](auto handler) { start_flush(bind_done(std::move(handler))); }, token);
  }

  // Bytes queued and not yet written.
  std::size_t pending_bytes() const;
  // The broker's sentence for the last error it reported on this connection.
  const std::string& last_error_message() const;

  // Closes the connection; pending operations complete with operation_aborted.
  void close();

 private:
  using done_function = detail::unique_function<void(std::error_code)>;
  using subscribe_function = detail::unique_function<void(std::error_code, subscription)>;
  using admin_function = detail::unique_function<void(std::error_code, std::string)>;

  template <class Handler>
  subscribe_function bind_subscribe(Handler done) {
    auto ex = asio::get_associated_executor(done, executor_);
    return [done = std::move(done), ex](std::error_code ec, subscription sub) mutable {
      asio::dispatch(ex, [done = std::move(done), ec, sub = std::move(sub)]() mutable {
        done(ec, std::move(sub));
      });
    };
  }

  template <class Handler>
  done_function bind_done(Handler handler) {
    auto ex = asio::get_associated_executor(handler, executor_);
    return [handler = std::move(handler), ex](std::error_code ec) mutable {
      asio::dispatch(ex, [handler = std::move(handler), ec]() mutable { handler(ec); });
    };
  }

  void start_connect(done_function done);
  void start_publish(std::string_view topic, std::string_view payload, const headers& hdrs,
                     done_function done);
  void start_subscribe(std::string pattern, message_handler handler, subscribe_function done);
  void start_admin(std::string command, std::string args_json, admin_function done);
  void start_flush(done_function done);
  void start_send(std::string_view queue, std::string_view payload, const headers& hdrs,
                  done_function done);
  void start_consume(std::string queue, consume_options options, message_handler handler,
                     subscribe_function done);
  // Completes with the broker's answer frame to the request (or no frame and an error);
  // reply_of() makes the reply of it, or sets ec.
  using answer_function =
      detail::unique_function<void(std::error_code, const protocol::raw_frame* answer)>;
  void start_request(std::string_view target, std::string_view payload,
                     const request_options& options, answer_function done);
  static owned_message reply_of(std::error_code& ec, const protocol::raw_frame* answer);
  static const asio::any_io_executor& executor_of(const detail::client_core& core);
  template <class Handler>
  static void complete_request(Handler& done, const asio::any_io_executor& own, std::error_code ec,
                               const protocol::raw_frame* answer) {
    auto reply = reply_of(ec, answer);
    auto ex = asio::get_associated_executor(done, own);
    // The broker's answer (a frame) is handled on the client's executor, from its read
    // loop: for a handler of that executor, dispatch would call it here and now too, after
    // wrapping it and moving the reply twice more. An answer without a frame (a timeout,
    // the connection lost or closed, maybe from close() on another thread) is dispatched.
    if constexpr (std::is_same_v<decltype(ex), asio::any_io_executor>) {
      if (answer != nullptr && ex == own) return std::move(done)(ec, std::move(reply));
    }
    asio::dispatch(ex, [done = std::move(done), ec, reply = std::move(reply)]() mutable {
      std::move(done)(ec, std::move(reply));
    });
  }
  void start_serve(std::string target, reply_function fn, bool to_queue, subscribe_function done);
  void start_responder(std::string target, bool to_queue, message_handler respond,
                       subscribe_function done);
  void start_declare_queue(std::string name, const queue_options& options,
                           detail::unique_function<void(std::error_code, bool)> done);
  void start_serve_async(std::string target, async_reply_function fn, bool to_queue,
                         subscribe_function done);

  asio::any_io_executor executor_;
  std::shared_ptr<detail::client_core> core_;
};

}  // namespace ipc
