// async_client and subscription: thin forwarding to client_core.
#include "ipc/async_client.hpp"

#include <algorithm>
#include <atomic>

#include <asio/dispatch.hpp>
#include <asio/post.hpp>

#include "client_core.hpp"

namespace ipc {

subscription::subscription(subscription&& other) noexcept
    : core_(std::move(other.core_)), sid_(other.sid_), consumer_(other.consumer_) {
  other.sid_ = 0;
}

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    core_ = std::move(other.core_);
    sid_ = other.sid_;
    consumer_ = other.consumer_;
    other.sid_ = 0;
  }
  return *this;
}

subscription::~subscription() { unsubscribe(); }

void subscription::unsubscribe() {
  if (sid_ == 0) return;
  if (auto core = core_.lock()) {
    // The handle may be dropped on any thread; the core lives on its executor. Inline
    // when already there, so a CANCEL goes out before what the caller sends next.
    asio::dispatch(core->executor(), [core, sid = sid_, consumer = consumer_] {
      if (consumer)
        core->cancel(sid);
      else
        core->unsubscribe(sid);
    });
  }
  sid_ = 0;
}

async_client::async_client(const asio::any_io_executor& executor, client_options options)
    : executor_(executor),
      core_(std::make_shared<detail::client_core>(executor, std::move(options))) {}

async_client::~async_client() { core_->close(); }

connection_state async_client::state() const { return core_->state(); }
std::uint64_t async_client::connection_id() const { return core_->connection_id(); }
std::uint32_t async_client::max_payload() const { return core_->max_payload(); }
std::size_t async_client::pending_bytes() const { return core_->pending_bytes(); }
const std::string& async_client::last_error_message() const { return core_->last_error_message(); }
void async_client::close() { core_->close(); }

void async_client::start_connect(done_function done) { core_->connect(std::move(done)); }

std::error_code async_client::publish(std::string_view topic, std::string_view payload,
                                      const headers& hdrs, std::string_view reply_to) {
  return core_->publish(topic, payload, hdrs, reply_to, 0);
}

void async_client::start_publish(std::string_view topic, std::string_view payload,
                                 const headers& hdrs, done_function done) {
  std::uint32_t id = core_->next_id();
  if (auto ec = core_->publish(topic, payload, hdrs, {}, id)) return done(ec);
  core_->expect(id, [done = std::move(done)](std::error_code ec,
                                             const protocol::raw_frame*) mutable { done(ec); });
}

void async_client::start_subscribe(std::string pattern, message_handler handler,
                                   subscribe_function done) {
  std::weak_ptr<detail::client_core> weak = core_;
  core_->subscribe(std::move(pattern), std::move(handler),
                   [weak, done = std::move(done)](std::error_code ec, std::uint32_t sid) mutable {
                     done(ec, ec ? subscription() : subscription(weak, sid));
                   });
}

void async_client::start_admin(std::string command, std::string args_json, admin_function done) {
  core_->call(
      [&](protocol::byte_buffer& out, std::uint32_t id) {
        protocol::encode_admin(out, id, command, args_json);
      },
      [done = std::move(done)](std::error_code ec, const protocol::raw_frame* frame) mutable {
        protocol::admin_result_frame result;
        if (ec || frame == nullptr || protocol::decode(*frame, result) != errc::ok)
          return done(ec ? ec : make_error_code(errc::malformed_frame), std::string());
        if (result.status != 0)
          return done(make_error_code(static_cast<errc>(result.status)), std::string(result.body));
        done({}, std::string(result.body));
      });
}

void async_client::start_flush(done_function done) {
  core_->call([](protocol::byte_buffer& out, std::uint32_t id) { protocol::encode_ping(out, id); },
              [done = std::move(done)](std::error_code ec, const protocol::raw_frame*) mutable {
                done(ec);
              });
}

std::error_code async_client::send(std::string_view queue, std::string_view payload,
                                   const headers& hdrs) {
  return core_->send(queue, payload, hdrs, 0);
}

void async_client::start_send(std::string_view queue, std::string_view payload, const headers& hdrs,
                              done_function done) {
  std::uint32_t id = core_->next_id();
  if (auto ec = core_->send(queue, payload, hdrs, id)) return done(ec);
  core_->expect(id, [done = std::move(done)](std::error_code ec,
                                             const protocol::raw_frame*) mutable { done(ec); });
}

void async_client::start_consume(std::string queue, consume_options options,
                                 message_handler handler, subscribe_function done) {
  std::weak_ptr<detail::client_core> weak = core_;
  core_->consume(std::move(queue), options, std::move(handler),
                 [weak, done = std::move(done)](std::error_code ec, std::uint32_t cid) mutable {
                   done(ec, ec ? subscription() : subscription(weak, cid, true));
                 });
}

std::error_code async_client::ack(std::uint64_t delivery_tag) {
  return core_->settle(delivery_tag, true, nack_disposition::requeue);
}

std::error_code async_client::nack(std::uint64_t delivery_tag, nack_disposition disposition) {
  return core_->settle(delivery_tag, false, disposition);
}

void async_client::start_request(std::string_view target, std::string_view payload,
                                 const request_options& options, answer_function done) {
  core_->request(target, payload, options, std::move(done));
}

const asio::any_io_executor& async_client::executor_of(const detail::client_core& core) {
  return core.executor();
}

owned_message async_client::reply_of(std::error_code& ec, const protocol::raw_frame* answer) {
  protocol::response_frame response;
  if (ec) return {};
  if (answer == nullptr || protocol::decode(*answer, response) != protocol::errc::ok) {
    ec = make_error_code(errc::malformed_frame);
    return {};
  }
  return message(response.body, 0).copy();
}

namespace {
// A reply carries the request's correlation data back (docs/mqtt.md §5.3: an MQTT 5
// requester matches replies by it), unless the responder set its own.
headers with_correlation(const message& request, headers reply_headers) {
  auto correlation = request.header("ipc-correlation");
  if (!correlation) return reply_headers;
  for (const auto& [key, value] : reply_headers)
    if (key == "ipc-correlation") return reply_headers;
  reply_headers.emplace_back("ipc-correlation", std::string(*correlation));
  return reply_headers;
}
}  // namespace

void async_client::start_serve(std::string target, reply_function fn, bool to_queue,
                               subscribe_function done) {
  // The responder runs on this client's executor: it answers, then (queues) acks.
  auto respond = [this, fn = std::move(fn)](const message& m) {
    auto answer = fn(m);
    if (answer && !m.reply_to().empty()) publish(m.reply_to(), *answer, with_correlation(m, {}));
    if (m.delivery_tag() != 0) ack(m.delivery_tag());
  };
  start_responder(std::move(target), to_queue, std::move(respond), std::move(done));
}

void async_client::start_responder(std::string target, bool to_queue, message_handler respond,
                                   subscribe_function done) {
  // Requests come from a queue (one consumer answers each) or a topic pattern.
  if (to_queue)
    start_consume(std::move(target), {}, std::move(respond), std::move(done));
  else
    start_subscribe(std::move(target), std::move(respond), std::move(done));
}

void async_client::start_declare_queue(std::string name, const queue_options& options,
                                       detail::unique_function<void(std::error_code, bool)> done) {
  std::weak_ptr<detail::client_core> weak = core_;
  start_admin("queue.create", queue_create_args(name, options),
              [weak, done = std::move(done)](std::error_code ec, std::string body) mutable {
                // A refusal's sentence becomes last_error_message(), as for other errors.
                if (auto core = weak.lock(); core && ec)
                  core->set_last_error_message(admin_error(body));
                done(ec, !ec && queue_created(body));
              });
}

void async_client::start_serve_async(std::string target, async_reply_function fn, bool to_queue,
                                     subscribe_function done) {
  // The reply may come from any thread: it is posted to this client's executor, sent,
  // and only then is a queue delivery acked. The sender works at most once.
  std::weak_ptr<detail::client_core> weak = core_;
  auto executor = executor_;
  auto respond = [weak, executor, fn = std::move(fn)](const message& m) {
    auto used = std::make_shared<std::atomic<bool>>(false);
    reply_sender sender = [weak, executor, used, reply_to = std::string(m.reply_to()),
                           tag = m.delivery_tag(),
                           correlation = with_correlation(m, {})](std::optional<reply> answer) {
      if (used->exchange(true)) return;
      if (answer)
        for (const auto& entry : correlation)
          if (std::none_of(answer->headers.begin(), answer->headers.end(),
                           [&](const auto& h) { return h.first == entry.first; }))
            answer->headers.push_back(entry);
      asio::post(executor, [weak, reply_to, tag, answer = std::move(answer)] {
        auto core = weak.lock();
        if (!core) return;
        if (answer && !reply_to.empty())
          (void)core->publish(reply_to, answer->payload, answer->headers, {}, 0);
        if (tag != 0) (void)core->settle(tag, true, nack_disposition::requeue);
      });
    };
    fn(m, std::move(sender));
  };
  start_responder(std::move(target), to_queue, std::move(respond), std::move(done));
}

}  // namespace ipc
