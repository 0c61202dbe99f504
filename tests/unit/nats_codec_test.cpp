// The NATS client-protocol codec (nats/): the server-operation reader at every split point
// and byte by byte, its limits and malformed input; the client encoders; the NATS/1.0
// header block both ways; and the topic ↔ subject mapping with its escapes.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ipc/nats/client_ops.hpp"
#include "ipc/nats/server_reader.hpp"
#include "ipc/nats/subjects.hpp"

using namespace ipc::nats;

namespace {

std::string describe(const server_op& op) {
  switch (op.kind) {
    case op_kind::info: return "INFO " + std::string(op.text);
    case op_kind::err: return "ERR " + std::string(op.text);
    case op_kind::ping: return "PING";
    case op_kind::pong: return "PONG";
    case op_kind::ok: return "OK";
    case op_kind::msg:
      return "MSG " + std::string(op.subject) + " " + std::to_string(op.sid) + " [" +
             std::string(op.reply) + "] h=" + std::to_string(op.headers.size()) +
             " p=" + std::string(op.payload);
  }
  return "?";
}

// Feeds `input` in pieces (the first `first` bytes, then `step` at a time), with read
// sizes as small as the pieces: the operations read, or "ERROR why" at an error.
std::vector<std::string> read_all(std::string_view input, std::size_t first, std::size_t step,
                                  reader_limits limits = {}) {
  server_reader reader(limits);
  std::vector<std::string> out;
  std::size_t at = 0;
  bool head = true;
  while (at < input.size()) {
    std::size_t n = std::min(input.size() - at, head ? first : step);
    head = false;
    auto room = reader.prepare(n);
    REQUIRE(room.size() >= n);
    std::memcpy(room.data(), input.data() + at, n);
    reader.commit(n);
    at += n;
    server_op op;
    while (true) {
      auto status = reader.next(op);
      if (status == read_status::need_more) break;
      if (status == read_status::error) {
        out.push_back("ERROR " + reader.error_text());
        return out;
      }
      out.push_back(describe(op));
    }
  }
  return out;
}

std::vector<std::string> read_whole(std::string_view input, reader_limits limits = {}) {
  return read_all(input, input.size(), input.size(), limits);
}

}  // namespace

TEST_CASE("nats reader: every operation at every split point and byte by byte") {
  std::string input =
      "INFO {\"server_id\":\"N1\",\"max_payload\":1048576}\r\n"
      "PING\r\n"
      "pong\r\n"
      "+OK\r\n"
      "MSG a.b 1 5\r\nhello\r\n"
      "MSG  a.b\t2  _INBOX.x  0\r\n\r\n"  // runs of spaces and tabs, an empty payload
      "HMSG a.c 3 24 29\r\nNATS/1.0\r\nA: 1\r\nB: 2\r\n\r\nworld\r\n"
      "HMSG a.d 4 r.1 12 12\r\nNATS/1.0\r\n\r\n\r\n"
      "-ERR 'Authorization Violation'\r\n"
      "msg x 9 3\nabc\r\n";  // a bare LF ends a control line
  std::vector<std::string> expected{"INFO {\"server_id\":\"N1\",\"max_payload\":1048576}",
                                    "PING",
                                    "PONG",
                                    "OK",
                                    "MSG a.b 1 [] h=0 p=hello",
                                    "MSG a.b 2 [_INBOX.x] h=0 p=",
                                    "MSG a.c 3 [] h=24 p=world",
                                    "MSG a.d 4 [r.1] h=12 p=",
                                    "ERR Authorization Violation",
                                    "MSG x 9 [] h=0 p=abc"};
  CHECK(read_whole(input) == expected);
  for (std::size_t split = 1; split < input.size(); ++split) {
    CAPTURE(split);
    REQUIRE(read_all(input, split, input.size()) == expected);
  }
  CHECK(read_all(input, 1, 1) == expected);
  CHECK(read_all(input, 7, 3) == expected);
}

TEST_CASE("nats reader: a large message grows the buffer and is read whole") {
  std::string payload(300000, 'x');
  std::string input =
      "MSG big 1 " + std::to_string(payload.size()) + "\r\n" + payload + "\r\nPING\r\n";
  auto ops = read_all(input, 100, 65536);
  REQUIRE(ops.size() == 2);
  CHECK(ops[0] == "MSG big 1 [] h=0 p=" + payload);
  CHECK(ops[1] == "PING");
}

TEST_CASE("nats reader: malformed input and limits are errors that name the problem") {
  auto error_of = [](std::string_view input, reader_limits limits = {}) {
    auto ops = read_whole(input, limits);
    REQUIRE(!ops.empty());
    return ops.back();
  };
  CHECK(error_of("HELLO\r\n") == "ERROR unknown operation 'HELLO'");
  CHECK(error_of("PING x\r\n") == "ERROR unknown operation 'PING x'");
  CHECK(error_of("MSG a 1\r\n") == "ERROR MSG with a wrong number of arguments");
  CHECK(error_of("MSG a 1 b c d\r\n") == "ERROR MSG with a wrong number of arguments");
  CHECK(error_of("MSG a x 1\r\nx\r\n") == "ERROR MSG with a bad sid");
  CHECK(error_of("MSG a 1 -1\r\n") == "ERROR MSG with a bad size");
  CHECK(error_of("MSG a 1 3\r\nabcd\r\n") == "ERROR MSG payload not followed by CRLF");
  CHECK(error_of("HMSG a 1 9 5\r\n") == "ERROR HMSG with a bad header size");
  CHECK(error_of("HMSG a 1 4 5\r\n") == "ERROR HMSG header block too short");
  CHECK(error_of("INFO x\r\n") == "ERROR INFO without a JSON object");
  CHECK(error_of("MSG a 1 11\r\n", {4096, 10}) == "ERROR MSG of 11 bytes is over the limit (10)");
  CHECK(error_of(std::string(5000, 'A')) == "ERROR control line longer than 4096 bytes");
  CHECK(error_of("MSG " + std::string(5000, 'a') + " 1 1\r\n") ==
        "ERROR control line longer than 4096 bytes");
  CHECK(error_of(std::string("\x01\x02 x\r\n", 6)) == "ERROR unknown operation '?? x'");
  // Nothing is read after an error.
  server_reader reader;
  auto room = reader.prepare(16);
  std::memcpy(room.data(), "BAD\r\nPING\r\n", 11);
  reader.commit(11);
  server_op op;
  CHECK(reader.next(op) == read_status::error);
  CHECK(reader.next(op) == read_status::error);
}

TEST_CASE("nats encoders: the client operations as the protocol spells them") {
  std::string out;
  encode_connect(out, R"({"verbose":false})");
  encode_pub(out, "a.b", "", "", "hi");
  encode_pub(out, "a.b", "_INBOX.1", "", "");
  header_block h;
  CHECK(h.add("Ipc-Origin", "n1"));
  CHECK_FALSE(h.add("bad name", "x"));
  CHECK_FALSE(h.add("Bad:Name", "x"));
  CHECK_FALSE(h.add("", "x"));
  CHECK_FALSE(h.add("X", "line\r\nbreak"));
  encode_pub(out, "a.c", "r", h.finish(), "xyz");
  h.reset();  // the same block again, for the next message
  CHECK(h.empty());
  CHECK(h.add("X", "1"));
  CHECK(h.finish() == "NATS/1.0\r\nX: 1\r\n\r\n");
  std::string appended = "pre ";
  append_subject(appended, "a.b/c", "p");
  CHECK(appended == "pre p.a%2Eb.c");
  encode_sub(out, "a.>", "", 7);
  encode_sub(out, "jobs", "workers", 8);
  encode_unsub(out, 7);
  encode_unsub(out, 8, 1);
  encode_ping(out);
  encode_pong(out);
  CHECK(out ==
        "CONNECT {\"verbose\":false}\r\n"
        "PUB a.b 2\r\nhi\r\n"
        "PUB a.b _INBOX.1 0\r\n\r\n"
        "HPUB a.c r 28 31\r\nNATS/1.0\r\nIpc-Origin: n1\r\n\r\nxyz\r\n"
        "SUB a.> 7\r\nSUB jobs workers 8\r\nUNSUB 7\r\nUNSUB 8 1\r\nPING\r\nPONG\r\n");
}

TEST_CASE("nats header blocks: status lines, fields, and blocks that are not ones") {
  auto parsed = parse_header_block("NATS/1.0\r\nA: 1\r\nB:two words \r\nA: 3\r\n\r\n");
  REQUIRE(parsed);
  CHECK(parsed->status == 0);
  REQUIRE(parsed->fields.size() == 3);
  CHECK(parsed->fields[1].first == "B");
  CHECK(parsed->fields[1].second == "two words");
  auto status = parse_header_block("NATS/1.0 503\r\n\r\n");
  REQUIRE(status);
  CHECK(status->status == 503);
  auto described = parse_header_block("NATS/1.0 408 Request Timeout\r\n\r\n");
  REQUIRE(described);
  CHECK(described->status == 408);
  CHECK(described->description == "Request Timeout");
  CHECK_FALSE(parse_header_block("NATS/2.0\r\n\r\n"));
  CHECK_FALSE(parse_header_block("NATS/1.0\r\nno colon\r\n\r\n"));
  CHECK_FALSE(parse_header_block("NATS/1.0\r\n: empty name\r\n\r\n"));
  CHECK_FALSE(parse_header_block("NATS/1.0 50\r\n\r\n"));
  CHECK_FALSE(parse_header_block("NATS/1.0\r\nA: 1\r\n"));
  CHECK_FALSE(parse_header_block("NATS/1.0\r\nA: x\ry\r\n\r\n"));
}

TEST_CASE("nats subjects: topics map to subjects and back") {
  CHECK(topic_to_subject("sensors/temp/1") == "sensors.temp.1");
  CHECK(topic_to_subject("sensors/temp", "edge.site1") == "edge.site1.sensors.temp");
  CHECK(topic_to_subject("a.b/c d/50%/*/>x") == "a%2Eb.c%20d.50%25.%2A.%3Ex");
  CHECK(topic_to_subject("a//b/") == "a.%00.b.%00");
  CHECK(topic_to_subject("/") == "%00.%00");
  CHECK(topic_to_subject("$SYS/broker/load") == "$SYS.broker.load");
  CHECK(topic_to_subject("Grüße/温度") == "Grüße.温度");
  for (std::string topic : {"sensors/temp/1", "a.b/c d/50%/*/>x", "a//b/", "/", "x", "%00",
                            "tab\there", "Grüße/温度", "a%2Eb"}) {
    CAPTURE(topic);
    auto subject = topic_to_subject(topic, "p.q");
    CHECK(valid_subject(subject, false));
    CHECK(subject_to_topic(subject, "p.q") == topic);
  }
  // Subjects from elsewhere: lenient escapes, and what no topic can be.
  CHECK(subject_to_topic("rate.50%") == "rate/50%");
  CHECK(subject_to_topic("rate.%zz.%2") == "rate/%zz/%2");
  CHECK_FALSE(subject_to_topic("a%2fb"));  // a level the subject does not have
  CHECK(subject_to_topic("a.b", "a") == "b");
  CHECK_FALSE(subject_to_topic("a", "a"));
  CHECK_FALSE(subject_to_topic("ab.c", "a"));
  CHECK_FALSE(subject_to_topic("a..b"));
  CHECK_FALSE(subject_to_topic("a.*"));
  CHECK_FALSE(subject_to_topic("a.>"));
  CHECK_FALSE(subject_to_topic("a.%2B"));
  CHECK_FALSE(subject_to_topic("a.%23"));
  CHECK_FALSE(subject_to_topic("a.x%00"));
  CHECK_FALSE(subject_to_topic("cmd.a%2Fb"));
  CHECK_FALSE(subject_to_topic(""));
  CHECK_FALSE(subject_to_topic("%00"));  // the empty topic, which no topic is
}

TEST_CASE("nats subjects: patterns, with '#' covering its parent level") {
  auto both = [](std::string_view pattern, std::string_view prefix = {}) {
    auto p = pattern_to_subjects(pattern, prefix);
    return p.second.empty() ? p.first : p.first + " " + p.second;
  };
  CHECK(both("a/+/c") == "a.*.c");
  CHECK(both("a/#") == "a.> a");
  CHECK(both("+/#") == "*.> *");
  CHECK(both("#") == ">");
  CHECK(both("#", "edge") == "edge.>");
  CHECK(both("a/#", "edge") == "edge.a.> edge.a");
  CHECK(both("a.b/+") == "a%2Eb.*");
  CHECK(both("a//+") == "a.%00.*");
  CHECK(valid_subject("a.*.>", true));
  CHECK_FALSE(valid_subject("a.>.b", true));
  CHECK_FALSE(valid_subject("a.*", false));
  CHECK_FALSE(valid_subject("a b", true));
  CHECK_FALSE(valid_subject(".a", true));
  CHECK_FALSE(valid_subject("a.", true));
  CHECK(valid_queue_group("workers"));
  CHECK_FALSE(valid_queue_group("a.b"));
  CHECK_FALSE(valid_queue_group("a b"));
  CHECK_FALSE(valid_queue_group(""));
}
