// ipcctl shared pieces: options, exit codes, tables, encodings.
#include "common.hpp"

#include <charconv>
#include <iostream>

namespace ipcctl {

void add_global_options(CLI::App& app, global_options& options) {
  app.add_option("--url", options.url, "broker URL (default: $IPCD_URL, then the local socket)");
  app.add_option("--user", options.user, "user name");
  app.add_option("--password", options.password, "password (or env IPCD_PASSWORD)")
      ->envname("IPCD_PASSWORD");
  app.add_option("--token", options.token, "authentication token (or env IPCD_TOKEN)")
      ->envname("IPCD_TOKEN");
  app.add_option("--ca", options.ca, "CA certificate file for tls://");
  app.add_option("--cert", options.cert, "client certificate file for tls://");
  app.add_option("--key", options.key, "client key file for tls://");
  app.add_option("--timeout", options.timeout_text, "give up after DURATION (e.g. 500ms, 5s)");
  app.add_flag("--json", options.json, "machine-readable JSON output");
  app.add_flag("!--no-shm", options.shared_memory,
               "on unix://, stay on the socket (do not ask for shared memory)");
  app.add_option("--shm-spin", options.shm_spin_us,
                 "on shared memory, poll the ring this many µs before sleeping (default 0)")
      ->check(CLI::Range(0u, 1000u));
}

ipc::client_options global_options::client_options() const {
  ipc::client_options out;
  out.url = url.empty() ? ipc::default_url() : url;
  out.client_name = "ipcctl";
  out.user = user;
  out.password = password;
  out.token = token;
  out.tls_ca = ca;
  out.tls_cert = cert;
  out.tls_key = key;
  out.shared_memory = shared_memory;
  out.shm_spin_us = shm_spin_us;
  if (timeout) {
    out.connect_timeout = *timeout;
    out.request_timeout = *timeout;
  }
  return out;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || value < 0) return std::nullopt;
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  double scale = 1000;  // seconds by default
  if (unit == "ms")
    scale = 1;
  else if (unit == "s" || unit.empty())
    scale = 1000;
  else if (unit == "m")
    scale = 60000;
  else
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<long long>(value * scale));
}

int exit_code_for(std::error_code ec) {
  if (!ec) return exit_ok;
  if (ec.category() != ipc::error_category()) return exit_connect;
  switch (static_cast<ipc::errc>(ec.value())) {
    case ipc::errc::auth_failed:
    case ipc::errc::not_connected:
    case ipc::errc::unsupported_version:
    case ipc::errc::shutting_down:
    case ipc::errc::connection_killed: return exit_connect;
    case ipc::errc::timeout:
    case ipc::errc::no_responders: return exit_timeout;
    default: return exit_refused;
  }
}

int fail(const std::string& what, std::error_code ec, const std::string& detail) {
  std::cerr << "ipcctl: " << what << ": " << ec.message();
  if (!detail.empty() && detail != ec.message()) std::cerr << " (" << detail << ")";
  std::cerr << "\n";
  return exit_code_for(ec);
}

int connect(ipc::Client& client, const std::string& url) {
  auto ec = client.connect();
  return ec ? fail("cannot connect to " + url, ec, client.last_error_message()) : exit_ok;
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = static_cast<std::uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<std::uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<std::uint8_t>(bytes[i + 2]);
    out += alphabet[(chunk >> 18) & 63];
    out += alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? alphabet[chunk & 63] : '=';
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  constexpr std::size_t invalid = ~std::size_t{0};
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = c < 0x80             ? 0
                        : (c & 0xE0) == 0xC0 ? 1
                        : (c & 0xF0) == 0xE0 ? 2
                        : (c & 0xF8) == 0xF0 ? 3
                                             : invalid;
    if (extra == invalid || text.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<std::uint8_t>(text[i + k]) & 0xC0) != 0x80) return false;
    i += extra + 1;
  }
  return true;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  std::size_t at = 0;
  auto number = [&](std::size_t digits, int& out) {
    if (at + digits > text.size()) return false;
    out = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      char c = text[at + i];
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    at += digits;
    return true;
  };
  auto expect = [&](std::string_view one_of) {
    if (at >= text.size() || one_of.find(text[at]) == std::string_view::npos) return false;
    ++at;
    return true;
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, year) || !expect("-") || !number(2, month) || !expect("-") || !number(2, day) ||
      !expect("Tt ") || !number(2, hour) || !expect(":") || !number(2, minute) || !expect(":") ||
      !number(2, second))
    return std::nullopt;
  std::chrono::nanoseconds fraction{0};
  if (at < text.size() && text[at] == '.') {
    ++at;
    std::int64_t scale = 100'000'000, value = 0;
    std::size_t start = at;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (scale > 0) value += (text[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
    fraction = std::chrono::nanoseconds(value);
  }
  int offset_minutes = 0;
  if (expect("Zz")) {
  } else if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
    int sign = text[at++] == '-' ? -1 : 1, oh = 0, om = 0;
    if (!number(2, oh) || !expect(":") || !number(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (at != text.size()) return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year(year),
                                   std::chrono::month(static_cast<unsigned>(month)),
                                   std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  auto time = std::chrono::sys_days(date) + std::chrono::hours(hour) +
              std::chrono::minutes(minute - offset_minutes) + std::chrono::seconds(second) +
              fraction;
  return std::chrono::time_point_cast<std::chrono::system_clock::duration>(time);
}

}  // namespace ipcctl
