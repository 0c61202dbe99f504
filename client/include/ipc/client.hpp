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
// (errc::timeout). Message handlers run on the client's I/O thread.
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
