// Encoders of the client operations (client_ops.hpp): text control lines ending in CRLF.
#include "ipc/nats/client_ops.hpp"

namespace ipc::nats {

namespace {
void append_number(std::string& out, std::uint64_t value) { out += std::to_string(value); }
}  // namespace

void encode_connect(std::string& out, std::string_view options_json) {
  out += "CONNECT ";
  out += options_json;
  out += "\r\n";
}

void encode_pub_line(std::string& out, std::string_view subject, std::string_view reply,
                     std::size_t headers_size, std::size_t payload_size) {
  out += headers_size != 0 ? "HPUB " : "PUB ";
  out += subject;
  out += ' ';
  if (!reply.empty()) {
    out += reply;
    out += ' ';
  }
  if (headers_size != 0) {
    append_number(out, headers_size);
    out += ' ';
  }
  append_number(out, headers_size + payload_size);
  out += "\r\n";
}

void encode_pub(std::string& out, std::string_view subject, std::string_view reply,
                std::string_view headers, std::string_view payload) {
  encode_pub_line(out, subject, reply, headers.size(), payload.size());
  out += headers;
  out += payload;
  out += "\r\n";
}

void encode_sub(std::string& out, std::string_view subject, std::string_view queue_group,
                std::uint64_t sid) {
  out += "SUB ";
  out += subject;
  out += ' ';
  if (!queue_group.empty()) {
    out += queue_group;
    out += ' ';
  }
  append_number(out, sid);
  out += "\r\n";
}

void encode_unsub(std::string& out, std::uint64_t sid, std::uint64_t max_messages) {
  out += "UNSUB ";
  append_number(out, sid);
  if (max_messages != 0) {
    out += ' ';
    append_number(out, max_messages);
  }
  out += "\r\n";
}

void encode_ping(std::string& out) { out += "PING\r\n"; }
void encode_pong(std::string& out) { out += "PONG\r\n"; }

}  // namespace ipc::nats
