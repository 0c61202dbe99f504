// broker_fixture: builds a config on temp endpoints, runs broker::server on a thread.
#include "broker_fixture.hpp"

#include <future>
#include <stdexcept>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "local_url.hpp"
#include "server/server.hpp"

namespace ipc::test {

namespace {
config::listener listener_at(std::string url, std::uint32_t mode) {
  config::listener out;
  out.url = std::move(url);
  out.mode = mode;
  return out;
}
}  // namespace

broker_fixture::broker_fixture(std::function<void(config::broker_config&)> adjust,
                               std::shared_ptr<storage::file_system> fs) {
  config::environment env;  // the defaults of a POSIX host: paths below are replaced
  config_ = config::default_config(env);
  config_.listeners = {listener_at(local_test_url(dir_), 0600),
                       listener_at("tcp://127.0.0.1:0", 0660)};
  // Clients of the local listener switch to shared memory where the platform has it
  // (docs/shared-memory.md), so every suite that uses unix_url() runs over the rings.
  config_.listeners[0].shm = true;
  config_.storage.dir = dir_.file("data");
  if (adjust) adjust(config_);
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(4096);
  sink->set_pattern("%l %v");
  sink_ = sink;
  auto logger = std::make_shared<spdlog::logger>("ipcd-test", sink);
  logger->set_level(spdlog::level::debug);
  io_ = std::make_unique<asio::io_context>(1);
  server_ = std::make_unique<broker::server>(*io_, config_, logger, std::move(fs));
  if (!server_->open()) throw std::runtime_error("test broker: cannot open storage or listen");
  for (const auto& url : server_->bound_urls()) {
    if (url.kind == transport::scheme::unix_socket || url.kind == transport::scheme::named_pipe)
      unix_url_ = url.to_string();
    if (url.kind == transport::scheme::tcp) tcp_url_ = url.to_string();
    if (url.kind == transport::scheme::tls) tls_url_ = url.to_string();
  }
  for (const auto& url : server_->bound_urls(config::listener_protocol::http))
    if (url.kind == transport::scheme::tcp) http_url_ = url.to_string();
  for (const auto& url : server_->bound_urls(config::listener_protocol::mqtt)) {
    if (url.kind == transport::scheme::tcp) mqtt_url_ = url.to_string();
    if (url.kind == transport::scheme::tls) mqtts_url_ = url.to_string();
    if (url.kind == transport::scheme::unix_socket) mqtt_unix_url_ = url.to_string();
  }
  server_->start();
  thread_ = std::thread([this] { io_->run(); });
}

broker_fixture::~broker_fixture() {
  asio::post(*io_, [this] { server_->stop(std::chrono::milliseconds(2000)); });
  thread_.join();
  server_.reset();
  io_.reset();
}

void broker_fixture::on_broker(const std::function<void(broker::server&)>& fn) {
  std::promise<void> done;
  asio::post(*io_, [&] {
    fn(*server_);
    done.set_value();
  });
  done.get_future().wait();
}

std::vector<std::string> broker_fixture::log_lines() const {
  auto sink = std::static_pointer_cast<spdlog::sinks::ringbuffer_sink_mt>(sink_);
  return sink->last_formatted();
}

bool broker_fixture::log_contains(const std::string& text) const {
  for (const auto& line : log_lines())
    if (line.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace ipc::test
