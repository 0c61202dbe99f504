// The core's expected outcomes (DESIGN rule 4): why an operation was refused or a
// connection is ended. Front-ends translate them to their wire at their edge (the native
// protocol's error numbers, MQTT reason codes); the core never sees a wire number.
#pragma once

#include <cstdint>
#include <string_view>

namespace ipc::broker {

enum class errc : std::uint8_t {
  ok,
  // Refusals of one operation; the connection stays usable.
  permission_denied,     // the user may not (docs/security.md §3)
  invalid_topic,         // topic or reply address breaks the grammar or the '$' rule
  invalid_pattern,       // subscription or binding pattern breaks the grammar
  invalid_queue_name,    // not [A-Za-z0-9._-]{1,255}
  payload_too_large,     // over limits.max_payload
  headers_too_large,     // over limits.max_headers or max_header_bytes
  unknown_queue,         // no such queue, and it may not be created
  queue_full,            // over the queue's max_length or max_bytes
  no_responders,         // a request nobody can answer
  timeout,               // a request without a reply in time
  limit_exceeded,        // a connection, subscription, request or queue limit
  unknown_subscription,  // no subscription with that id
  duplicate_id,          // an id already in use on this connection
  unknown_delivery,      // no unacknowledged delivery with that tag or id
  unknown_command,       // no admin command of that name
  invalid_argument,      // an argument out of range or of the wrong shape
  storage_error,         // the durable log could not take it
  not_implemented,       // this broker cannot do it (reload without a config file)
  memory_alarm,          // the broker holds more than limits.max_memory (core/memory_gauge.hpp)
  // Reasons the core ends a connection.
  auth_failed,        // refused at authentication, or credentials withdrawn by a reload
  shutting_down,      // the broker is stopping
  connection_killed,  // an administrator closed it
  internal_error,     // a broken invariant met while serving this connection
};

// A stable snake_case name ("queue_full"), for logs and JSON answers.
std::string_view errc_name(errc code) noexcept;

}  // namespace ipc::broker
