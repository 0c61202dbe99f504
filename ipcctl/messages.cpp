// ipcctl message helpers shared by pub/sub, send/recv and req/reply: headers, payloads
// from stdin, printing received messages and waiting for them.
#include <atomic>
#include <csignal>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "ipc/types.hpp"

namespace ipcctl {
namespace {
std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }
}  // namespace

bool parse_headers(const std::vector<std::string>& items, ipc::headers& out) {
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "ipcctl: header '" << item << "' is not of the form key=value\n";
      return false;
    }
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return true;
}

bool add_attributes(bool retain, const std::string& ttl, ipc::headers& out) {
  if (retain) out.push_back(ipc::retain());
  if (ttl.empty()) return true;
  auto parsed = parse_duration(ttl);
  if (!parsed || parsed->count() <= 0) {
    std::cerr << "ipcctl: --ttl '" << ttl << "' is not a positive duration (e.g. 500ms, 30s, 5m)\n";
    return false;
  }
  out.push_back(ipc::time_to_live(*parsed));
  return true;
}

std::string read_payload(const std::optional<std::string>& argument) {
  if (argument && *argument != "-") return *argument;
  return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
}

std::string printer::render(const ipc::message& m) const {
  if (json_) {
    nlohmann::json line{{"topic", m.topic()}, {"id", m.id()}, {"timestamp_ns", m.timestamp_ns()}};
    if (is_valid_utf8(m.payload()))
      line["payload"] = m.payload();
    else
      line["payload_base64"] = base64(m.payload());
    if (!m.reply_to().empty()) line["reply_to"] = m.reply_to();
    if (m.delivery_count() != 0) line["delivery_count"] = m.delivery_count();
    if (m.retained()) line["retained"] = true;
    auto hdrs = m.headers();
    if (!hdrs.empty()) {
      nlohmann::json h = nlohmann::json::object();
      for (const auto& [k, v] : hdrs) h[k] = v;
      line["headers"] = h;
    }
    return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string text;
  if (verbose_) text.append(m.topic()).append(" ");
  return text.append(m.payload()).append("\n");
}

bool printer::print(const ipc::message& m) {
  std::lock_guard lock(mutex_);
  if (count_ != 0 && printed_ >= count_) return false;
  if (!quiet_) std::cout << render(m) << std::flush;
  if (++printed_ == count_) done_.notify_all();
  return true;
}

std::uint64_t printer::printed() const {
  std::lock_guard lock(mutex_);
  return printed_;
}

int printer::wait(const std::optional<std::chrono::milliseconds>& timeout,
                  const std::string& what) {
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  auto deadline =
      std::chrono::steady_clock::now() + timeout.value_or(std::chrono::hours(24 * 365 * 100));
  std::unique_lock lock(mutex_);
  while (!interrupted && (count_ == 0 || printed_ < count_)) {
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(what, ipc::make_error_code(ipc::errc::timeout),
                  std::to_string(printed_) + " message(s) received");
    // Signals cannot notify a condition variable safely: look at the flag every 100 ms.
    done_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return exit_ok;
}

}  // namespace ipcctl
