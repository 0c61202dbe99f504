// Local transport on POSIX: Unix domain sockets (filesystem paths only, never abstract),
// stale-socket replacement, file mode and group, SO_PEERCRED peer credentials.
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <asio/local/stream_protocol.hpp>
#include <asio/this_coro.hpp>

#include "local_stream_posix.hpp"
#include "socket_stream.hpp"
#include "transport_impl.hpp"

namespace ipc::transport {
namespace {

using local = asio::local::stream_protocol;

peer_info unix_peer(local::socket& socket) {
  peer_info peer;
  peer.transport = scheme::unix_socket;
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0) {
    peer.uid = credentials.uid;
    peer.gid = credentials.gid;
    peer.pid = static_cast<std::uint32_t>(credentials.pid);
    peer.address =
        "pid " + std::to_string(credentials.pid) + " uid " + std::to_string(credentials.uid);
  } else {
    peer.address = "unix";
  }
  return peer;
}

std::error_code last_error() { return {errno, std::generic_category()}; }

// A socket file is stale when connecting to it is refused: nobody listens there.
bool someone_listens(const asio::any_io_executor& executor, const std::string& path) {
  local::socket probe(executor);
  std::error_code ec;
  probe.connect(local::endpoint(path), ec);
  return !ec;
}

bool prepare_path(const asio::any_io_executor& executor, const url& where, listen_error& error) {
  namespace fs = std::filesystem;
  fs::path path(where.path);
  std::error_code ec;
  if (!fs::exists(path.parent_path(), ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      error = {ec, "cannot create socket directory " + path.parent_path().string() + ": " +
                       ec.message()};
      return false;
    }
    ::chmod(path.parent_path().c_str(), 0755);
  }
  // Anyone who can write the directory could replace the socket with their own (a fake
  // broker), unless the sticky bit limits renames and removals to the owner, as in /tmp.
  struct stat dir {};
  if (::stat(path.parent_path().c_str(), &dir) == 0 && (dir.st_mode & S_IWOTH) != 0 &&
      (dir.st_mode & S_ISVTX) == 0) {
    error = {std::make_error_code(std::errc::permission_denied),
             "socket directory " + path.parent_path().string() +
                 " is writable by others without the sticky bit; refusing to listen there"};
    return false;
  }
  struct stat info {};
  if (::lstat(where.path.c_str(), &info) != 0) return true;  // nothing there
  if (!S_ISSOCK(info.st_mode)) {
    error = {std::make_error_code(std::errc::file_exists),
             where.path + " exists and is not a socket; refusing to replace it"};
    return false;
  }
  if (someone_listens(executor, where.path)) {
    error = {std::make_error_code(std::errc::address_in_use),
             "another broker is already listening on " + where.to_string()};
    return false;
  }
  if (::unlink(where.path.c_str()) != 0) {
    error = {last_error(), "cannot remove stale socket " + where.path};
    return false;
  }
  return true;
}

bool apply_mode_and_group(const url& where, const listen_options& options, listen_error& error) {
  if (::chmod(where.path.c_str(), options.unix_mode) != 0) {
    error = {last_error(), "cannot set mode of " + where.path};
    return false;
  }
  if (options.unix_group.empty()) return true;
  const group* entry = ::getgrnam(options.unix_group.c_str());
  if (entry == nullptr) {
    error = {std::make_error_code(std::errc::invalid_argument),
             "unknown group '" + options.unix_group + "' for " + where.path};
    return false;
  }
  if (::chown(where.path.c_str(), static_cast<uid_t>(-1), entry->gr_gid) != 0) {
    error = {last_error(), "cannot set group of " + where.path};
    return false;
  }
  return true;
}

// A Unix socket listener; a reload may change its file's mode and group and whether
// new connections may switch to shared memory.
class local_acceptor final : public acceptor {
 public:
  local_acceptor(local::acceptor bound, const url& where, std::function<void()> on_close,
                 shm_options shm)
      : owns_file_(static_cast<bool>(on_close)),
        where_(where),
        inner_(std::move(bound), where, unix_peer, std::move(on_close)),
        shm_(std::make_shared<shm_options>(shm)) {
    struct stat info {};
    if (owns_file_ && ::lstat(where_.path.c_str(), &info) == 0) {
      device_ = info.st_dev;
      inode_ = info.st_ino;
    }
  }
  asio::awaitable<std::unique_ptr<stream>> accept(std::error_code& ec) override {
    auto socket = co_await inner_.accept_socket(ec);
    if (ec) co_return nullptr;
    peer_info peer = unix_peer(socket);
    co_return std::make_unique<local_stream>(std::move(socket), std::move(peer),
                                             local_stream::role::broker, *shm_);
  }
  void close() override { inner_.close(); }
  url local_url() const override { return inner_.local_url(); }
  std::function<void()> prepare_update(const listen_options& options,
                                       listen_error& error) override {
    auto apply_shm = [shm = shm_, next = options.shm] { *shm = next; };
    if (!owns_file_) return apply_shm;  // an inherited socket's file is the manager's
    if (!options.unix_group.empty() && ::getgrnam(options.unix_group.c_str()) == nullptr) {
      error = {std::make_error_code(std::errc::invalid_argument),
               "unknown group '" + options.unix_group + "' for " + where_.path};
      return {};
    }
    // Only while the path is still the socket bound at start (not a symlink or another
    // file someone with write access to the directory put there since).
    return [where = where_, options, device = device_, inode = inode_, apply_shm] {
      apply_shm();
      struct stat info {};
      if (::lstat(where.path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode) ||
          info.st_dev != device || info.st_ino != inode)
        return;
      listen_error ignored;  // the group was checked above; a failure leaves the old mode
      apply_mode_and_group(where, options, ignored);
    };
  }

 private:
  bool owns_file_;
  url where_;
  socket_acceptor<local> inner_;
  std::shared_ptr<shm_options> shm_;  // shared with a prepared update
  dev_t device_ = 0;
  ino_t inode_ = 0;
};

}  // namespace

std::unique_ptr<acceptor> listen_local(const asio::any_io_executor& executor, const url& where,
                                       const listen_options& options, listen_error& error) {
  if (where.kind != scheme::unix_socket) {
    error = {std::make_error_code(std::errc::not_supported),
             "named pipes are only available on Windows"};
    return nullptr;
  }
  if (options.inherited_handle >= 0) {  // socket activation: the file is the manager's
    local::acceptor acceptor(executor);
    std::error_code ec;
    acceptor.assign(local(), static_cast<int>(options.inherited_handle), ec);
    if (ec) {
      error = {ec,
               "cannot adopt the inherited socket for " + where.to_string() + ": " + ec.message()};
      return nullptr;
    }
    return std::make_unique<local_acceptor>(std::move(acceptor), where, nullptr, options.shm);
  }
  if (!prepare_path(executor, where, error)) return nullptr;
  local::acceptor acceptor(executor);
  std::error_code ec;
  acceptor.open(local(), ec);
  if (!ec) acceptor.bind(local::endpoint(where.path), ec);
  if (!ec) acceptor.listen(options.backlog, ec);
  if (ec) {
    error = {ec, "cannot listen on " + where.to_string() + ": " + ec.message()};
    return nullptr;
  }
  if (!apply_mode_and_group(where, options, error)) return nullptr;
  std::string path = where.path;
  return std::make_unique<local_acceptor>(
      std::move(acceptor), where, [path] { ::unlink(path.c_str()); }, options.shm);
}

asio::awaitable<std::unique_ptr<stream>> connect_local(const url& where, const shm_options& shm,
                                                       std::error_code& ec) {
  if (where.kind != scheme::unix_socket) {
    ec = std::make_error_code(std::errc::not_supported);
    co_return nullptr;
  }
  local::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(local::endpoint(where.path),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return nullptr;
  peer_info peer = unix_peer(socket);
  co_return std::make_unique<local_stream>(std::move(socket), std::move(peer),
                                           local_stream::role::client, shm);
}

}  // namespace ipc::transport
