// Splits the byte stream a NATS server sends into operations (the NATS client protocol,
// docs.nats.io "Client Protocol"): INFO, MSG, HMSG, PING, PONG, +OK and -ERR. Operation
// names are case-insensitive and arguments are separated by spaces or tabs, as the server's
// own parser allows; a control line ends with CRLF (a bare LF is accepted). Sans-I/O: the
// caller reads into prepare(), commits, then takes operations with next() until need_more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ipc::nats {

// Where the numbers come from: 4096 is nats-server's MAX_CONTROL_LINE_SIZE (a longer line
// is an error there too); 64 MiB is nats-server's upper bound for max_payload.
struct reader_limits {
  std::size_t max_control_line = 4096;
  std::size_t max_payload = 64ull * 1024 * 1024;  // header and payload bytes of one message
};

enum class op_kind { info, msg, ping, pong, ok, err };

// One operation. Views point into the reader's buffer: valid until the next prepare().
struct server_op {
  op_kind kind = op_kind::ping;
  std::string_view text;     // INFO: the JSON object; -ERR: the message, quotes removed
  std::string_view subject;  // MSG / HMSG
  std::string_view reply;    // MSG / HMSG, "" when none
  std::uint64_t sid = 0;
  std::string_view headers;  // HMSG: the whole header block ("NATS/1.0…\r\n\r\n"); MSG: ""
  std::string_view payload;
};

enum class read_status { need_more, op, error };

class server_reader {
 public:
  explicit server_reader(reader_limits limits = {}) : limits_(limits) {}

  // Room for at least `at_least` more bytes (more when a started message needs it).
  std::span<char> prepare(std::size_t at_least = 4096);
  void commit(std::size_t n) { end_ += n; }
  // The next whole operation, need_more, or error with error_text() saying why; after an
  // error the stream cannot be read further.
  read_status next(server_op& out);
  const std::string& error_text() const { return error_; }
  // A larger payload bound once the server's INFO told its max_payload.
  void set_max_payload(std::size_t bytes) { limits_.max_payload = bytes; }
  std::size_t buffered() const { return end_ - begin_; }

 private:
  read_status fail(std::string why);
  read_status parse_line(std::string_view line, std::size_t line_end, server_op& out);
  read_status parse_message(std::string_view args, bool with_headers, std::size_t line_end,
                            server_op& out);

  reader_limits limits_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  std::size_t wanted_ = 0;  // bytes a started message needs in all, from begin_
  std::string error_;
  bool failed_ = false;
};

}  // namespace ipc::nats
