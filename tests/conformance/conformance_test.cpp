// Protocol conformance suite: runs the JSON cases in IPCD_CONFORMANCE_DIR (hex frames, each
// case citing a clause of docs/protocol.md) against an in-process broker over Unix sockets.
// Steps: send, expect, expect_unordered, expect_closed, expect_silence_ms, close; "conn" picks one.
// An expectation compares the listed fields of the next frame (MESSAGE, DELIVER, RESPONSE,
// OK, ERROR, ...); "FIELD_prefix" checks that a string field starts with a value; "capture":
// {"FIELD": "NAME"} remembers a string field, which later "send" hex may use as "{NAME}"
// (its bytes in hex) and later expectations as the whole string value "{NAME}".
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "raw_client.hpp"

namespace {

namespace fs = std::filesystem;
namespace proto = ipc::protocol;
using json = nlohmann::json;
using ipc::test::broker_fixture;
using ipc::test::raw_client;
using ipc::test::received_frame;
using std::chrono::milliseconds;

constexpr auto step_timeout = std::chrono::seconds(5);

struct conformance_case {
  std::string file;  // "pubsub.json"
  json spec;
  std::string label() const {
    return file + ": " + spec.value("name", "?") + " (" + spec.value("clause", "?") + ")";
  }
};

std::vector<conformance_case> load_cases() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(IPCD_CONFORMANCE_DIR))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<conformance_case> cases;
  for (const auto& path : files) {
    std::ifstream in(path);
    for (auto& spec : json::parse(in)) cases.push_back({path.filename().string(), spec});
  }
  return cases;
}

// The headings of docs/protocol.md ("§4.2", …), found above the cases directory.
std::set<std::string> protocol_clauses() {
  std::set<std::string> clauses;
  for (fs::path dir = IPCD_CONFORMANCE_DIR; dir != dir.parent_path(); dir = dir.parent_path()) {
    std::ifstream in(dir / "docs" / "protocol.md");
    if (!in) continue;
    for (std::string line; std::getline(in, line);) {
      auto at = line.find("\xC2\xA7");  // '§' in UTF-8
      if (line.starts_with("#") && at != std::string::npos)
        clauses.insert(line.substr(at, line.find(' ', at) - at));
    }
    break;
  }
  return clauses;
}

// The hex digits of `text` in lower case, whitespace dropped; throws on anything else.
std::string clean_hex(const std::string& text) {
  std::string digits;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      throw std::invalid_argument("bad hex digit '" + std::string(1, c) + "' in \"" + text + "\"");
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (digits.size() % 2 != 0) throw std::invalid_argument("odd number of hex digits: " + text);
  return digits;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Values captured from received frames ("capture"), by name.
using captures = std::map<std::string, std::string>;

// `text` with every "{NAME}" replaced by the hex of capture NAME; throws on unknown names.
std::string substitute(const std::string& text, const captures& vars) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    auto open = text.find('{', at);
    if (open == std::string::npos) {
      out += text.substr(at);
      break;
    }
    auto close = text.find('}', open);
    if (close == std::string::npos) throw std::invalid_argument("unclosed '{' in \"" + text + "\"");
    out += text.substr(at, open - at);
    auto found = vars.find(text.substr(open + 1, close - open - 1));
    if (found == vars.end())
      throw std::invalid_argument("nothing captured as " + text.substr(open, close - open + 1));
    out +=
        to_hex({reinterpret_cast<const std::uint8_t*>(found->second.data()), found->second.size()});
    at = close + 1;
  }
  return out;
}

// A "send" value: one hex string, or an array of them sent in one write.
std::vector<std::uint8_t> bytes_to_send(const json& value, const captures& vars = {}) {
  std::string digits;
  if (value.is_string()) digits = clean_hex(substitute(value.get<std::string>(), vars));
  if (value.is_array())
    for (const auto& part : value) digits += clean_hex(substitute(part.get<std::string>(), vars));
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// Limit overrides of the running case (broker_fixture takes a plain function pointer).
json current_limits = json::object();

struct limit_field {
  const char* name;
  std::uint32_t ipc::config::limits::*member;
};
constexpr limit_field u32_limits[] = {
    {"max_payload", &ipc::config::limits::max_payload},
    {"max_headers", &ipc::config::limits::max_headers},
    {"max_header_bytes", &ipc::config::limits::max_header_bytes},
    {"max_topic_length", &ipc::config::limits::max_topic_length},
    {"max_topic_levels", &ipc::config::limits::max_topic_levels},
    {"max_subscriptions", &ipc::config::limits::max_subscriptions},
    {"max_connections", &ipc::config::limits::max_connections},
    {"max_queues", &ipc::config::limits::max_queues},
    {"default_prefetch", &ipc::config::limits::default_prefetch},
    {"max_prefetch", &ipc::config::limits::max_prefetch},
    {"max_pending_requests", &ipc::config::limits::max_pending_requests}};

bool known_limit(const std::string& key) {
  return key == "max_pending_bytes" ||
         std::any_of(std::begin(u32_limits), std::end(u32_limits),
                     [&](const limit_field& f) { return key == f.name; });
}

void apply_limits(ipc::config::broker_config& config) {
  for (const auto& [key, value] : current_limits.items()) {
    if (key == "max_pending_bytes") config.limits.max_pending_bytes = value.get<std::uint64_t>();
    for (const auto& f : u32_limits)
      if (key == f.name) config.limits.*(f.member) = value.get<std::uint32_t>();
  }
}

// Validation stand-ins for captured values: names captured by earlier steps.
void note_captures(const json& step, captures& vars) {
  for (const char* action : {"expect", "expect_unordered"}) {
    if (!step.contains(action)) continue;
    json wants = step[action].is_array() ? step[action] : json::array({step[action]});
    for (const auto& want : wants) {
      if (!want.is_object() || !want.contains("capture")) continue;
      if (!want["capture"].is_object()) throw std::invalid_argument("capture must be an object");
      for (const auto& [field, name] : want["capture"].items()) vars[name.get<std::string>()] = "";
    }
  }
}

std::string validate_step(const json& step, std::size_t connections, captures& vars) {
  static const std::set<std::string> step_actions = {"send",  "expect",        "expect_unordered",
                                                     "close", "expect_closed", "expect_silence_ms"};
  if (!step.is_object()) return "a step must be an object";
  for (const auto& [key, value] : step.items())
    if (key != "conn" && !step_actions.contains(key)) return "unknown step key '" + key + "'";
  if (step.size() - step.count("conn") != 1)
    return "a step needs exactly one action: " + step.dump();
  if (step.value("conn", std::size_t{0}) >= connections) return "conn out of range: " + step.dump();
  if (step.contains("send")) bytes_to_send(step["send"], vars);  // throws on bad hex or names
  note_captures(step, vars);
  return {};
}

// What is wrong with a case, or "" (bad hex and wrong JSON types included).
std::string validate_case(const json& spec) try {
  static const std::set<std::string> keys = {"name", "clause", "limits", "connections", "steps"};
  for (const auto& [key, value] : spec.items())
    if (!keys.contains(key)) return "unknown case key '" + key + "'";
  if (!spec.contains("name") || !spec.contains("clause")) return "a case needs name and clause";
  const json limits = spec.value("limits", json::object());  // named: items() would dangle
  for (const auto& [key, value] : limits.items())
    if (!known_limit(key)) return "unknown limit '" + key + "'";
  auto connections = spec.value("connections", std::size_t{1});
  if (connections < 1 || connections > 4) return "connections must be 1 to 4";
  if (!spec.contains("steps") || spec["steps"].empty()) return "a case needs steps";
  captures vars;
  for (const auto& step : spec["steps"])
    if (auto problem = validate_step(step, connections, vars); !problem.empty()) return problem;
  return {};
} catch (const std::exception& e) {
  return e.what();
}

std::string type_name(proto::frame_type type) {
  auto value = static_cast<std::uint8_t>(type);
  if (proto::is_known_frame_type(value)) return std::string(proto::frame_type_name(type));
  return "0x" + to_hex({&value, 1});
}

json pairs_of(const proto::map_view& map) {
  json out = json::array();
  for (auto entry : map) out.push_back(json::array({entry.key, entry.value}));
  return out;
}

json first_values(const proto::map_view& map) {  // the first entry for each key counts
  json out = json::object();
  for (auto entry : map)
    if (!out.contains(entry.key)) out[std::string(entry.key)] = entry.value;
  return out;
}

// Sets out[key] to the parsed text when it is JSON.
void add_json(json& out, const char* key, std::string_view text) {
  auto parsed = json::parse(text, nullptr, false);
  if (!parsed.is_discarded()) out[key] = parsed;
}

template <class Frame>
bool decoded(const received_frame& frame, Frame& out) {
  return proto::decode(frame.view(), out) == proto::errc::ok;
}

json typed_fields(const received_frame& f) {
  using proto::frame_type;
  if (proto::error_frame e; f.type == frame_type::error && decoded(f, e))
    return {{"code", e.code}, {"ref", e.ref}, {"fatal", e.fatal}, {"message", e.message}};
  if (proto::ok_frame o; f.type == frame_type::ok && decoded(f, o))
    return {{"ref", o.ref}, {"value", o.value}};
  if (proto::ping_frame p;
      (f.type == frame_type::pong || f.type == frame_type::ping) && decoded(f, p))
    return {{"token", p.token}};
  if (proto::welcome_frame w; f.type == frame_type::welcome && decoded(f, w))
    return {{"version", w.version},
            {"connection_id", w.connection_id},
            {"max_payload", w.max_payload},
            {"properties", first_values(w.properties)}};
  if (proto::admin_result_frame a; f.type == frame_type::admin_result && decoded(f, a)) {
    json out = {{"id", a.id}, {"status", a.status}, {"body", a.body}};
    add_json(out, "body_json", a.body);
    return out;
  }
  return json::object();
}

// The fields of a message body (docs/protocol.md §4.1), timestamp left out.
json body_fields(const proto::message_body& b) {
  json out = {{"message_id", b.message_id},
              {"topic", b.topic},
              {"reply_to", b.reply_to},
              {"headers", pairs_of(b.headers)},
              {"payload_hex", to_hex(b.payload)}};
  add_json(out, "payload_json",
           {reinterpret_cast<const char*>(b.payload.data()), b.payload.size()});
  return out;
}

// MESSAGE, DELIVER and RESPONSE: their prefix fields and the body's.
json message_fields(const received_frame& f) {
  using proto::frame_type;
  json out = json::object();
  if (proto::message_frame m; f.type == frame_type::message && decoded(f, m)) {
    out = body_fields(m.body);
    out["sid"] = m.sid;
  } else if (proto::deliver_frame d; f.type == frame_type::deliver && decoded(f, d)) {
    out = body_fields(d.body);
    out["cid"] = d.cid;
    out["delivery_tag"] = d.delivery_tag;
    out["delivery_count"] = d.delivery_count;
  } else if (proto::response_frame r; f.type == frame_type::response && decoded(f, r)) {
    out = body_fields(r.body);
    out["id"] = r.id;
  }
  return out;
}

json fields_of(const received_frame& f) {
  using proto::frame_type;
  bool carries_message = f.type == frame_type::message || f.type == frame_type::deliver ||
                         f.type == frame_type::response;
  json out = carries_message ? message_fields(f) : typed_fields(f);
  out["type"] = type_name(f.type);
  out["hex"] = to_hex(f.body);
  return out;
}

std::string show(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Hex fields compare without spaces or case; "properties" is a subset check.
bool field_matches(const std::string& key, const json& want, const json& have) {
  if (key.ends_with("hex") && want.is_string()) return clean_hex(want.get<std::string>()) == have;
  if (key == "properties" && want.is_object()) {
    for (const auto& [name, value] : want.items())
      if (!have.contains(name) || have[name] != value) return false;
    return true;
  }
  return want == have;
}

// `want` with string values "{NAME}" replaced by the captured value NAME.
json resolve(const json& want, const captures& vars) {
  json out = want;
  for (auto& [key, value] : out.items()) {
    if (key == "capture" || !value.is_string()) continue;
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > 2 && text.front() == '{' && text.back() == '}')
      if (auto found = vars.find(text.substr(1, text.size() - 2)); found != vars.end())
        value = found->second;
  }
  return out;
}

// Empty when the frame meets the expectation, else what differs.
std::string mismatch(const json& want_spec, const received_frame& frame, const captures& vars) {
  json want = resolve(want_spec, vars);
  json have = fields_of(frame);
  if (want.contains("type") && want["type"] != have["type"])
    return "expected a " + show(want["type"]) + " frame, got " + show(have);
  std::string problems;
  for (const auto& [key, value] : want.items()) {
    if (key == "capture") {
      for (const auto& [field, name] : value.items())
        if (!have.contains(field) || !have[field].is_string())
          problems += "capture " + field + ": no such string field; ";
      continue;
    }
    std::string base = key.ends_with("_prefix") ? key.substr(0, key.size() - 7) : key;
    if (base != key && !have.contains(key) && have.contains(base)) {
      if (!value.is_string() || !have[base].is_string() ||
          !have[base].get<std::string>().starts_with(value.get<std::string>()))
        problems += key + ": expected " + show(value) + ", got " + show(have[base]) + "; ";
    } else if (!have.contains(key)) {
      problems += key + ": not available; ";
    } else if (!field_matches(key, value, have[key])) {
      problems += key + ": expected " + show(value) + ", got " + show(have[key]) + "; ";
    }
  }
  return problems.empty() ? problems : problems + "frame: " + show(have);
}

// Stores the fields an expectation captures (after it matched).
void capture(const json& want, const received_frame& frame, captures& vars) {
  if (!want.contains("capture")) return;
  json have = fields_of(frame);
  for (const auto& [field, name] : want["capture"].items())
    vars[name.get<std::string>()] = have[field].get<std::string>();
}

class case_runner {
 public:
  case_runner(const conformance_case& c, const broker_fixture& broker) : case_(c), broker_(broker) {
    conns_.resize(c.spec.value("connections", std::size_t{1}));
  }

  // "" when every step passed, else what went wrong at the first failed step.
  std::string run() {
    const auto& steps = case_.spec["steps"];
    for (std::size_t i = 0; i < steps.size() && failure_.empty(); ++i) step(steps[i], i);
    return failure_;  // later steps would only repeat the failure
  }

 private:
  bool fail(std::size_t index, const std::string& what) {
    failure_ =
        "step " + std::to_string(index) + " " + show(case_.spec["steps"][index]) + ": " + what;
    return false;
  }

  raw_client& conn(std::size_t index) {
    if (!conns_[index]) {
      if (closed_.contains(index)) throw std::runtime_error("connection used after close");
      conns_[index] = std::make_unique<raw_client>(broker_.unix_url());
    }
    return *conns_[index];
  }

  bool step(const json& s, std::size_t i) {
    auto index = s.value("conn", std::size_t{0});
    if (s.contains("close")) {
      conns_[index].reset();
      closed_.insert(index);
      return true;
    }
    auto& c = conn(index);
    if (s.contains("send")) {
      c.send(bytes_to_send(s["send"], vars_));
      return true;
    }
    if (s.contains("expect")) return expect(c, s["expect"], i);
    if (s.contains("expect_unordered")) return expect_unordered(c, s["expect_unordered"], i);
    if (s.contains("expect_closed")) return expect_closed(c, i);
    return expect_silence(c, milliseconds(s["expect_silence_ms"].get<int>()), i);
  }

  bool expect(raw_client& c, const json& want, std::size_t i) {
    auto frame = c.next(step_timeout);
    if (!frame) return fail(i, nothing_came(c));
    auto problem = mismatch(want, *frame, vars_);
    if (!problem.empty()) return fail(i, problem);
    capture(want, *frame, vars_);
    return true;
  }

  // The next want.size() frames, each meeting a different one of the expectations.
  bool expect_unordered(raw_client& c, const json& want, std::size_t i) {
    std::vector<bool> met(want.size(), false);
    for (std::size_t n = 0; n < want.size(); ++n) {
      auto frame = c.next(step_timeout);
      if (!frame) return fail(i, nothing_came(c));
      std::size_t k = 0;
      while (k < want.size() && (met[k] || !mismatch(want[k], *frame, vars_).empty())) ++k;
      if (k == want.size()) return fail(i, "unexpected frame " + show(fields_of(*frame)));
      met[k] = true;
      capture(want[k], *frame, vars_);
    }
    return true;
  }

  bool expect_closed(raw_client& c, std::size_t i) {
    if (auto frame = c.next(step_timeout))
      return fail(i, "expected the broker to close, got " + show(fields_of(*frame)));
    return c.closed_by_peer(milliseconds(0)) || fail(i, "still open after 5 s");
  }

  bool expect_silence(raw_client& c, milliseconds quiet, std::size_t i) {
    if (auto frame = c.next(quiet))
      return fail(i, "expected silence, got " + show(fields_of(*frame)));
    return !c.closed_by_peer(milliseconds(0)) || fail(i, "expected silence, but it was closed");
  }

  static std::string nothing_came(raw_client& c) {
    return c.closed_by_peer(milliseconds(0)) ? "the broker closed the connection"
                                             : "no frame within 5 s";
  }

  const conformance_case& case_;
  const broker_fixture& broker_;
  std::vector<std::unique_ptr<raw_client>> conns_;
  std::set<std::size_t> closed_;
  captures vars_;
  std::string failure_;
};

// "" when the case passes, else why it failed.
std::string run_case(const conformance_case& c) {
  if (auto problem = validate_case(c.spec); !problem.empty()) return "invalid case: " + problem;
  current_limits = c.spec.value("limits", json::object());
  try {
    broker_fixture broker(&apply_limits);
    return case_runner(c, broker).run();  // its connections close before the broker stops
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
}

}  // namespace

TEST_CASE("conformance cases are well-formed and cite clauses of docs/protocol.md") {
  auto cases = load_cases();
  CHECK(cases.size() >= 40);
  auto clauses = protocol_clauses();
  CHECK_MESSAGE(!clauses.empty(), "docs/protocol.md not found above " IPCD_CONFORMANCE_DIR);
  std::set<std::string> names;
  for (const auto& c : cases) {
    INFO(c.label());
    CHECK(validate_case(c.spec) == "");
    CHECK_MESSAGE(names.insert(c.spec.value("name", "")).second, "duplicate case name");
    if (!clauses.empty()) CHECK(clauses.contains(c.spec.value("clause", "")));
  }
}

TEST_CASE("conformance: the broker meets every case") {
  for (const auto& c : load_cases()) {
    SUBCASE(c.label().c_str()) {
      auto failure = run_case(c);
      CHECK_MESSAGE(failure.empty(), std::string(c.label() + "\n  " + failure));
    }
  }
}
