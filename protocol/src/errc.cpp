// The ipc::protocol error category: names and messages of the wire error codes.
#include "ipc/protocol/errc.hpp"

#include <array>
#include <string>

namespace ipc::protocol {
namespace {

struct code_text {
  std::string_view name;
  std::string_view message;
};

constexpr std::array<code_text, max_errc_value + 1> texts{{
    {"ok", "success"},
    {"malformed_frame", "malformed frame"},
    {"frame_too_large", "frame larger than the broker accepts"},
    {"unknown_frame_type", "unknown frame type"},
    {"unsupported_version", "unsupported protocol version"},
    {"handshake_required", "the first frame must be HELLO, and only the first"},
    {"auth_failed", "authentication failed"},
    {"permission_denied", "permission denied"},
    {"invalid_topic", "invalid topic"},
    {"invalid_pattern", "invalid subscription pattern"},
    {"invalid_queue_name", "invalid queue name"},
    {"payload_too_large", "payload larger than max_payload"},
    {"headers_too_large", "too many or too large headers"},
    {"unknown_queue", "no such queue"},
    {"queue_full", "queue is full"},
    {"no_responders", "no responders"},
    {"timeout", "timed out"},
    {"slow_consumer", "slow consumer: pending output over limits.max_pending_bytes"},
    {"limit_exceeded", "limit exceeded"},
    {"unknown_subscription", "no such subscription"},
    {"duplicate_id", "id already in use on this connection"},
    {"unknown_delivery", "no such delivery"},
    {"unknown_command", "unknown admin command"},
    {"invalid_argument", "invalid argument"},
    {"storage_error", "storage error"},
    {"shutting_down", "broker is shutting down"},
    {"connection_killed", "connection closed by an administrator"},
    {"keepalive_timeout", "keepalive timeout"},
    {"internal_error", "internal error"},
    {"not_implemented", "not implemented by this broker"},
    {"not_connected", "not connected to a broker"},
    {"memory_alarm", "broker memory over limits.max_memory"},
}};

class protocol_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ipc"; }
  std::string message(int value) const override {
    if (value >= 0 && value <= max_errc_value) return std::string(texts[value].message);
    return "unknown error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const protocol_category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

std::string_view errc_name(std::uint16_t code) noexcept {
  return code <= max_errc_value ? texts[code].name : std::string_view("unknown");
}

}  // namespace ipc::protocol
