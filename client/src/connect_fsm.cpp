// connect_fsm: HELLO by credentials, the first answer read frame by frame.
#include "connect_fsm.hpp"

#include <algorithm>
#include <cstdint>

namespace ipc::detail {

namespace {
// Frames from the broker are a maximal message plus its fields, or an admin answer
// (conn.list grows with the number of connections): the client trusts its broker up to
// max_payload plus this margin, which covers topic, reply_to and headers at their wire
// maximum (about 640 KiB) and admin answers listing tens of thousands of connections.
constexpr std::uint32_t frame_margin = 16 * 1024 * 1024;
}  // namespace

connect_fsm::connect_fsm(const client_options& options, bool ask_shared_memory)
    : options_(options),
      ask_shared_memory_(ask_shared_memory),
      // A client has few connections and may receive floods: it always reads 64 KiB at a
      // time (the broker's connections start small instead, docs/architecture.md §3).
      reader_(std::make_unique<protocol::frame_reader>(protocol::max_handshake_frame, 64 * 1024,
                                                       64 * 1024)) {}

void connect_fsm::hello(protocol::byte_buffer& out) const {
  std::vector<std::pair<std::string_view, std::string_view>> props{
      {"client_name", options_.client_name}};
  if (ask_shared_memory_) {
    props.emplace_back("shm", "1");
    props.emplace_back("shm_token", "1");  // we can open the segment a WELCOME names
  }
  std::string_view mechanism = "anonymous";
  if (!options_.token.empty()) {
    mechanism = "token";
    props.emplace_back("token", options_.token);
  } else if (!options_.user.empty()) {
    mechanism = "password";
    props.emplace_back("user", options_.user);
    props.emplace_back("password", options_.password);
  }
  // The will's properties (docs/protocol.md §3.1.4); the strings live until encoded.
  std::vector<std::string> owned;
  if (const auto& will = options_.will) {
    owned.reserve(will->headers.size() + 1);
    props.emplace_back("will_topic", will->topic);
    props.emplace_back("will_payload", will->payload);
    if (will->retain) props.emplace_back("will_retain", "1");
    if (will->delay.count() > 0) {
      owned.push_back(std::to_string(will->delay.count()));
      props.emplace_back("will_delay_ms", owned.back());
    }
    for (const auto& [key, value] : will->headers) {
      owned.push_back("will_header:" + key);
      props.emplace_back(owned.back(), value);
    }
  }
  protocol::encode_hello(out, mechanism, props);
}

connect_fsm::state connect_fsm::fail(std::error_code error, std::string message) {
  error_ = error;
  message_ = std::move(message);
  return state_ = state::failed;
}

connect_fsm::state connect_fsm::commit(std::size_t n) {
  if (state_ != state::awaiting_welcome) return state_;
  reader_->commit(n);
  protocol::raw_frame frame;
  protocol::errc error = protocol::errc::ok;
  auto status = reader_->next(frame, error);
  if (status == protocol::read_status::need_more) return state_;
  if (status == protocol::read_status::error) return fail(make_error_code(error));
  if (frame.type == protocol::frame_type::error) {
    protocol::error_frame refused;
    if (protocol::decode(frame, refused) != protocol::errc::ok)
      return fail(make_error_code(protocol::errc::malformed_frame));
    return fail(make_error_code(static_cast<protocol::errc>(refused.code)),
                std::string(refused.message));
  }
  protocol::welcome_frame welcome;
  if (frame.type != protocol::frame_type::welcome ||
      protocol::decode(frame, welcome) != protocol::errc::ok)
    return fail(make_error_code(protocol::errc::malformed_frame));
  connection_id_ = welcome.connection_id;
  max_payload_ = welcome.max_payload;
  std::string_view shm;
  shared_memory_ = ask_shared_memory_ && welcome.properties.find("shm", shm) && shm == "1";
  std::string_view token;
  if (shared_memory_ && welcome.properties.find("shm_token", token)) shm_token_ = token;
  std::string_view refusal;
  if (ask_shared_memory_ && !shared_memory_ && welcome.properties.find("shm_error", refusal))
    shm_refusal_ = refusal;
  std::uint64_t limit = std::uint64_t{welcome.max_payload} + frame_margin;
  reader_->set_max_frame(static_cast<std::uint32_t>(std::min<std::uint64_t>(limit, UINT32_MAX)));
  return state_ = state::ready;
}

}  // namespace ipc::detail
