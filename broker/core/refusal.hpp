// An operation's refusal: an error code and a sentence saying why, for the client and
// the log. Every core operation that can be refused returns one (empty: done).
#pragma once

#include <string>

#include "core/errc.hpp"

namespace ipc::broker {

struct refusal {
  errc code = errc::ok;
  std::string message;
  explicit operator bool() const { return code != errc::ok; }
};

}  // namespace ipc::broker
