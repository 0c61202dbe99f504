// TCP transport: listen with SO_REUSEADDR, connect through the resolver, TCP_NODELAY.
#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/this_coro.hpp>

#include "socket_stream.hpp"
#include "transport_impl.hpp"

namespace ipc::transport {
namespace {

using tcp = asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

}  // namespace

peer_info tcp_peer(tcp::socket& socket) {
  peer_info peer;
  peer.transport = scheme::tcp;
  std::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  peer.address = ec ? "?" : endpoint_text(remote);
  socket.set_option(tcp::no_delay(true), ec);
  return peer;
}

// Resolves, binds and listens (shared by tcp:// and tls:// listeners).
bool bind_tcp(const asio::any_io_executor& executor, const url& where,
              const listen_options& options, tcp::acceptor& out, url& local, listen_error& error) {
  std::error_code ec;
  auto address = asio::ip::make_address(where.host, ec);
  if (options.inherited_handle >= 0) {  // socket activation: bound by the service manager
    out = tcp::acceptor(executor);
    out.assign(address.is_v6() ? tcp::v6() : tcp::v4(),
               static_cast<tcp::acceptor::native_handle_type>(options.inherited_handle), ec);
    if (ec) {
      error = {ec,
               "cannot adopt the inherited socket for " + where.to_string() + ": " + ec.message()};
      return false;
    }
    local = where;
    local.port = out.local_endpoint(ec).port();
    return true;
  }
  if (ec) {
    // A host name: resolve it synchronously once at start-up.
    tcp::resolver resolver(executor);
    auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
    if (ec || results.empty()) {
      error = {ec, "cannot resolve listener host '" + where.host + "'"};
      return false;
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, where.port);
  out = tcp::acceptor(executor);
  out.open(endpoint.protocol(), ec);
  if (!ec) out.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) out.bind(endpoint, ec);
  if (!ec) out.listen(options.backlog, ec);
  if (ec) {
    error = {ec, "cannot listen on " + where.to_string() + ": " + ec.message()};
    return false;
  }
  local = where;
  local.port = out.local_endpoint().port();
  return true;
}

std::unique_ptr<acceptor> listen_tcp(const asio::any_io_executor& executor, const url& where,
                                     const listen_options& options, listen_error& error) {
  tcp::acceptor bound(executor);
  url local;
  if (!bind_tcp(executor, where, options, bound, local, error)) return nullptr;
  return std::make_unique<socket_acceptor<tcp>>(std::move(bound), std::move(local), tcp_peer);
}

// Resolves and connects (shared by tcp:// and tls:// clients); ec set on failure.
asio::awaitable<tcp::socket> connect_tcp_socket(const url& where, std::error_code& ec) {
  auto executor = co_await asio::this_coro::executor;
  tcp::socket socket(executor);
  tcp::resolver resolver(executor);
  auto results = co_await resolver.async_resolve(where.host, std::to_string(where.port),
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return socket;
  co_await asio::async_connect(socket, results, asio::redirect_error(asio::use_awaitable, ec));
  co_return socket;
}

asio::awaitable<std::unique_ptr<stream>> connect_tcp(const url& where, std::error_code& ec) {
  tcp::socket socket = co_await connect_tcp_socket(where, ec);
  if (ec) co_return nullptr;
  peer_info peer = tcp_peer(socket);
  co_return std::make_unique<socket_stream<tcp>>(std::move(socket), std::move(peer));
}

}  // namespace ipc::transport
