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

}  // namespace ipc::transport
