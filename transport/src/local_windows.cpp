// Local transport on Windows: named pipes (\\.\pipe\NAME) through Asio's overlapped stream
// handles. The first instance is created with FILE_FLAG_FIRST_PIPE_INSTANCE (a squatter
// holding the name makes listen() fail), every instance rejects remote clients and
// carries an explicit DACL. Clients connect at identification level only.
#include <windows.h>
// windows.h first.
#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <cstdlib>

#include <deque>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/windows/object_handle.hpp>
#include <asio/windows/overlapped_ptr.hpp>
#include <asio/windows/stream_handle.hpp>
#include <asio/write.hpp>

#include "ready_streams.hpp"
#include "security_windows.hpp"
#include "shm_channel.hpp"
#include "shm_segment_windows.hpp"
#include "transport_impl.hpp"

namespace ipc::transport {
namespace {

using pipe_handle = asio::windows::stream_handle;

std::error_code system_error(DWORD code) {
  return {static_cast<int>(code), asio::error::get_system_category()};
}

using win::narrow;
using win::own_sid;
using win::sid_text;
using win::widen;

// An account or group name, or a SID as text, as a SID string; "" when unknown or not a
// valid SID (what goes into the SDDL below is always a SID Windows itself printed).
std::string resolve_account(const std::string& name) {
  if (name.starts_with("S-1-")) {
    PSID sid = nullptr;
    if (!ConvertStringSidToSidW(widen(name).c_str(), &sid)) return {};
    std::string canonical = sid_text(sid);
    LocalFree(sid);
    return canonical;
  }
  DWORD sid_size = 0, domain_size = 0;
  SID_NAME_USE use{};
  std::wstring wide = widen(name);
  LookupAccountNameW(nullptr, wide.c_str(), nullptr, &sid_size, nullptr, &domain_size, &use);
  if (sid_size == 0) return {};
  std::vector<unsigned char> sid(sid_size);
  std::wstring domain(domain_size, L'\0');
  if (!LookupAccountNameW(nullptr, wide.c_str(), sid.data(), &sid_size, domain.data(), &domain_size,
                          &use))
    return {};
  return sid_text(sid.data());
}

// What a client may do with an instance: read and write data, never create instances of
// its own (FILE_CREATE_PIPE_INSTANCE is FILE_APPEND_DATA, part of FILE_GENERIC_WRITE).
constexpr const char* client_rights =
    "0x12019b";  // FILE_GENERIC_READ|WRITE_DATA|WRITE_EA|WRITE_ATTRIBUTES

// D:P = protected DACL (nothing inherited): SYSTEM, Administrators and the broker's own
// account have full control; each listed account may connect.
bool make_security_descriptor(const std::string& access, PSECURITY_DESCRIPTOR& out,
                              listen_error& error) {
  std::string sddl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";
  if (auto self = own_sid(); !self.empty()) sddl += "(A;;GA;;;" + self + ")";
  std::size_t at = 0;
  while (at <= access.size() && !access.empty()) {
    auto comma = access.find(',', at);
    std::string name =
        access.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (!name.empty()) {
      std::string sid = resolve_account(name);
      if (sid.empty()) {
        error = {std::make_error_code(std::errc::invalid_argument),
                 "unknown account or group '" + name + "' in the pipe's access list"};
        return false;
      }
      sddl += std::string("(A;;") + client_rights + ";;;" + sid + ")";
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(widen(sddl).c_str(), SDDL_REVISION_1,
                                                            &out, nullptr)) {
    error = {system_error(GetLastError()), "cannot build the pipe's security descriptor"};
    return false;
  }
  return true;
}

// The events of a segment, from one side (docs/shared-memory.md §3).
class event_wakes final : public shm::wake_port {
 public:
  event_wakes(const asio::any_io_executor& executor, shm::segment& segment, bool broker)
      : rx_wait_(executor, segment.release_wake_handle(shm::slots_of(broker).wait_bytes)),
        tx_wait_(executor, segment.release_wake_handle(shm::slots_of(broker).wait_space)),
        rx_signal_(segment.wake_handle(shm::slots_of(broker).signal_space)),
        tx_signal_(segment.wake_handle(shm::slots_of(broker).signal_bytes)) {}

  // Auto-reset events: a wait takes the wake-up that ends it, and one set while nobody
  // waited ends the next wait at once.
  asio::awaitable<std::size_t> sleep(event what) override {
    std::error_code ignored;
    auto& wait = what == bytes ? rx_wait_ : tx_wait_;
    co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_return 0;
  }
  void signal(event what) override { shm::signal_wake(what == bytes ? tx_signal_ : rx_signal_); }
  void cancel() override {
    std::error_code ignored;
    rx_wait_.cancel(ignored);
    tx_wait_.cancel(ignored);
  }

 private:
  asio::windows::object_handle rx_wait_, tx_wait_;  // we wait on these (and own them)
  void* rx_signal_;                                 // and set these (the segment owns them)
  void* tx_signal_;
};

// Whether the other end of `pipe` is still open. A peek through DeviceIoControl with an
// event whose low bit is set: that keeps the completion off the I/O completion port the
// handle belongs to (PeekNamedPipe would queue one, which Asio would take for one of its
// own operations). When it cannot tell, it says yes.
bool pipe_alive(HANDLE pipe) {
  HANDLE event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  if (event == nullptr) return true;
  OVERLAPPED overlapped{};
  overlapped.hEvent = reinterpret_cast<HANDLE>(reinterpret_cast<std::uintptr_t>(event) | 1);
  constexpr DWORD pipe_peek = CTL_CODE(FILE_DEVICE_NAMED_PIPE, 3, METHOD_BUFFERED, FILE_READ_DATA);
  unsigned char peek[64];  // the peek's header, and room for a few bytes of data
  DWORD bytes = 0;
  BOOL done = DeviceIoControl(pipe, pipe_peek, nullptr, 0, peek, sizeof peek, &bytes, &overlapped);
  if (!done && GetLastError() == ERROR_IO_PENDING)
    done = GetOverlappedResult(pipe, &overlapped, &bytes, TRUE);
  DWORD error = done ? 0 : GetLastError();
  CloseHandle(event);
  return done || (error != ERROR_BROKEN_PIPE && error != ERROR_PIPE_NOT_CONNECTED &&
                  error != ERROR_NO_DATA);
}

// The first `bytes` of `buffers`.
std::vector<asio::const_buffer> first_bytes(const std::vector<asio::const_buffer>& buffers,
                                            std::size_t bytes) {
  std::vector<asio::const_buffer> out;
  for (const auto& buffer : buffers) {
    if (bytes == 0) break;
    out.push_back(asio::buffer(buffer, std::min(bytes, buffer.size())));
    bytes -= out.back().size();
  }
  return out;
}

// A named pipe connection that may switch to shared-memory rings (docs/shared-memory.md
// §4): the broker's offer makes the segment as named objects the client's account may
// open; the token naming them travels in the WELCOME, the last bytes on the pipe, the
// client opens them, and from then on bytes move through the rings. The pipe stays open as the
// liveness signal: its end (or any byte on it) ends the connection once the ring is drained.
class pipe_stream final : public stream {
 public:
  pipe_stream(pipe_handle handle, peer_info peer, bool server_side, shm_options shm)
      : handle_(std::move(handle)),
        peer_(std::move(peer)),
        identify_(server_side),
        broker_(server_side),
        shm_(shm),
        watch_(std::make_shared<watch_state>(this)) {}
  ~pipe_stream() override {
    watch_->owner = nullptr;
    close();
  }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer,
                                         std::error_code& ec) override {
    ec.clear();  // callers reuse one error_code
    if (!rings_) {
      std::size_t n =
          co_await handle_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::broken_pipe) ec = asio::error::eof;  // the peer closed its end
      if (!ec && identify_) identify();
      if (!(rings_ && !closed_ && ec == asio::error::operation_aborted)) co_return n;
      ec.clear();  // the switch cancelled this read: the bytes come through the ring
    }
    co_return co_await rings_->read(buffer, ec);
  }
  asio::awaitable<std::size_t> write(const std::vector<asio::const_buffer>& buffers,
                                     std::error_code& ec) override {
    ec.clear();
    std::size_t total = 0;
    for (const auto& buffer : buffers) total += buffer.size();
    if (rings_) {
      co_await rings_->write(buffers, 0, ec);
      co_return ec ? 0 : total;
    }
    if (switch_at_ == 0 || written_ + total < switch_at_) {
      std::size_t n = co_await asio::async_write(handle_, buffers,
                                                 asio::redirect_error(asio::use_awaitable, ec));
      written_ += n;
      co_return n;
    }
    // This write reaches the switch point: the bytes up to it go on the pipe, the rest
    // through the ring.
    auto before = static_cast<std::size_t>(switch_at_ - written_);
    co_await asio::async_write(handle_, first_bytes(buffers, before),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return 0;
    written_ += before;
    start_rings();
    if (before < total) co_await rings_->write(buffers, before, ec);
    co_return ec ? 0 : total;
  }
  bool writes_at_once() const override { return rings_ && rings_->peer_polls(); }
  // On the rings only: a pipe write always goes through the I/O completion port.
  std::size_t write_now(const std::vector<asio::const_buffer>& buffers,
                        std::error_code& ec) override {
    ec.clear();
    return rings_ ? rings_->write_now(buffers, ec) : 0;
  }
  void close() override {
    closed_ = true;
    std::error_code ignored;
    handle_.close(ignored);
    if (rings_) rings_->close();
  }
  const peer_info& peer() const override { return peer_; }
  asio::any_io_executor get_executor() override { return handle_.get_executor(); }

  // Only to a client that can open the named segment (its HELLO says shm_token).
  bool can_offer_shared_memory(bool takes_token) const override {
    return takes_token && broker_ && shm_.enabled && !rings_ && !segment_.valid();
  }
  bool offer_shared_memory(std::string& token, std::string& error) override {
    if (!can_offer_shared_memory(true)) {
      error = "this listener does not offer shared memory";
      return false;
    }
    segment_ = shm::segment::create(shm_.ring_bytes, peer_.sid, token, error);
    return segment_.valid();
  }
  bool switch_shared_memory_after(std::uint64_t bytes) override {
    if (!segment_.valid() || rings_) return false;
    if (bytes <= written_) {  // the offer is withdrawn: the connection stays on the socket
      segment_ = {};
      return false;
    }
    switch_at_ = bytes;
    return true;
  }
  std::size_t shared_memory_bytes() const override { return segment_.memory().size(); }
  std::error_code accept_shared_memory(std::string_view token, std::string& error) override {
    if (broker_ || rings_) {
      error = "not a client connection waiting for the switch";
      return std::make_error_code(std::errc::invalid_argument);
    }
    segment_ = shm::segment::open(token, error);
    if (!segment_.valid()) return std::make_error_code(std::errc::bad_message);
    // The broker closes its end of the pipe before its handles to the segment: a pipe
    // still open now means the names were still the broker's objects when we opened them
    // (not ones someone else made under the name after a broker's end).
    if (!pipe_alive(handle_.native_handle())) {
      segment_ = {};
      error = "the broker left during the switch to shared memory";
      return std::make_error_code(std::errc::connection_reset);
    }
    start_rings();
    return {};
  }

 private:
  // What the pipe watch needs after its stream is gone: the byte it reads into stays
  // valid until the cancelled read completes.
  struct watch_state {
    explicit watch_state(pipe_stream* stream) : owner(stream) {}
    pipe_stream* owner;
    char probe = 0;
  };

  void start_rings() {
    auto executor = handle_.get_executor();
    rings_ = std::make_unique<shm::channel>(
        executor, segment_.memory(), segment_.ring_bytes(), broker_, shm_.spin_us,
        std::make_unique<event_wakes>(executor, segment_, broker_));
    peer_.transport = scheme::shm;
    if (closed_) rings_->close();  // closed while the switching write was under way
    std::error_code ignored;
    handle_.cancel(ignored);  // a read waiting on the pipe goes on with the rings
    watch_pipe();
  }

  // Nothing may come on the pipe after the switch: its end is the peer's (a crash
  // included), any byte a broken peer.
  void watch_pipe() {
    handle_.async_read_some(
        asio::buffer(&watch_->probe, 1), [watch = watch_](std::error_code ec, std::size_t n) {
          pipe_stream* watched = watch->owner;
          if (watched == nullptr || watched->closed_) return;
          if (ec == asio::error::operation_aborted) return;
          watched->rings_->fail(n > 0 ? std::make_error_code(std::errc::protocol_error)
                                      : std::error_code(asio::error::eof));
        });
  }

  // Impersonation works once the client's first bytes have been read (Windows refuses it
  // before with ERROR_CANNOT_IMPERSONATE); the client allows identification only.
  //
  // Nothing in between allocates or throws, and a thread that cannot revert is not left
  // running as the client: the process ends instead (as Microsoft's documentation asks).
  void identify() noexcept {
    identify_ = false;
    alignas(TOKEN_USER) unsigned char buffer[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
    unsigned char sid[SECURITY_MAX_SID_SIZE];
    bool have_sid = false;
    if (!ImpersonateNamedPipeClient(handle_.native_handle())) return;
    HANDLE token = nullptr;
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) {
      DWORD size = 0;
      if (GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &size))
        have_sid = CopySid(sizeof sid, sid, reinterpret_cast<TOKEN_USER*>(buffer)->User.Sid);
      CloseHandle(token);
    }
    if (!RevertToSelf()) std::abort();
    if (have_sid) peer_.sid = sid_text(sid);
  }

  pipe_handle handle_;
  peer_info peer_;
  bool identify_;
  bool broker_;
  shm_options shm_;
  bool closed_ = false;
  std::uint64_t written_ = 0;    // bytes written on the pipe
  std::uint64_t switch_at_ = 0;  // broker: the switch point once offered, else 0
  shm::segment segment_;
  std::unique_ptr<shm::channel> rings_;  // after the switch
  std::shared_ptr<watch_state> watch_;
};

// Instances waiting for a client at once: clients arriving together find one ready
// instead of ERROR_PIPE_BUSY (which they retry, see connect_local).
constexpr int waiting_instances = 4;

struct pipe_listener_state {
  pipe_listener_state(const asio::any_io_executor& io, std::wstring pipe_name,
                      PSECURITY_DESCRIPTOR descriptor, shm_options shm_allowed)
      : executor(io),
        name(std::move(pipe_name)),
        security(descriptor),
        shm(shm_allowed),
        ready(io) {}
  ~pipe_listener_state() { LocalFree(security); }
  asio::any_io_executor executor;
  std::wstring name;
  PSECURITY_DESCRIPTOR security;
  shm_options shm;                    // new connections' switch to shared memory
  ready_streams ready;                // connected clients, waiting for accept()
  std::vector<pipe_handle*> waiting;  // instances in ConnectNamedPipe (closed on close())
  bool running = false;
};

HANDLE create_instance(pipe_listener_state& state, bool first, DWORD& error) {
  SECURITY_ATTRIBUTES attributes{sizeof(SECURITY_ATTRIBUTES), state.security, FALSE};
  // WRITE_DAC: a reload can replace the pipe's DACL through any instance (§3.3).
  DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | WRITE_DAC;
  if (first) open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
  // 64 KiB buffers: a typical socket buffer; the broker coalesces its writes anyway.
  HANDLE handle =
      CreateNamedPipeW(state.name.c_str(), open_mode,
                       PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                       PIPE_UNLIMITED_INSTANCES, 64 * 1024, 64 * 1024, 0, &attributes);
  error = handle == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  return handle;
}

// Waits for a client on `handle` (ConnectNamedPipe, overlapped).
asio::awaitable<void> wait_for_client(pipe_handle& handle, std::error_code& ec) {
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  co_await asio::async_initiate<decltype(token), void(std::error_code, std::size_t)>(
      [&handle](auto handler) {
        asio::windows::overlapped_ptr operation(handle.get_executor(), std::move(handler));
        BOOL connected = ConnectNamedPipe(handle.native_handle(), operation.get());
        DWORD error = GetLastError();
        if (connected || error == ERROR_IO_PENDING) {
          // Completes through the I/O completion port (a synchronous success queues a
          // completion packet too).
          operation.release();
        } else if (error == ERROR_PIPE_CONNECTED) {
          operation.complete(std::error_code(), 0);  // the client came first
        } else {
          operation.complete(system_error(error), 0);
        }
      },
      token);
}

asio::awaitable<void> serve_instances(std::shared_ptr<pipe_listener_state> state,
                                      HANDLE first_instance) {
  HANDLE next = first_instance;
  asio::steady_timer pause(state->executor);
  while (!state->ready.closed()) {
    DWORD error = 0;
    if (next == INVALID_HANDLE_VALUE) next = create_instance(*state, false, error);
    if (next == INVALID_HANDLE_VALUE) {  // out of handles or the like: do not spin
      std::error_code ignored;
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      continue;
    }
    pipe_handle handle(state->executor);
    std::error_code assigned;
    handle.assign(next, assigned);
    if (assigned) {  // not attached to the completion port: drop this instance
      CloseHandle(next);
      next = INVALID_HANDLE_VALUE;
      continue;
    }
    next = INVALID_HANDLE_VALUE;
    state->waiting.push_back(&handle);
    std::error_code ec;
    co_await wait_for_client(handle, ec);
    std::erase(state->waiting, &handle);
    if (state->ready.closed()) co_return;
    if (ec) continue;  // the client gave up; the instance is closed with `handle`
    peer_info peer;
    peer.transport = scheme::named_pipe;
    ULONG pid = 0;
    if (GetNamedPipeClientProcessId(handle.native_handle(), &pid)) {
      peer.pid = static_cast<std::uint32_t>(pid);
      peer.address = "pid " + std::to_string(pid);
    } else {
      peer.address = "pipe";
    }
    state->ready.push(
        std::make_unique<pipe_stream>(std::move(handle), std::move(peer), true, state->shm));
  }
}

class pipe_acceptor final : public acceptor {
 public:
  pipe_acceptor(std::shared_ptr<pipe_listener_state> state, HANDLE first, url where)
      : state_(std::move(state)), first_(first), where_(std::move(where)) {}
  ~pipe_acceptor() override { close(); }

  asio::awaitable<std::unique_ptr<stream>> accept(std::error_code& ec) override {
    auto state = state_;
    if (!state->running) {
      state->running = true;
      for (int i = 0; i < waiting_instances; ++i) {
        asio::co_spawn(state->executor,
                       serve_instances(state, i == 0 ? first_ : INVALID_HANDLE_VALUE),
                       asio::detached);
      }
      first_ = INVALID_HANDLE_VALUE;
    }
    co_return co_await state->ready.next(ec);  // `state` keeps the queue alive
  }

  void close() override {
    if (state_->ready.closed()) return;
    state_->ready.close();
    if (first_ != INVALID_HANDLE_VALUE) CloseHandle(first_);
    first_ = INVALID_HANDLE_VALUE;
    std::error_code ignored;
    for (auto* handle : state_->waiting) handle->close(ignored);  // ends ConnectNamedPipe
  }

  url local_url() const override { return where_; }

  // A reload's new access list. Windows keeps one security descriptor per pipe name,
  // set by the first instance, so the new DACL is written through a live instance
  // (SetSecurityInfo) and kept for instances created after it; clients opening the pipe
  // from then on are checked against it, connections already made stay. The switch to
  // shared memory changes for new connections too.
  std::function<void()> prepare_update(const listen_options& options,
                                       listen_error& error) override {
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    if (!make_security_descriptor(options.pipe_access, descriptor, error)) return {};
    auto owned = std::make_shared<PSECURITY_DESCRIPTOR>(descriptor);
    auto release = std::shared_ptr<void>(nullptr, [owned](void*) {
      if (*owned != nullptr) LocalFree(*owned);
    });
    return [state = state_, first = first_, owned, release, shm = options.shm] {
      state->shm = shm;
      PACL dacl = nullptr;
      BOOL present = FALSE, defaulted = FALSE;
      GetSecurityDescriptorDacl(*owned, &present, &dacl, &defaulted);
      HANDLE live = first != INVALID_HANDLE_VALUE
                        ? first
                        : (state->waiting.empty() ? INVALID_HANDLE_VALUE
                                                  : state->waiting.front()->native_handle());
      if (live != INVALID_HANDLE_VALUE)
        SetSecurityInfo(live, SE_KERNEL_OBJECT,
                        DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, nullptr,
                        nullptr, dacl, nullptr);
      LocalFree(state->security);
      state->security = *owned;  // the state owns it now
      *owned = nullptr;
    };
  }

 private:
  std::shared_ptr<pipe_listener_state> state_;
  HANDLE first_;  // created by listen() to claim the name; served from the first accept()
  url where_;
};

}  // namespace

std::unique_ptr<acceptor> listen_local(const asio::any_io_executor& executor, const url& where,
                                       const listen_options& options, listen_error& error) {
  if (where.kind != scheme::named_pipe) {
    error = {std::make_error_code(std::errc::not_supported),
             "unix:// sockets are not available on Windows; use npipe://"};
    return nullptr;
  }
  // A pipe of that name already there (another broker, or a squatter that created it
  // first) is refused outright; FILE_FLAG_FIRST_PIPE_INSTANCE below closes the race.
  std::wstring name = widen(where.path);
  if (WaitNamedPipeW(name.c_str(), 1) || GetLastError() != ERROR_FILE_NOT_FOUND) {
    error = {std::make_error_code(std::errc::address_in_use),
             "another process already owns " + where.to_string() + "; refusing to share it"};
    return nullptr;
  }
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (!make_security_descriptor(options.pipe_access, descriptor, error)) return nullptr;
  auto state =
      std::make_shared<pipe_listener_state>(executor, std::move(name), descriptor, options.shm);
  DWORD failure = 0;
  HANDLE first = create_instance(*state, true, failure);
  if (first == INVALID_HANDLE_VALUE) {
    // ERROR_ACCESS_DENIED: the name is taken (another broker, or a squatter).
    error = {system_error(failure),
             failure == ERROR_ACCESS_DENIED || failure == ERROR_PIPE_BUSY
                 ? "another process already owns " + where.to_string() + "; refusing to share it"
                 : "cannot create " + where.to_string() + ": " + system_error(failure).message()};
    return nullptr;
  }
  return std::make_unique<pipe_acceptor>(std::move(state), first, where);
}

asio::awaitable<std::unique_ptr<stream>> connect_local(const url& where, const shm_options& shm,
                                                       std::error_code& ec) {
  if (where.kind != scheme::named_pipe) {
    ec = std::make_error_code(std::errc::not_supported);
    co_return nullptr;
  }
  auto executor = co_await asio::this_coro::executor;
  std::wstring name = widen(where.path);
  // Every instance busy: retry for up to 5 s (WaitNamedPipe would block the thread).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  asio::steady_timer pause(executor);
  for (;;) {
    HANDLE handle = CreateFileW(
        name.c_str(), GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES, 0, nullptr,
        OPEN_EXISTING, FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
        nullptr);
    if (handle != INVALID_HANDLE_VALUE) {
      pipe_handle attached(executor);
      attached.assign(handle, ec);
      if (ec) {
        CloseHandle(handle);
        co_return nullptr;
      }
      peer_info peer;
      peer.transport = scheme::named_pipe;
      peer.address = where.path;
      co_return std::make_unique<pipe_stream>(std::move(attached), std::move(peer), false, shm);
    }
    DWORD error = GetLastError();
    if (error == ERROR_FILE_NOT_FOUND) {  // nobody serves that name: no broker
      ec = std::make_error_code(std::errc::no_such_file_or_directory);
      co_return nullptr;
    }
    if (error != ERROR_PIPE_BUSY || std::chrono::steady_clock::now() >= deadline) {
      ec = system_error(error);
      co_return nullptr;
    }
    std::error_code ignored;
    pause.expires_after(std::chrono::milliseconds(10));
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

}  // namespace ipc::transport
