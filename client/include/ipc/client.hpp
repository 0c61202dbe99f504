// ipc::Client: the blocking client facade with its own I/O thread. No Asio in this
// header; for the asynchronous API see <ipc/async_client.hpp>.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "ipc/subscription.hpp"
#include "ipc/types.hpp"

namespace ipc {

// Every call blocks until the broker answered or options.request_timeout passed
// (errc::timeout). Message handlers run on the client's I/O thread; from a handler only
// the non-waiting calls may be made (publish, send_unconfirmed, ack, nack): a waiting call
// made there would wait for its own thread and fails at once with
// std::errc::resource_deadlock_would_occur.
class Client {  // NOLINT(readability-identifier-naming): the name is fixed by SPEC §1
 public:
  explicit Client(client_options options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  std::error_code connect();
  // Queued for sending; errors the broker finds later go to options.on_error.
  std::error_code publish(std::string_view topic, std::string_view payload,
                          const headers& hdrs = {}, std::string_view reply_to = {});
  // Waits for the broker's OK or ERROR.
  std::error_code publish_confirmed(std::string_view topic, std::string_view payload,
                                    const headers& hdrs = {});
  // Waits until the broker processed everything sent before.
  std::error_code flush();
  subscription subscribe(std::string pattern, message_handler handler, std::error_code& ec);
  std::string admin(std::string command, std::string args_json, std::error_code& ec);

  // Queues. send() waits for the broker's confirmation (the broker owns the message).
  std::error_code send(std::string_view queue, std::string_view payload, const headers& hdrs = {});
  // Fire-and-forget send.
  std::error_code send_unconfirmed(std::string_view queue, std::string_view payload,
                                   const headers& hdrs = {});
  subscription consume(std::string queue, consume_options options, message_handler handler,
                       std::error_code& ec);
  // Settle a delivery (may be called from a handler, on the client's thread, or any other).
  std::error_code ack(std::uint64_t delivery_tag);
  std::error_code nack(std::uint64_t delivery_tag,
                       nack_disposition disposition = nack_disposition::requeue);

  // Request/reply: waits for the first reply (or no_responders, timeout).
  owned_message request(std::string target, std::string payload, request_options options,
                        std::error_code& ec);
  // Answers requests on a topic pattern, or from a queue with to_queue.
  subscription serve(std::string target, reply_function fn, bool to_queue, std::error_code& ec);
  // The same, answering later and with headers if need be: `fn` gets a reply_sender to
  // call once, from any thread (types.hpp).
  subscription serve(std::string target, async_reply_function fn, bool to_queue,
                     std::error_code& ec);
  // Creates queue `name` with `options` (admin command queue.create); true when it was
  // created, false when it existed already (its options are left as they were).
  bool declare_queue(std::string name, const queue_options& options, std::error_code& ec);

  connection_state state() const;
  std::uint32_t max_payload() const;
  std::uint64_t connection_id() const;
  std::string last_error_message() const;
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ipc
