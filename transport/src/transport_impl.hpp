// Per-transport entry points behind listen() and connect(); each lives in its own
// (platform sibling) file and is picked by CMake.
#pragma once

#include "ipc/transport/stream.hpp"

namespace ipc::transport {

std::unique_ptr<acceptor> listen_tcp(const asio::any_io_executor& executor, const url& where,
                                     const listen_options& options, listen_error& error);
asio::awaitable<std::unique_ptr<stream>> connect_tcp(const url& where, std::error_code& ec);

std::unique_ptr<acceptor> listen_local(const asio::any_io_executor& executor, const url& where,
                                       const listen_options& options, listen_error& error);
// With `shm.enabled` the stream can take the descriptors of a switch to shared memory.
asio::awaitable<std::unique_ptr<stream>> connect_local(const url& where, const shm_options& shm,
                                                       std::error_code& ec);

std::unique_ptr<acceptor> listen_tls(const asio::any_io_executor& executor, const url& where,
                                     const listen_options& options, listen_error& error);
asio::awaitable<std::unique_ptr<stream>> connect_tls(const url& where,
                                                     const connect_options& options,
                                                     std::error_code& ec);

}  // namespace ipc::transport
