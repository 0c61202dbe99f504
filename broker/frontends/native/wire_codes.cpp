// wire_code: one case per core outcome (a new core errc fails to compile here until it
// has its wire number).
#include "frontends/native/wire_codes.hpp"

namespace ipc::broker {

protocol::errc wire_code(errc code) noexcept {
  using wire = protocol::errc;
  switch (code) {
    case errc::ok: return wire::ok;
    case errc::permission_denied: return wire::permission_denied;
    case errc::invalid_topic: return wire::invalid_topic;
    case errc::invalid_pattern: return wire::invalid_pattern;
    case errc::invalid_queue_name: return wire::invalid_queue_name;
    case errc::payload_too_large: return wire::payload_too_large;
    case errc::headers_too_large: return wire::headers_too_large;
    case errc::unknown_queue: return wire::unknown_queue;
    case errc::queue_full: return wire::queue_full;
    case errc::no_responders: return wire::no_responders;
    case errc::timeout: return wire::timeout;
    case errc::limit_exceeded: return wire::limit_exceeded;
    case errc::unknown_subscription: return wire::unknown_subscription;
    case errc::duplicate_id: return wire::duplicate_id;
    case errc::unknown_delivery: return wire::unknown_delivery;
    case errc::unknown_command: return wire::unknown_command;
    case errc::invalid_argument: return wire::invalid_argument;
    case errc::storage_error: return wire::storage_error;
    case errc::not_implemented: return wire::not_implemented;
    case errc::memory_alarm: return wire::memory_alarm;
    case errc::auth_failed: return wire::auth_failed;
    case errc::shutting_down: return wire::shutting_down;
    case errc::connection_killed: return wire::connection_killed;
    case errc::internal_error: return wire::internal_error;
  }
  return wire::internal_error;
}

}  // namespace ipc::broker
