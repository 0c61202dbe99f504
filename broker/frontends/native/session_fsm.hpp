// The sans-I/O half of a session: which frames are allowed in which state, and the
// HELLO's version negotiation (authentication is the authenticator's). No sockets here.
#pragma once

#include <cstdint>
#include <string>

#include "ipc/protocol/errc.hpp"
#include "ipc/protocol/frames.hpp"

namespace ipc::broker {

enum class session_state { awaiting_hello, open, closed };

struct handshake_result {
  protocol::errc error = protocol::errc::ok;  // ok: send WELCOME; else a fatal ERROR
  std::string message;                        // for the ERROR frame and the log
  std::string client_name;                    // "client_name" property, for conn list
};

class session_fsm {
 public:
  session_state state() const { return state_; }

  // Whether a frame of this type may arrive now; a non-ok result is fatal.
  protocol::errc admit(protocol::frame_type type) const;

  // Checks HELLO's magic-less fields (versions) in awaiting_hello; moves to open on
  // success, closed on failure.
  handshake_result on_hello(const protocol::hello_frame& hello);

  void close() { state_ = session_state::closed; }

 private:
  session_state state_ = session_state::awaiting_hello;
};

}  // namespace ipc::broker
