// systemd_notifier: one SOCK_DGRAM Unix socket, one sendto(2) per message.
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "server/systemd_notifier.hpp"

namespace ipc::broker {
namespace {

std::string environment_value(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::uint64_t parse_number(const std::string& text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

}  // namespace

systemd_notifier::systemd_notifier() {
  address_ = environment_value("NOTIFY_SOCKET");
  if (address_.empty() || address_.size() >= sizeof(sockaddr_un{}.sun_path)) return;
  if (address_[0] != '/' && address_[0] != '@') return;  // e.g. vsock: not ours to speak
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  // WATCHDOG_PID, when set, names the process the watchdog is meant for.
  auto watchdog_pid = environment_value("WATCHDOG_PID");
  if (!watchdog_pid.empty() && parse_number(watchdog_pid) != static_cast<std::uint64_t>(::getpid()))
    return;
  // sd_watchdog_enabled(3): ping at half the interval.
  watchdog_interval_ =
      std::chrono::microseconds(parse_number(environment_value("WATCHDOG_USEC")) / 2);
}

systemd_notifier::~systemd_notifier() {
  if (fd_ >= 0) ::close(fd_);
}

void systemd_notifier::send(const std::string& message) {
  if (fd_ < 0) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, address_.data(), address_.size());
  if (address_[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size());
  // A lost notification is not worth failing for: the service manager times us out.
  (void)::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&address), length);
}

void systemd_notifier::ready(std::string_view status) {
  send("READY=1\nSTATUS=" + std::string(status) + "\n");
}

void systemd_notifier::reloading() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1000000 +
              static_cast<std::uint64_t>(now.tv_nsec) / 1000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading\n");
}

void systemd_notifier::stopping() { send("STOPPING=1\nSTATUS=stopping\n"); }

void systemd_notifier::status(std::string_view status) {
  send("STATUS=" + std::string(status) + "\n");
}

void systemd_notifier::watchdog() { send("WATCHDOG=1\n"); }

}  // namespace ipc::broker
