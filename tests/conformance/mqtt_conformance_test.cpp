// MQTT conformance suite: runs the JSON cases in IPCD_MQTT_CONFORMANCE_DIR (hex packets,
// each case citing docs/mqtt.md and the normative statements of MQTT 3.1.1 or 5 it shows)
// against an in-process broker's mqtt:// listener. Steps: "send" (hex), "expect" (the
// next packet, whole, in hex), "expect_closed", "expect_silence_ms"; "conn" picks one of
// several connections (opened on first use). "expect_prefix" / "expect_suffix" check the
// ends of a packet whose middle holds a sentence (a Reason String).
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "broker_fixture.hpp"
#include "mqtt_test_client.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ipc::test::broker_fixture;
using ipc::test::mqtt_test_client;

std::vector<std::uint8_t> from_hex(const std::string& text) {
  std::string digits;
  for (char c : text)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  if (digits.size() % 2 != 0) throw std::runtime_error("odd hex: " + text);
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const std::vector<std::uint8_t>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += ' ';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

// A received packet as it was on the wire: fixed header, Remaining Length, body.
std::vector<std::uint8_t> wire_form(const ipc::test::mqtt_received& packet) {
  std::vector<std::uint8_t> out{packet.type_byte};
  ipc::mqtt::put_varint(out, static_cast<std::uint32_t>(packet.body.size()));
  out.insert(out.end(), packet.body.begin(), packet.body.end());
  return out;
}

struct mqtt_case {
  std::string file;
  json spec;
  std::string label() const {
    return file + ": " + spec.value("name", "?") + " (" + spec.value("clause", "?") + ")";
  }
};

std::vector<mqtt_case> load_cases() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(IPCD_MQTT_CONFORMANCE_DIR))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<mqtt_case> cases;
  for (const auto& path : files) {
    std::ifstream in(path);
    for (auto& spec : json::parse(in)) cases.push_back({path.filename().string(), spec});
  }
  return cases;
}

void run_case(const mqtt_case& c, const broker_fixture& broker) {
  INFO(c.label());
  auto level = c.spec.value("version", 4) == 5 ? ipc::mqtt::version::v5 : ipc::mqtt::version::v311;
  std::map<std::string, std::unique_ptr<mqtt_test_client>> conns;
  auto conn = [&](const json& step) -> mqtt_test_client& {
    auto name = step.value("conn", std::string("a"));
    auto& slot = conns[name];
    if (!slot) slot = std::make_unique<mqtt_test_client>(broker.mqtt_url(), level);
    return *slot;
  };
  int index = 0;
  for (const auto& step : c.spec.at("steps")) {
    INFO("step " << index++ << ": " << step.dump());
    auto& client = conn(step);
    if (step.contains("send")) {
      client.send_bytes(from_hex(step["send"].get<std::string>()));
    } else if (step.contains("expect")) {
      auto packet = client.next();
      REQUIRE_MESSAGE(packet, "no packet came");
      CHECK(to_hex(wire_form(*packet)) == to_hex(from_hex(step["expect"].get<std::string>())));
    } else if (step.contains("expect_prefix")) {  // and "expect_suffix": the packet's ends
      auto packet = client.next();
      REQUIRE_MESSAGE(packet, "no packet came");
      auto got = to_hex(wire_form(*packet));
      auto prefix = to_hex(from_hex(step["expect_prefix"].get<std::string>()));
      auto suffix = to_hex(from_hex(step.value("expect_suffix", std::string())));
      CHECK_MESSAGE(got.starts_with(prefix), got);
      CHECK_MESSAGE(got.ends_with(suffix), got);
    } else if (step.contains("expect_closed")) {
      CHECK(client.closed_by_peer());
    } else if (step.contains("expect_silence_ms")) {
      auto packet = client.next(std::chrono::milliseconds(step["expect_silence_ms"].get<int>()));
      CHECK_MESSAGE(!packet, "unexpected packet " << (packet ? to_hex(wire_form(*packet)) : ""));
    } else {
      FAIL("unknown step");
    }
  }
}

}  // namespace

TEST_CASE("MQTT conformance cases (tests/conformance/mqtt)") {
  auto cases = load_cases();
  REQUIRE(cases.size() >= 20);
  broker_fixture broker([](ipc::config::broker_config& c) {
    ipc::config::listener l;
    l.url = "mqtt://127.0.0.1:0";
    l.protocol = ipc::config::listener_protocol::mqtt;
    c.listeners.push_back(l);
  });
  for (const auto& c : cases) {
    SUBCASE(c.label().c_str()) { run_case(c, broker); }
  }
}
