// Protocol error codes (docs/protocol.md §6): the numbers carried in ERROR frames and
// ADMIN_RESULT statuses, exposed as std::error_code through ipc::protocol::category().
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace ipc::protocol {

// Values are wire numbers: never renumber, only append.
enum class errc : std::uint16_t {
  ok = 0,
  malformed_frame = 1,
  frame_too_large = 2,
  unknown_frame_type = 3,
  unsupported_version = 4,
  handshake_required = 5,
  auth_failed = 6,
  permission_denied = 7,
  invalid_topic = 8,
  invalid_pattern = 9,
  invalid_queue_name = 10,
  payload_too_large = 11,
  headers_too_large = 12,
  unknown_queue = 13,
  queue_full = 14,
  no_responders = 15,
  timeout = 16,
  slow_consumer = 17,
  limit_exceeded = 18,
  unknown_subscription = 19,
  duplicate_id = 20,
  unknown_delivery = 21,
  unknown_command = 22,
  invalid_argument = 23,
  storage_error = 24,
  shutting_down = 25,
  connection_killed = 26,
  keepalive_timeout = 27,
  internal_error = 28,
  not_implemented = 29,
  not_connected = 30,  // client side only: no connection to a broker right now
  memory_alarm = 31,   // the broker holds more than limits.max_memory: try again later
};

inline constexpr std::uint16_t max_errc_value = 31;

const std::error_category& category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// Stable snake_case name of a code ("no_responders"); "unknown" for numbers not listed.
std::string_view errc_name(std::uint16_t code) noexcept;

}  // namespace ipc::protocol

template <>
struct std::is_error_code_enum<ipc::protocol::errc> : std::true_type {};
