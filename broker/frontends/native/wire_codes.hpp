// The native protocol's edge for the core's outcomes: each core errc as the error number
// of docs/protocol.md §6.1 (ERROR frames, ADMIN_RESULT statuses).
#pragma once

#include "core/errc.hpp"
#include "ipc/protocol/errc.hpp"

namespace ipc::broker {

protocol::errc wire_code(errc code) noexcept;

}  // namespace ipc::broker
