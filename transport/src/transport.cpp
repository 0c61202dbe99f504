// listen() and connect(): pick the transport by URL scheme.
#include <asio/connect.hpp>
#include <asio/this_coro.hpp>

#include "ipc/transport/stream.hpp"
#include "transport_impl.hpp"

namespace ipc::transport {

std::function<void()> acceptor::prepare_update(const listen_options&, listen_error&) {
  return [] {};  // nothing to change on plain TCP listeners
}

bool stream::offer_shared_memory(std::string&, std::string& error) {
  error = "shared memory is only offered on local sockets";
  return false;
}

bool stream::switch_shared_memory_after(std::uint64_t) { return false; }

std::error_code stream::accept_shared_memory(std::string_view, std::string& error) {
  error = "this connection cannot use shared memory";
  return std::make_error_code(std::errc::not_supported);
}

std::unique_ptr<acceptor> listen(const asio::any_io_executor& executor, const url& where,
                                 const listen_options& options, listen_error& error) {
  switch (where.kind) {
    case scheme::tcp: return listen_tcp(executor, where, options, error);
    case scheme::unix_socket:
    case scheme::named_pipe: return listen_local(executor, where, options, error);
    case scheme::tls: return listen_tls(executor, where, options, error);
    case scheme::shm:
      error = {std::make_error_code(std::errc::invalid_argument),
               "shm:// is not a listener: listen on the local socket with \"shm\": true"};
      return nullptr;
  }
  error = {std::make_error_code(std::errc::not_supported),
           std::string(scheme_name(where.kind)) + ":// listeners are not available in this build"};
  return nullptr;
}

asio::awaitable<std::unique_ptr<stream>> connect(const url& where, std::error_code& ec) {
  // A named object, not a temporary: GCC 12 destroys a temporary in a co_await
  // expression twice.
  connect_options none;
  co_return co_await connect(where, none, ec);
}

asio::awaitable<std::unique_ptr<stream>> connect(const url& where, const connect_options& options,
                                                 std::error_code& ec) {
  switch (where.kind) {
    case scheme::tcp: co_return co_await connect_tcp(where, ec);
    case scheme::unix_socket:
    case scheme::named_pipe: co_return co_await connect_local(where, options.shm, ec);
    case scheme::tls: co_return co_await connect_tls(where, options, ec);
    case scheme::shm: {  // the switch itself comes with the handshake
      shm_options shm = options.shm;
      shm.enabled = true;
      co_return co_await connect_local(local_url_of(where), shm, ec);
    }
  }
  ec = std::make_error_code(std::errc::not_supported);
  co_return nullptr;
}

}  // namespace ipc::transport
