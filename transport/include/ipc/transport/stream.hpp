// One async byte-stream and acceptor interface over every transport (tcp, unix, later
// tls and named pipes). Coroutine based; OS errors are reported as std::error_code.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/buffer.hpp>

#include "ipc/transport/peer.hpp"
#include "ipc/transport/url.hpp"

namespace ipc::transport {

// Shared-memory rings for local connections (docs/shared-memory.md): a Unix socket (a
// named pipe on Windows) whose frames move to a pair of rings after the handshake.
struct shm_options {
  bool enabled = false;                // listener: may switch; client: asks to switch
  std::uint32_t ring_bytes = 1048576;  // listener: each direction's ring (a power of two)
  std::uint32_t spin_us = 0;           // how long a side polls its ring before it sleeps
};

class stream {
 public:
  virtual ~stream() = default;
  // Reads at least one byte; ec set on failure or end of stream (asio::error::eof).
  virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                                 std::error_code& ec) = 0;
  // Writes every byte of `buffers` (one gathered write where the OS allows).
  virtual asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                             std::error_code& ec) = 0;
  // Writes what the transport takes at once, without waiting (a non-blocking send; a
  // copy into the ring), and returns how many bytes of `buffers` it took: fewer than all,
  // or 0, when the socket buffer or ring is full or the transport never writes this way
  // (TLS, named pipes, a switch to shared memory under way); write() then sends the rest.
  // Never while a write() is in progress. ec on failure.
  virtual std::size_t write_now(const std::vector<asio::const_buffer>& buffers,
                                std::error_code& ec) {
    (void)buffers;
    ec.clear();
    return 0;
  }
  // Whether a write_now() now is as cheap as queueing the bytes for a later write: a copy
  // into a ring the peer polls awake (shared memory with spinning), no system call and
  // no wake-up. A latency-minded writer then writes a lone message at once instead of
  // waiting for its writer's next turn.
  virtual bool writes_at_once() const { return false; }
  // Cancels pending operations and closes; safe to call more than once.
  virtual void close() = 0;
  virtual const peer_info& peer() const = 0;
  virtual asio::any_io_executor get_executor() = 0;

  // The switch to shared memory (docs/shared-memory.md §4). Broker side: whether this
  // connection's listener allows it for a client that can (or cannot) open a segment a
  // token names, then the offer, which makes the rings and sets `token` to what the
  // client needs to reach them besides the bytes it reads ("" where that travels with the
  // bytes: the descriptors on Linux; the segment's name on Windows), or returns false
  // with `error`: the connection stays on the socket. Then the switch point: once `bytes`
  // in all have been written (the handshake's last bytes, which carry the descriptors
  // where the OS passes them) reads and writes go through the rings; false when it
  // cannot be (an offer not made, or bytes already written past it: the offer is then
  // withdrawn and its segment released).
  virtual bool can_offer_shared_memory(bool takes_token) const {
    (void)takes_token;
    return false;
  }
  virtual bool offer_shared_memory(std::string& token, std::string& error);
  virtual bool switch_shared_memory_after(std::uint64_t bytes);
  // Client side, after the broker accepted the switch with `token`: moves to the rings;
  // on failure `error` says why.
  virtual std::error_code accept_shared_memory(std::string_view token, std::string& error);
  bool on_shared_memory() const { return peer().transport == scheme::shm; }
  // The bytes of the shared-memory segment this connection maps (from the offer until
  // the connection ends or the offer is withdrawn; docs/shared-memory.md §2), else 0.
  virtual std::size_t shared_memory_bytes() const { return 0; }
};

// Options a listener takes from its config entry.
struct listen_options {
  std::uint32_t unix_mode = 0660;
  std::string unix_group;  // "" keeps the process group
  // npipe: accounts, groups or SIDs ("S-1-…") that may connect, besides SYSTEM,
  // Administrators and the broker's own account (comma-separated).
  std::string pipe_access;
  int backlog = 1024;
  // tls: PEM certificate chain and key; `tls_ca` verifies client certificates.
  std::string tls_cert, tls_key, tls_ca;
  bool require_client_cert = false;
  std::uint32_t tls_handshake_ms = 10000;  // a handshake not done by then is dropped
  shm_options shm;                         // unix (and npipe): the switch to shared memory
  // Told of each connection the transport dropped before handing it out (tls: a
  // handshake that failed or timed out, or one past the handshakes in progress), with
  // the peer and why; called on the acceptor's executor.
  std::function<void(const peer_info& peer, std::string_view reason)> on_rejected;
  // A listening socket handed over by the service manager (socket activation): used
  // instead of binding; for unix sockets its file is left alone (no mode, group or
  // unlink: the service manager owns it). -1: bind.
  std::intptr_t inherited_handle = -1;
};

// How a client connects. tls: the server is verified against `tls_ca` (the system's
// trust store when empty) and its name; a client certificate is optional. unix: with
// `shm.enabled` the stream can take the rings' descriptors the broker sends.
struct connect_options {
  std::string tls_ca, tls_cert, tls_key;
  shm_options shm;
};

// The error of a failed listen: an OS error plus a sentence for the log.
struct listen_error {
  std::error_code code;
  std::string message;
};

class acceptor {
 public:
  virtual ~acceptor() = default;
  virtual asio::awaitable<std::unique_ptr<stream>> accept(std::error_code& ec) = 0;
  virtual void close() = 0;
  // The bound address (with the real port when 0 was asked for).
  virtual url local_url() const = 0;
  // When the certificate a TLS listener presents expires, in seconds since the UNIX
  // epoch (its notAfter); 0 for other listeners.
  virtual std::int64_t certificate_expires_at() const { return 0; }
  // A config reload: checks and loads what `options` need (TLS certificate and key, a
  // socket's group) and returns what applies them, or an empty function with `error`
  // set. Nothing changes until the returned function is called.
  virtual std::function<void()> prepare_update(const listen_options& options, listen_error& error);
};

// Binds and listens on `where`. For unix sockets: creates the parent directory if
// missing, replaces a stale socket file nobody listens on, refuses when another
// process listens there, and applies mode and group to the socket file.
std::unique_ptr<acceptor> listen(const asio::any_io_executor& executor, const url& where,
                                 const listen_options& options, listen_error& error);

// Connects to `where`; ec set on failure (connection refused, no such file, a TLS
// certificate that does not verify, …).
asio::awaitable<std::unique_ptr<stream>> connect(const url& where, std::error_code& ec);
asio::awaitable<std::unique_ptr<stream>> connect(const url& where, const connect_options& options,
                                                 std::error_code& ec);

// A TCP connection whose protocol turns to TLS after a plaintext greeting (a NATS server
// sends its INFO before TLS starts): reads and writes are plain until start_tls(), which
// verifies the server as connect() does for tls:// (CA, host name or address).
class upgradable_stream : public stream {
 public:
  virtual asio::awaitable<void> start_tls(std::error_code& ec) = 0;
};
// Connects over TCP to the host and port of `where` (tcp:// or tls://); `options` are
// for start_tls(). In a build without TLS, start_tls() fails with protocol_not_supported.
asio::awaitable<std::unique_ptr<upgradable_stream>> connect_upgradable(
    const url& where, const connect_options& options, std::error_code& ec);

}  // namespace ipc::transport
