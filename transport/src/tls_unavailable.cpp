// tls:// in a build without OpenSSL (the Windows cross build: Debian has no OpenSSL for
// mingw-w64): listeners and connections are refused with a clear message.
#include "transport_impl.hpp"

namespace ipc::transport {

std::unique_ptr<acceptor> listen_tls(const asio::any_io_executor&, const url& where,
                                     const listen_options&, listen_error& error) {
  error = {std::make_error_code(std::errc::not_supported),
           "tls listener " + where.to_string() + ": TLS is not available in this build"};
  return nullptr;
}

asio::awaitable<std::unique_ptr<stream>> connect_tls(const url&, const connect_options&,
                                                     std::error_code& ec) {
  ec = std::make_error_code(std::errc::protocol_not_supported);
  co_return nullptr;
}

namespace {
// A plain TCP connection that cannot turn to TLS in this build.
class plain_only_stream final : public upgradable_stream {
 public:
  explicit plain_only_stream(std::unique_ptr<stream> inner) : inner_(std::move(inner)) {}
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                         std::error_code& ec) override {
    co_return co_await inner_->read_some(buffer, ec);
  }
  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override {
    co_return co_await inner_->write(buffers, ec);
  }
  asio::awaitable<void> start_tls(std::error_code& ec) override {
    ec = std::make_error_code(std::errc::protocol_not_supported);
    co_return;
  }
  void close() override { inner_->close(); }
  const peer_info& peer() const override { return inner_->peer(); }
  asio::any_io_executor get_executor() override { return inner_->get_executor(); }

 private:
  std::unique_ptr<stream> inner_;
};
}  // namespace

asio::awaitable<std::unique_ptr<upgradable_stream>> connect_upgradable(const url& where,
                                                                       const connect_options&,
                                                                       std::error_code& ec) {
  auto inner = co_await connect_tcp(where, ec);
  if (ec) co_return nullptr;
  co_return std::make_unique<plain_only_stream>(std::move(inner));
}

}  // namespace ipc::transport
