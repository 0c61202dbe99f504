// raw_client on POSIX sockets (unix and tcp), reads bounded by poll() deadlines.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "ipc/transport/url.hpp"
#include "raw_client.hpp"

namespace ipc::test {

raw_client::raw_client(const std::string& url_text) {
  auto parsed = transport::parse_url(url_text);
  if (!parsed.value) throw std::runtime_error("bad url " + url_text);
  const auto& url = *parsed.value;
  if (url.kind == transport::scheme::unix_socket) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, url.path.c_str(), sizeof address.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("connect " + url_text + ": " + std::strerror(errno));
  } else {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(url.port);
    ::inet_pton(AF_INET, url.host.c_str(), &address.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
      throw std::runtime_error("connect " + url_text + ": " + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

void raw_client::send(const std::vector<std::uint8_t>& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the broker may have closed us: tests check that separately
    sent += static_cast<std::size_t>(n);
  }
}

std::vector<std::uint8_t> raw_client::receive(std::chrono::milliseconds limit) {
  if (eof_) return {};
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return {};
  std::vector<std::uint8_t> data(64 * 1024);
  auto n = ::recv(fd_, data.data(), data.size(), 0);
  if (n <= 0) {
    eof_ = true;
    return {};
  }
  data.resize(static_cast<std::size_t>(n));
  return data;
}

bool raw_client::handshake() {
  protocol::byte_buffer hello;
  protocol::encode_hello(hello, "anonymous", {});
  send(hello);
  auto frame = next();
  return frame && frame->type == protocol::frame_type::welcome;
}

std::optional<received_frame> raw_client::next(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    protocol::raw_frame frame;
    protocol::errc error{};
    if (reader_.next(frame, error) == protocol::read_status::frame)
      return received_frame{frame.type, {frame.body.begin(), frame.body.end()}};
    if (eof_) return std::nullopt;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    auto space = reader_.prepare();
    auto n = ::recv(fd_, space.data(), space.size(), 0);
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    reader_.commit(static_cast<std::size_t>(n));
  }
}

bool raw_client::closed_by_peer(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!next(std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now())) &&
        eof_)
      return true;
  }
  return eof_;
}

std::optional<std::pair<std::uint16_t, std::string>> raw_client::next_error(
    std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (auto frame = next(std::chrono::duration_cast<std::chrono::milliseconds>(
             deadline - std::chrono::steady_clock::now()))) {
    if (frame->type != protocol::frame_type::error) continue;
    protocol::error_frame e;
    if (protocol::decode(frame->view(), e) != protocol::errc::ok) return std::nullopt;
    return std::make_pair(e.code, std::string(e.message));
  }
  return std::nullopt;
}

}  // namespace ipc::test
