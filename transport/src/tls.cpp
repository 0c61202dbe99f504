// TLS transport (OpenSSL 3 through asio::ssl): TLS 1.2 at least. The acceptor runs each
// server handshake as its own coroutine with a deadline, so a slow or silent peer never
// holds up the accept loop; accept() hands out streams whose handshake is done. Clients
// verify the server's certificate (given CA, else the system store) and host name.
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <ctime>
#include <deque>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include "ready_streams.hpp"
#include "socket_stream.hpp"
#include "transport_impl.hpp"

namespace ipc::transport {

// tcp.cpp
peer_info tcp_peer(asio::ip::tcp::socket& socket);
bool bind_tcp(const asio::any_io_executor& executor, const url& where,
              const listen_options& options, asio::ip::tcp::acceptor& out, url& local,
              listen_error& error);
asio::awaitable<asio::ip::tcp::socket> connect_tcp_socket(const url& where, std::error_code& ec);

namespace {

using tcp = asio::ip::tcp;
using ssl_socket = asio::ssl::stream<tcp::socket>;

// The verified peer certificate's subject as RFC 2253 text ("CN=svc-a,O=Example").
std::string verified_subject(ssl_socket& socket) {
  SSL* ssl = socket.native_handle();
  if (SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string out;
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      if (size > 0) out.assign(data, static_cast<std::size_t>(size));
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

std::shared_ptr<asio::ssl::context> make_context(asio::ssl::context::method method) {
  auto ctx = std::make_shared<asio::ssl::context>(method);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  return ctx;
}

// A server context with the listener's certificate chain, key and client CA; nullptr
// with `error` when a file cannot be loaded.
std::shared_ptr<asio::ssl::context> load_server_context(const url& where,
                                                        const listen_options& options,
                                                        listen_error& error) {
  auto ctx = make_context(asio::ssl::context::tls_server);
  std::error_code ec;
  auto fail = [&](const std::string& what, const std::string& file) {
    error = {ec, "tls listener " + where.to_string() + ": cannot load " + what + " '" + file +
                     "': " + ec.message()};
    return nullptr;
  };
  ctx->use_certificate_chain_file(options.tls_cert, ec);
  if (ec) return fail("certificate", options.tls_cert);
  ctx->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
  if (ec) return fail("key", options.tls_key);
  if (!options.tls_ca.empty()) {
    ctx->load_verify_file(options.tls_ca, ec);
    if (ec) return fail("CA", options.tls_ca);
    auto mode = asio::ssl::verify_peer;
    if (options.require_client_cert) mode |= asio::ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode);
  }
  return ctx;
}

class tls_stream final : public stream {
 public:
  tls_stream(std::shared_ptr<asio::ssl::context> context, std::unique_ptr<ssl_socket> socket,
             peer_info peer)
      : context_(std::move(context)), socket_(std::move(socket)), peer_(std::move(peer)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                         std::error_code& ec) override {
    co_return co_await socket_->async_read_some(buffer,
                                                asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override {
    co_return co_await asio::async_write(*socket_, buffers,
                                         asio::redirect_error(asio::use_awaitable, ec));
  }
  void close() override {
    std::error_code ignored;
    socket_->lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
    socket_->lowest_layer().close(ignored);
  }
  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override { return socket_->get_executor(); }

 private:
  std::shared_ptr<asio::ssl::context> context_;  // outlives the SSL object
  std::unique_ptr<ssl_socket> socket_;
  peer_info peer_;
};

// What the acceptor and its handshake coroutines share.
struct tls_listener_state {
  tls_listener_state(const asio::any_io_executor& executor, tcp::acceptor bound,
                     std::shared_ptr<asio::ssl::context> ctx, std::chrono::milliseconds timeout,
                     std::function<void(const peer_info&, std::string_view)> rejected)
      : acceptor(std::move(bound)),
        context(std::move(ctx)),
        ready(executor),
        handshake_timeout(timeout),
        on_rejected(std::move(rejected)) {}
  tcp::acceptor acceptor;
  std::shared_ptr<asio::ssl::context> context;
  ready_streams ready;  // handshakes done, waiting for accept()
  std::chrono::milliseconds handshake_timeout;
  std::function<void(const peer_info&, std::string_view)> on_rejected;  // may be empty
  bool running = false;
  std::size_t handshaking = 0;  // handshakes in progress (bounded: max_handshakes)
};

// Handshakes in progress per listener; connections past it are closed at once, so peers
// that never finish cannot hold file descriptors without bound.
constexpr std::size_t max_handshakes = 1024;

asio::awaitable<void> handshake(std::shared_ptr<tls_listener_state> state, tcp::socket raw) {
  peer_info peer = tcp_peer(raw);
  peer.transport = scheme::tls;
  auto context = state->context;  // a reload may replace the listener's meanwhile
  auto socket = std::make_unique<ssl_socket>(std::move(raw), *context);
  asio::steady_timer deadline(socket->get_executor());
  deadline.expires_after(state->handshake_timeout);
  // `finished` is set before the socket can go away, so a late timer never touches it.
  auto finished = std::make_shared<bool>(false);
  auto timed_out = std::make_shared<bool>(false);
  auto* lowest = &socket->lowest_layer();
  deadline.async_wait([lowest, finished, timed_out](std::error_code ec) {
    if (ec || *finished) return;
    *timed_out = true;
    lowest->close(ec);  // too slow: the handshake below fails
  });
  ++state->handshaking;
  std::error_code ec;
  co_await socket->async_handshake(asio::ssl::stream_base::server,
                                   asio::redirect_error(asio::use_awaitable, ec));
  *finished = true;
  --state->handshaking;
  deadline.cancel();
  if (state->ready.closed()) co_return;
  if (ec) {  // plain bytes, an old protocol version, a refused certificate, a timeout
    if (state->on_rejected)
      state->on_rejected(peer, *timed_out ? std::string("handshake timed out") : ec.message());
    co_return;
  }
  peer.tls_subject = verified_subject(*socket);
  state->ready.push(
      std::make_unique<tls_stream>(std::move(context), std::move(socket), std::move(peer)));
}

asio::awaitable<void> accept_connections(std::shared_ptr<tls_listener_state> state) {
  asio::steady_timer pause(state->acceptor.get_executor());
  for (;;) {
    std::error_code ec;
    tcp::socket raw =
        co_await state->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (state->ready.closed()) co_return;
    if (ec) {  // EMFILE and the like: pause so as not to spin
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (state->handshaking >= max_handshakes) {
      if (state->on_rejected) {
        peer_info peer = tcp_peer(raw);
        peer.transport = scheme::tls;
        state->on_rejected(peer, "too many handshakes in progress");
      }
      raw.close(ec);
      continue;
    }
    asio::co_spawn(state->acceptor.get_executor(), handshake(state, std::move(raw)),
                   asio::detached);
  }
}

class tls_acceptor final : public acceptor {
 public:
  tls_acceptor(std::shared_ptr<tls_listener_state> state, url local)
      : state_(std::move(state)), local_(std::move(local)) {}
  ~tls_acceptor() override { close(); }

  asio::awaitable<std::unique_ptr<stream>> accept(std::error_code& ec) override {
    auto state = state_;
    if (!state->running) {
      state->running = true;
      asio::co_spawn(state->acceptor.get_executor(), accept_connections(state), asio::detached);
    }
    co_return co_await state->ready.next(ec);  // `state` keeps the queue alive
  }

  void close() override {
    if (state_->ready.closed()) return;
    state_->ready.close();
    std::error_code ignored;
    state_->acceptor.close(ignored);
  }

  url local_url() const override { return local_; }

  std::int64_t certificate_expires_at() const override {
    X509* certificate = SSL_CTX_get0_certificate(state_->context->native_handle());
    if (certificate == nullptr) return 0;
    std::tm expiry{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(certificate), &expiry) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&expiry));
  }

  // New handshakes use the reloaded certificate; connections made before keep theirs.
  std::function<void()> prepare_update(const listen_options& options,
                                       listen_error& error) override {
    auto ctx = load_server_context(local_, options, error);
    if (!ctx) return {};
    auto timeout = std::chrono::milliseconds(options.tls_handshake_ms);
    return [state = state_, ctx = std::move(ctx), timeout] {
      state->context = ctx;
      state->handshake_timeout = timeout;
    };
  }

 private:
  std::shared_ptr<tls_listener_state> state_;
  url local_;
};

}  // namespace

std::unique_ptr<acceptor> listen_tls(const asio::any_io_executor& executor, const url& where,
                                     const listen_options& options, listen_error& error) {
  auto ctx = load_server_context(where, options, error);
  if (!ctx) return nullptr;
  tcp::acceptor bound(executor);
  url local;
  if (!bind_tcp(executor, where, options, bound, local, error)) return nullptr;
  auto state = std::make_shared<tls_listener_state>(
      executor, std::move(bound), std::move(ctx),
      std::chrono::milliseconds(options.tls_handshake_ms), options.on_rejected);
  return std::make_unique<tls_acceptor>(std::move(state), std::move(local));
}

namespace {

// A client context verifying servers against `options.tls_ca` (the system's store when
// empty), with the client certificate when one is given; nullptr with `ec` on failure.
std::shared_ptr<asio::ssl::context> client_context(const connect_options& options,
                                                   std::error_code& ec) {
  auto ctx = make_context(asio::ssl::context::tls_client);
  if (options.tls_ca.empty())
    ctx->set_default_verify_paths(ec);
  else
    ctx->load_verify_file(options.tls_ca, ec);
  if (!ec && !options.tls_cert.empty()) ctx->use_certificate_chain_file(options.tls_cert, ec);
  if (!ec && !options.tls_key.empty())
    ctx->use_private_key_file(options.tls_key, asio::ssl::context::pem, ec);
  if (ec) return nullptr;
  ctx->set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

// The client handshake on `socket`, checking that the certificate names `host`.
asio::awaitable<void> client_handshake(ssl_socket& socket, const std::string& host,
                                       std::error_code& ec) {
  SSL* ssl = socket.native_handle();
  std::error_code not_ip;
  (void)asio::ip::make_address(host, not_ip);
  if (not_ip) {
    // A name: sent as SNI (SSL_set_tlsext_host_name is a macro with an old-style cast),
    // and the certificate must carry it.
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
    SSL_set1_host(ssl, host.c_str());
  } else {
    // An address: the certificate must carry it as an IP subjectAltName.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  }
  co_await socket.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
}

class upgradable_tcp_stream final : public upgradable_stream {
 public:
  upgradable_tcp_stream(tcp::socket socket, url where, connect_options options, peer_info peer)
      : plain_(std::move(socket)),
        where_(std::move(where)),
        options_(std::move(options)),
        peer_(std::move(peer)) {}

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                         std::error_code& ec) override {
    if (tls_)
      co_return co_await tls_->async_read_some(buffer,
                                               asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await plain_.async_read_some(buffer,
                                              asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override {
    if (tls_)
      co_return co_await asio::async_write(*tls_, buffers,
                                           asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await asio::async_write(plain_, buffers,
                                         asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> start_tls(std::error_code& ec) override {
    context_ = client_context(options_, ec);
    if (ec) co_return;
    tls_ = std::make_unique<ssl_socket>(std::move(plain_), *context_);
    co_await client_handshake(*tls_, where_.host, ec);
    if (!ec) peer_.transport = scheme::tls;
  }
  void close() override {
    std::error_code ignored;
    auto& socket = tls_ ? tls_->lowest_layer() : plain_;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override {
    return tls_ ? tls_->get_executor() : plain_.get_executor();
  }

 private:
  tcp::socket plain_;  // moved into tls_ by start_tls()
  std::shared_ptr<asio::ssl::context> context_;
  std::unique_ptr<ssl_socket> tls_;
  url where_;
  connect_options options_;
  peer_info peer_;
};

}  // namespace

asio::awaitable<std::unique_ptr<stream>> connect_tls(const url& where,
                                                     const connect_options& options,
                                                     std::error_code& ec) {
  auto ctx = client_context(options, ec);
  if (ec) co_return nullptr;
  tcp::socket raw = co_await connect_tcp_socket(where, ec);
  if (ec) co_return nullptr;
  peer_info peer = tcp_peer(raw);
  peer.transport = scheme::tls;
  auto socket = std::make_unique<ssl_socket>(std::move(raw), *ctx);
  co_await client_handshake(*socket, where.host, ec);
  if (ec) co_return nullptr;
  co_return std::make_unique<tls_stream>(std::move(ctx), std::move(socket), std::move(peer));
}

asio::awaitable<std::unique_ptr<upgradable_stream>> connect_upgradable(
    const url& where, const connect_options& options, std::error_code& ec) {
  tcp::socket raw = co_await connect_tcp_socket(where, ec);
  if (ec) co_return nullptr;
  peer_info peer = tcp_peer(raw);
  co_return std::make_unique<upgradable_tcp_stream>(std::move(raw), where, options,
                                                    std::move(peer));
}

}  // namespace ipc::transport
