// What every front-end does to log a client in (docs/security.md §2): the key the login
// back-off counts a peer under, and the slow password check, run on the checker's thread
// and resumed on the connection's executor.
#pragma once

#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "access/password_checker.hpp"
#include "ipc/transport/peer.hpp"

namespace ipc::broker {

// Who the peer is for the login back-off: its address without the port (many
// connections from one host share it), else its uid or SID.
std::string login_peer_key(const transport::peer_info& peer);

// Whether `password` matches `hash`, checked off the I/O thread; resumes on `executor`.
asio::awaitable<bool> check_password_off_thread(asio::any_io_executor executor,
                                                password_checker::ticket place, std::string hash,
                                                std::string password);

}  // namespace ipc::broker
