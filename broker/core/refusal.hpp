// An operation's refusal: an error code and a sentence saying why, for the client and
// the log. Every core operation that can be refused returns one (empty: done).
#pragma once

#include <string>

#include "ipc/protocol/errc.hpp"

namespace ipc::broker {

struct refusal {
  protocol::errc code = protocol::errc::ok;
  std::string message;
  explicit operator bool() const { return code != protocol::errc::ok; }
};

}  // namespace ipc::broker
