// errc_name: the core's outcomes by name (the same names as docs/protocol.md §6.1's).
#include "core/errc.hpp"

namespace ipc::broker {

std::string_view errc_name(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::permission_denied: return "permission_denied";
    case errc::invalid_topic: return "invalid_topic";
    case errc::invalid_pattern: return "invalid_pattern";
    case errc::invalid_queue_name: return "invalid_queue_name";
    case errc::payload_too_large: return "payload_too_large";
    case errc::headers_too_large: return "headers_too_large";
    case errc::unknown_queue: return "unknown_queue";
    case errc::queue_full: return "queue_full";
    case errc::no_responders: return "no_responders";
    case errc::timeout: return "timeout";
    case errc::limit_exceeded: return "limit_exceeded";
    case errc::unknown_subscription: return "unknown_subscription";
    case errc::duplicate_id: return "duplicate_id";
    case errc::unknown_delivery: return "unknown_delivery";
    case errc::unknown_command: return "unknown_command";
    case errc::invalid_argument: return "invalid_argument";
    case errc::storage_error: return "storage_error";
    case errc::not_implemented: return "not_implemented";
    case errc::memory_alarm: return "memory_alarm";
    case errc::auth_failed: return "auth_failed";
    case errc::shutting_down: return "shutting_down";
    case errc::connection_killed: return "connection_killed";
    case errc::internal_error: return "internal_error";
  }
  return "unknown";
}

}  // namespace ipc::broker
