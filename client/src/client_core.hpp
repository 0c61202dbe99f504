// The connection driver behind async_client: connect + handshake, one reader, one
// writer with one gathered write in flight, the map of operations awaiting an answer,
// the subscriptions, and reconnection with backoff.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>

#include "ipc/async_client.hpp"
#include "ipc/protocol/decoder.hpp"
#include "ipc/protocol/encoder.hpp"
#include "ipc/transport/stream.hpp"

namespace ipc::detail {

class client_core : public std::enable_shared_from_this<client_core> {
 public:
  // Completes an operation with the broker's answer frame (OK, ERROR, ADMIN_RESULT,
  // PONG) or with an error and no frame when the connection is lost.
  using answer_function = unique_function<void(std::error_code, const protocol::raw_frame* answer)>;

  client_core(asio::any_io_executor executor, client_options options);

  void connect(unique_function<void(std::error_code)> done);
  std::error_code publish(std::string_view topic, std::string_view payload, const headers& hdrs,
                          std::string_view reply_to, std::uint32_t id);
  // Sends a frame built by `encode(buffer, id)` and routes its answer to `done`.
  template <class Encode>
  void call(Encode encode, answer_function done);
  void subscribe(std::string pattern, message_handler handler,
                 unique_function<void(std::error_code, std::uint32_t sid)> done);
  void unsubscribe(std::uint32_t sid);
  void consume(std::string queue, consume_options options, message_handler handler,
               unique_function<void(std::error_code, std::uint32_t cid)> done);
  void cancel(std::uint32_t cid);
  std::error_code send(std::string_view queue, std::string_view payload, const headers& hdrs,
                       std::uint32_t id);
  std::error_code settle(std::uint64_t tag, bool ack, nack_disposition disposition);
  // Sends a REQUEST; `done` gets the broker's RESPONSE frame (async_client::reply_of).
  void request(std::string_view target, std::string_view payload, const request_options& options,
               answer_function done);
  void close();
  void finish_close();  // the end of close(), after the GOODBYE when there is a will

  connection_state state() const { return state_; }
  std::uint64_t connection_id() const { return connection_id_; }
  std::uint32_t max_payload() const { return max_payload_; }
  std::size_t pending_bytes() const { return out_.size() + in_flight_.size(); }
  std::uint32_t next_id();
  // Routes the answer to an already sent frame carrying `id`.
  void expect(std::uint32_t id, answer_function done) {
    pending_.emplace(id, pending_answer{std::move(done)});
  }
  // Times the request `id` out at `deadline` unless it was answered before.
  void expect_by(std::uint32_t id, std::chrono::steady_clock::time_point deadline);
  const asio::any_io_executor& executor() const { return executor_; }
  const std::string& last_error_message() const { return last_error_message_; }
  void set_last_error_message(std::string message) { last_error_message_ = std::move(message); }

 private:
  struct subscription_entry {
    std::string pattern;
    message_handler handler;
  };
  struct consumer_entry {
    std::string queue;
    consume_options options;
    message_handler handler;
  };

  // Erase one entry (erase_entry: `key`'s) or all of them (erase_entries) from the
  // subscription or consumer map, keeping them in retired_ while handlers run.
  template <class Map>
  bool erase_entry(Map& map, std::uint32_t key);
  template <class Map>
  void erase_entries(Map& map);
  // Runs an entry's handler, if it has one, with the retirement rules above.
  template <class Entry>
  void run_handler(const Entry& entry, const message& m);

  // Coroutines take `self` as a parameter so the core outlives every one of them.
  using self_ptr = std::shared_ptr<client_core>;
  asio::awaitable<void> run_connection(self_ptr self, unique_function<void(std::error_code)> done);
  // `shm_failed`: the broker switched and this process could not take the segment.
  asio::awaitable<std::error_code> handshake(transport::stream& stream,
                                             std::unique_ptr<protocol::frame_reader>& reader,
                                             bool& shm_failed);
  asio::awaitable<void> read_loop(self_ptr self, std::shared_ptr<transport::stream> stream,
                                  std::uint64_t gen);
  asio::awaitable<void> write_loop(self_ptr self, std::shared_ptr<transport::stream> stream,
                                   std::uint64_t gen);
  asio::awaitable<void> reconnect_loop(self_ptr self);
  void handle_frame(const protocol::raw_frame& frame);
  void handle_error_frame(const protocol::raw_frame& frame);
  void answer(std::uint32_t id, std::error_code ec, const protocol::raw_frame* frame);
  void lost(std::uint64_t gen, std::error_code ec);
  void fail_pending(std::error_code ec);
  void set_state(connection_state state, std::error_code ec = {});
  void resubscribe();
  void dispatch_delivery(const protocol::raw_frame& frame);
  void complete_request(const protocol::raw_frame& frame);
  std::vector<std::pair<std::string_view, std::string_view>> header_pairs(const headers& hdrs,
                                                                          std::error_code& ec);
  // Output was queued: the writer sends it, or read_loop does once the frames it is
  // handling are done (write_deferred).
  void wake_writer() {
    if (writer_waiting_) wake_waiting_writer();  // else it is writing and will look again
  }
  void wake_waiting_writer();
  void start_writer();
  // What handlers queued during a read, handed to the stream without waiting
  // (stream::write_now); the writer sends what it did not take.
  void write_deferred(transport::stream& stream);
  void arm_request_timer(std::chrono::steady_clock::time_point deadline);
  void on_request_timer();
  // The HELLO asks for shared memory: shm://, or unix:// and npipe:// unless the options
  // say no or a segment could not be taken before.
  bool ask_shared_memory() const;

  asio::any_io_executor executor_;
  client_options options_;
  transport::url url_;
  std::string url_error_;
  connection_state state_ = connection_state::disconnected;
  std::shared_ptr<transport::stream> stream_;
  std::uint64_t generation_ = 0;  // bumps on every connection; stale loops notice
  bool ever_connected_ = false;
  bool closed_ = false;
  bool saying_goodbye_ = false;  // close(): GOODBYE queued, the stream closes once it is out
  std::unique_ptr<asio::steady_timer> goodbye_deadline_;
  bool connecting_ = false;  // one connection attempt at a time
  std::uint64_t connection_id_ = 0;
  std::uint32_t max_payload_ = 0;
  std::uint32_t last_id_ = 0;
  protocol::byte_buffer out_;        // frames waiting for the writer
  protocol::byte_buffer in_flight_;  // the write in progress
  asio::steady_timer wake_;
  bool writer_waiting_ = false;
  bool handling_input_ = false;  // read_loop is handling a frame
  bool write_deferred_ = false;  // output queued meanwhile, for write_deferred()
  bool in_flight_held_ = false;  // write_deferred() wrote in_flight_written_ of in_flight_
  std::size_t in_flight_written_ = 0;
  std::vector<asio::const_buffer> write_now_buffers_{1};
  std::error_code last_broker_error_;  // from a fatal ERROR: why the broker closed us
  // An operation awaiting the broker's answer; a request also has a deadline.
  struct pending_answer {
    answer_function done;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  };
  std::unordered_map<std::uint32_t, pending_answer> pending_;
  std::size_t deadlines_ = 0;  // entries of pending_ with a deadline
  // The one timer for the deadlines, armed at (or before) the earliest of them.
  asio::steady_timer request_timer_;
  std::chrono::steady_clock::time_point request_timer_at_ =
      std::chrono::steady_clock::time_point::max();
  std::unordered_map<std::uint32_t, std::shared_ptr<subscription_entry>> subscriptions_;
  std::uint32_t last_sid_ = 0;
  // The subscription the last message was for (messages tend to come for one after
  // another): a lookup saved. Forgotten whenever an entry is erased.
  std::uint32_t found_sid_ = 0;
  const subscription_entry* found_subscription_ = nullptr;
  std::unordered_map<std::uint32_t, std::shared_ptr<consumer_entry>> consumers_;
  // A handler may unsubscribe, cancel or close the client: entries erased while handlers
  // run wait in retired_ until the outermost returns, so none is destroyed under its own
  // handler, and no reference is counted per message.
  unsigned handlers_running_ = 0;
  std::vector<std::shared_ptr<void>> retired_;
  std::unique_ptr<protocol::frame_reader> reader_;
  std::string last_error_message_;
  bool shm_declined_ = false;  // a segment this process could not take: stay on the socket
};

template <class Map>
inline bool client_core::erase_entry(Map& map, std::uint32_t key) {
  auto found = map.find(key);
  if (found == map.end()) return false;
  found_subscription_ = nullptr;
  if (handlers_running_ > 0) retired_.push_back(std::move(found->second));
  map.erase(found);
  return true;
}

template <class Map>
inline void client_core::erase_entries(Map& map) {
  found_subscription_ = nullptr;
  if (handlers_running_ > 0) {
    retired_.reserve(retired_.size() + map.size());  // the moves below cannot throw
    for (auto& [key, entry] : map) retired_.push_back(std::move(entry));
  }
  map.clear();
}

template <class Entry>
inline void client_core::run_handler(const Entry& entry, const message& m) {
  if (!entry.handler) return;
  struct running {
    client_core& core;
    explicit running(client_core& c) : core(c) { ++core.handlers_running_; }
    running(const running&) = delete;
    running& operator=(const running&) = delete;
    ~running() {
      if (--core.handlers_running_ == 0) core.retired_.clear();
    }
  } scope(*this);
  entry.handler(m);
}

template <class Encode>
void client_core::call(Encode encode, answer_function done) {
  if (state_ != connection_state::connected) {
    done(make_error_code(errc::not_connected), nullptr);
    return;
  }
  std::uint32_t id = next_id();
  encode(out_, id);
  pending_.emplace(id, pending_answer{std::move(done)});
  wake_writer();
}

}  // namespace ipc::detail
