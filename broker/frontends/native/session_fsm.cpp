// session_fsm: frame admission per state and the HELLO handshake.
#include "frontends/native/session_fsm.hpp"

namespace ipc::broker {

using protocol::errc;
using protocol::frame_type;

namespace {

// Frames only a broker sends; a client sending one is breaking the protocol.
bool broker_only(frame_type type) {
  switch (type) {
    case frame_type::welcome:
    case frame_type::error:
    case frame_type::ok:
    case frame_type::message:
    case frame_type::deliver:
    case frame_type::response:
    case frame_type::admin_result: return true;
    default: return false;
  }
}

}  // namespace

errc session_fsm::admit(frame_type type) const {
  switch (state_) {
    case session_state::awaiting_hello:
      return type == frame_type::hello ? errc::ok : errc::handshake_required;
    case session_state::open:
      // session::handle_frame lets a PUBLISH through here without asking (the most
      // common frame): a rule for PUBLISH in this state belongs there too.
      if (type == frame_type::hello) return errc::handshake_required;
      return broker_only(type) ? errc::unknown_frame_type : errc::ok;
    case session_state::closed: return errc::shutting_down;
  }
  return errc::internal_error;
}

handshake_result session_fsm::on_hello(const protocol::hello_frame& hello) {
  handshake_result result;
  std::string_view client_name;
  if (hello.properties.find("client_name", client_name)) result.client_name = client_name;
  if (hello.min_version > protocol::protocol_version ||
      hello.max_version < protocol::protocol_version || hello.min_version > hello.max_version) {
    result.error = errc::unsupported_version;
    result.message = "this broker speaks protocol version 1 only";
  }
  // The mechanism and credentials are the authenticator's (docs/protocol.md §3.1.2).
  state_ = result.error == errc::ok ? session_state::open : session_state::closed;
  return result;
}

}  // namespace ipc::broker
