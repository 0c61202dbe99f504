// nats_link: the server pool, connecting and greeting, the reader, the writer and the
// keep-alive pinger (nats_link.hpp).
#include "frontends/uplink/nats_link.hpp"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "core/loggable.hpp"
#include "ipc/config/config.hpp"
#include "ipc/nats/client_ops.hpp"

namespace ipc::broker {

namespace {
using json = nlohmann::json;
constexpr std::size_t read_chunk = 64 * 1024;
// What the uplink says of itself in CONNECT.
constexpr std::string_view client_version = "0.1.0";
// What a server's control line may be: an INFO listing a large cluster's connect_urls, or
// a MSG relaying a client's maximal PUB line, is longer than a client's 4 KiB.
constexpr nats::reader_limits server_limits{64 * 1024, 64ull * 1024 * 1024 + 64 * 1024};
}  // namespace

nats_link::nats_link(asio::any_io_executor executor, nats_link_settings settings,
                     nats_link_events& events, std::shared_ptr<spdlog::logger> logger)
    : executor_(std::move(executor)),
      settings_(std::move(settings)),
      events_(events),
      logger_(std::move(logger)),
      wake_(executor_),
      pause_(executor_),
      ping_timer_(executor_),
      random_(std::random_device{}()) {
  pool_ = settings_.servers;
  // As the NATS clients do: servers in random order, so hosts spread over the cluster.
  std::shuffle(pool_.begin(), pool_.end(), random_);
}

void nats_link::start() {
  if (started_) return;
  started_ = true;
  // An exception is a bug: logged, and the link is left stopped rather than half up.
  asio::co_spawn(
      executor_, [self = shared_from_this()] { return self->run(); },
      [self = shared_from_this()](std::exception_ptr error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          self->logger_->error("uplink {}: internal error: {}; the uplink stops",
                               self->settings_.name, loggable(e.what()));
        } catch (...) {
          self->logger_->error("uplink {}: internal error; the uplink stops", self->settings_.name);
        }
        bool was_up = self->up_ && !self->stopped_;
        self->last_error_ = "internal error";
        self->stop();
        if (was_up) self->events_.link_down("internal error");
      });
}

void nats_link::stop() {
  if (stopped_) return;
  stopped_ = true;
  up_ = false;
  if (stream_) stream_->close();
  wake_.cancel();
  pause_.cancel();
  ping_timer_.cancel();
}

void nats_link::wake() {
  if (writer_waiting_) {
    writer_waiting_ = false;
    wake_.cancel();
  }
}

void nats_link::ping(std::uint64_t mark) {
  if (!up_) return;
  nats::encode_ping(out_);
  pings_.push_back(mark);
  wake();
}

std::vector<std::string> nats_link::known_servers() const { return pool_; }

std::string_view nats_link::state() const {
  if (stopped_) return "stopped";
  if (up_) return "connected";
  return connects_ == 0 ? "connecting" : "reconnecting";
}

std::chrono::milliseconds nats_link::backoff(std::uint64_t round) {
  // Doubling from reconnect_wait up to max_reconnect_wait, then 0.75 to 1.25 times that:
  // hosts that lost the same server do not all come back at the same instant.
  auto wait = settings_.reconnect_wait.count();
  for (std::uint64_t i = 1; i < round && wait < settings_.max_reconnect_wait.count(); ++i)
    wait *= 2;
  wait = std::min<long long>(wait, settings_.max_reconnect_wait.count());
  std::uniform_real_distribution<double> jitter(0.75, 1.25);
  return std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(wait) * jitter(random_)));
}

asio::awaitable<void> nats_link::run() {
  auto self = shared_from_this();  // the loops outlive no link
  std::uint64_t failures = 0;
  while (!stopped_) {
    const std::string url = pool_[next_ % pool_.size()];
    ++next_;
    std::string why;
    auto stream = co_await open(url, why);
    if (stopped_) {
      if (stream) stream->close();
      break;
    }
    if (!stream) {
      ++failures;
      if (failures == 1 || last_error_ != why)
        logger_->warn("uplink {}: cannot connect to {}: {}", settings_.name, url, loggable(why));
      last_error_ = why;
      if (failures % pool_.size() == 0) {  // every server failed once more: wait
        pause_.expires_after(backoff(failures / pool_.size()));
        std::error_code ec;
        co_await pause_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      continue;
    }
    failures = 0;
    stream_ = stream;
    current_ = url;
    up_ = true;
    ++connects_;
    up_since_ = std::chrono::system_clock::now();
    last_heard_ = std::chrono::steady_clock::now();
    auto generation = ++generation_;
    logger_->info("uplink {}: connected to {} (server {}{}{})", settings_.name, url,
                  info_.server_name.empty() ? info_.server_id : info_.server_name,
                  info_.cluster.empty() ? "" : ", cluster ", info_.cluster);
    events_.link_up();
    asio::co_spawn(executor_, write_loop(stream, generation), asio::detached);
    asio::co_spawn(executor_, ping_loop(stream, generation), asio::detached);
    co_await read_loop(stream);
    stream->close();
    up_ = false;
    ++generation_;
    out_.clear();
    pings_.clear();
    wake_.cancel();
    ping_timer_.cancel();
    stream_.reset();
    if (stopped_) break;
    logger_->warn("uplink {}: connection to {} lost: {}", settings_.name, url,
                  loggable(last_error_));
    events_.link_down(last_error_);
  }
}

asio::awaitable<std::shared_ptr<transport::upgradable_stream>> nats_link::open(
    const std::string& url, std::string& why) {
  using namespace asio::experimental::awaitable_operators;
  auto parsed = transport::parse_url(config::uplink_transport_url(url));
  if (!parsed.value) {
    why = parsed.error;
    co_return nullptr;
  }
  std::shared_ptr<transport::upgradable_stream> stream;
  asio::steady_timer timer(executor_, settings_.connect_timeout);
  std::error_code ec;
  auto connected = co_await (transport::connect_upgradable(*parsed.value, settings_.tls, ec) ||
                             timer.async_wait(asio::use_awaitable));
  if (connected.index() == 1) {
    why = "no connection within connect_timeout_ms";
    co_return nullptr;
  }
  stream = std::move(std::get<0>(connected));
  if (ec || !stream) {
    why = ec ? ec.message() : "connection failed";
    co_return nullptr;
  }
  stream_ = stream;  // stop() closes it while greeting
  reader_ = nats::server_reader(server_limits);
  timer.expires_after(settings_.connect_timeout);
  auto greeted = co_await (greet(*stream, url, why) || timer.async_wait(asio::use_awaitable));
  stream_.reset();
  if (greeted.index() == 1 || !std::get<0>(greeted)) {
    if (greeted.index() == 1) why = "no greeting within connect_timeout_ms";
    stream->close();
    co_return nullptr;
  }
  co_return stream;
}

asio::awaitable<bool> nats_link::read_op(transport::stream& stream, nats::server_op& op,
                                         std::string& why) {
  while (true) {
    auto status = reader_.next(op);
    if (status == nats::read_status::op) co_return true;
    if (status == nats::read_status::error) {
      why = "protocol error from the server: " + reader_.error_text();
      co_return false;
    }
    auto room = reader_.prepare(read_chunk);
    std::error_code ec;
    auto n = co_await stream.read_some(asio::buffer(room.data(), room.size()), ec);
    if (ec) {
      why = ec == asio::error::eof ? "closed by the server" : ec.message();
      co_return false;
    }
    reader_.commit(n);
    bytes_in_ += n;
  }
}

asio::awaitable<bool> nats_link::greet(transport::upgradable_stream& stream, const std::string& url,
                                       std::string& why) {
  // The server speaks first: INFO, in plain text even when TLS follows.
  nats::server_op op;
  if (!co_await read_op(stream, op, why)) co_return false;
  if (op.kind != nats::op_kind::info) {
    why = "the server did not start with INFO";
    co_return false;
  }
  bool want_tls = url.starts_with("tls://");
  handle_info(op.text, want_tls);
  auto greeting = json::parse(op.text, nullptr, false);
  bool tls_required = greeting.is_object() && greeting.value("tls_required", false);
  if (want_tls || tls_required) {
    std::error_code ec;
    co_await stream.start_tls(ec);
    if (ec) {
      why = "TLS: " + (ec == std::errc::protocol_not_supported
                           ? std::string("not available in this build")
                           : ec.message());
      co_return false;
    }
  }
  std::string hello;
  nats::encode_connect(hello, connect_json(want_tls || tls_required));
  nats::encode_ping(hello);
  std::error_code ec;
  std::vector<asio::const_buffer> buffers{asio::buffer(hello)};
  co_await stream.write(buffers, ec);
  if (ec) {
    why = ec.message();
    co_return false;
  }
  bytes_out_ += hello.size();
  // Then PONG (accepted) or -ERR (refused: credentials, TLS); INFO may come between.
  while (true) {
    if (!co_await read_op(stream, op, why)) co_return false;
    switch (op.kind) {
      case nats::op_kind::pong: co_return true;
      case nats::op_kind::err: why = "refused: " + std::string(op.text); co_return false;
      case nats::op_kind::info: handle_info(op.text, want_tls); break;
      case nats::op_kind::ping: break;  // answered once connected
      default: why = "unexpected operation before PONG"; co_return false;
    }
  }
}

std::string nats_link::connect_json(bool tls) const {
  json options{{"verbose", false},    {"pedantic", false},
               {"tls_required", tls}, {"name", "ipcd uplink " + settings_.name},
               {"lang", "cpp-ipcd"},  {"version", client_version},
               {"protocol", 1},  // cluster-aware: INFO updates with connect_urls
               {"headers", true},     {"no_responders", true},
               {"echo", false}};  // our own publishes never come back to us
  if (!settings_.user.empty()) {
    options["user"] = settings_.user;
    options["pass"] = settings_.password;
  }
  if (!settings_.token.empty()) options["auth_token"] = settings_.token;
  if (!settings_.nkey_public.empty() && settings_.sign) {
    options["nkey"] = settings_.nkey_public;
    options["sig"] = settings_.sign(info_.nonce);
  }
  return options.dump();
}

void nats_link::handle_info(std::string_view text, bool tls) {
  // A field of an unexpected type is ignored, never thrown past the link.
  try {
    read_info(text, tls);
  } catch (const json::exception& e) {
    logger_->warn("uplink {}: the server's INFO has a field of an unexpected type: {}",
                  settings_.name, loggable(e.what()));
  }
}

void nats_link::read_info(std::string_view text, bool tls) {
  auto info = json::parse(text, nullptr, false);
  if (!info.is_object()) return;
  info_.server_id = info.value("server_id", "");
  info_.server_name = info.value("server_name", "");
  info_.version = info.value("version", "");
  info_.cluster = info.value("cluster", "");
  info_.nonce = info.value("nonce", "");
  info_.headers = info.value("headers", false);
  // nats-server's max_payload is at most 64 MiB: a larger announcement is not believed.
  constexpr std::uint64_t payload_ceiling = 64ull * 1024 * 1024;
  if (auto size = info.find("max_payload"); size != info.end() && size->is_number_unsigned())
    info_.max_payload = std::min(size->get<std::uint64_t>(), payload_ceiling);
  reader_.set_max_payload(std::max<std::uint64_t>(info_.max_payload, 1024 * 1024) + 64 * 1024);
  // The cluster's other servers: added to the pool, in the configured scheme.
  auto urls = info.find("connect_urls");
  if (urls == info.end() || !urls->is_array()) return;
  for (const auto& entry : *urls) {
    if (!entry.is_string()) continue;
    std::string url = (tls ? "tls://" : "nats://") + entry.get<std::string>();
    if (!transport::parse_url(config::uplink_transport_url(url)).value) continue;
    if (std::find(pool_.begin(), pool_.end(), url) == pool_.end()) {
      pool_.push_back(url);
      logger_->info("uplink {}: the cluster announced {}", settings_.name, url);
    }
  }
}

asio::awaitable<void> nats_link::read_loop(std::shared_ptr<transport::upgradable_stream> stream) {
  nats::server_op op;
  std::string why;
  while (!stopped_) {
    if (!co_await read_op(*stream, op, why)) break;
    last_heard_ = std::chrono::steady_clock::now();
    switch (op.kind) {
      case nats::op_kind::msg: events_.link_message(op); break;
      case nats::op_kind::ping:
        nats::encode_pong(out_);
        wake();
        break;
      case nats::op_kind::pong:
        if (!pings_.empty()) {
          auto mark = pings_.front();
          pings_.pop_front();
          events_.link_flushed(mark);
        }
        break;
      case nats::op_kind::info: handle_info(op.text, current_.starts_with("tls://")); break;
      case nats::op_kind::err:
        // Some errors leave the connection open (a permissions violation); the server
        // closes it after the others, and the read ends then.
        logger_->warn("uplink {}: server error: {}", settings_.name, loggable(op.text));
        last_error_ = "server error: " + std::string(op.text);
        break;
      case nats::op_kind::ok: break;
    }
    if (stopped_) co_return;
  }
  if (!why.empty()) last_error_ = why;
}

asio::awaitable<void> nats_link::write_loop(std::shared_ptr<transport::upgradable_stream> stream,
                                            std::uint64_t generation) {
  auto self = shared_from_this();
  std::error_code ec;
  std::vector<asio::const_buffer> buffers(1);
  std::string batch;  // this connection's own: a later one never writes from it
  while (!stopped_ && generation == generation_) {
    if (out_.empty()) {
      writer_waiting_ = true;
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      writer_waiting_ = false;
      continue;
    }
    batch.clear();
    batch.swap(out_);
    writing_bytes_ = batch.size();
    buffers[0] = asio::buffer(batch);
    co_await stream->write(buffers, ec);
    writing_bytes_ = 0;
    if (ec) {
      if (generation == generation_) {
        last_error_ = "write failed: " + ec.message();
        stream->close();  // the reader ends and reconnects
      }
      break;
    }
    bytes_out_ += batch.size();
    if (!stopped_ && generation == generation_) events_.link_wrote();
  }
}

asio::awaitable<void> nats_link::ping_loop(std::shared_ptr<transport::upgradable_stream> stream,
                                           std::uint64_t generation) {
  auto self = shared_from_this();
  std::error_code ec;
  while (!stopped_ && generation == generation_) {
    ping_timer_.expires_after(settings_.ping_interval);
    co_await ping_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_ || generation != generation_) break;
    auto silent = std::chrono::steady_clock::now() - last_heard_;
    if (silent >= settings_.ping_interval * settings_.max_pings_out) {
      last_error_ =
          "stale connection: no answer to " + std::to_string(settings_.max_pings_out) + " PINGs";
      stream->close();
      break;
    }
    // A PING whose mark confirms nothing new (marks never decrease).
    ping(pings_.empty() ? 0 : pings_.back());
  }
}

}  // namespace ipc::broker
