// MQTT with clients written elsewhere (docs/mqtt.md), against a real ipcd process:
// mosquitto_pub and mosquitto_sub (MQTT 3.1.1 and 5, QoS 0/1/2, retained, will, user
// name and password, TLS), Python paho-mqtt and MQTT.js (Debian's python3-paho-mqtt and
// node-mqtt), each crossing to and from ipcctl pub, sub, req and reply.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>

#include <nlohmann/json.hpp>

#include "ipc/credentials/password.hpp"
#include "ipcctl_driver.hpp"
#include "process.hpp"
#include "temp_dir.hpp"
#include "test_pki.hpp"
#include "wait.hpp"

using ipc::test::child_process;
using ipc::test::finished;
using ipc::test::ipcctl;
using ipc::test::ipcctl_binary;
using ipc::test::ipcd_process;
using ipc::test::lines;
using ipc::test::run_command;
using ipc::test::subscribed;
using ipc::test::wait_until;
using json = nlohmann::json;

namespace {

const std::string mqtt_listeners = R"([{"url":"unix://{dir}/ipcd.sock"},
                                       {"url":"mqtt://127.0.0.1:0"}])";

}  // namespace

TEST_SUITE("mqtt interop") {
  TEST_CASE("mosquitto_pub and mosquitto_sub, 3.1.1 and 5, QoS 0, 1 and 2, to and from ipcctl") {
    ipcd_process broker(mqtt_listeners);
    REQUIRE(broker.start());
    const auto port = broker.mqtt_port();

    child_process native(ipcctl(broker, {"sub", "interop/#", "-v", "--count", "6"}));
    REQUIRE(subscribed(broker, "ipcctl"));
    for (std::string v : {"mqttv311", "mqttv5"})
      for (std::string q : {"0", "1", "2"}) {
        auto sent = run_command({"/usr/bin/mosquitto_pub", "-p", port, "-V", v, "-q", q, "-t",
                                 "interop/" + v + "/" + q, "-m", "m" + q});
        CHECK_MESSAGE(sent.exit_code == 0, sent.err);
      }
    REQUIRE(finished(native));
    auto got = lines(native.out());
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<std::string>{"interop/mqttv311/0 m0", "interop/mqttv311/1 m1",
                                          "interop/mqttv311/2 m2", "interop/mqttv5/0 m0",
                                          "interop/mqttv5/1 m1", "interop/mqttv5/2 m2"});

    for (std::string v : {"mqttv311", "mqttv5"}) {
      CAPTURE(v);
      child_process sub({"/usr/bin/mosquitto_sub", "-p", port, "-V", v, "-q", "2", "-i", "sub-" + v,
                         "-t", "back/#", "-C", "3", "-F", "%t %q %p"});
      REQUIRE(subscribed(broker, "sub-" + v));
      for (std::string q : {"0", "1", "2"}) {
        auto sent = run_command(ipcctl(broker, {"pub", "back/" + q, "native" + q, "--qos", q}));
        CHECK_MESSAGE(sent.exit_code == 0, sent.err);
      }
      REQUIRE(finished(sub));
      CHECK(lines(sub.out()) ==
            std::vector<std::string>{"back/0 0 native0", "back/1 1 native1", "back/2 2 native2"});
    }
  }

  TEST_CASE("mosquitto retained messages and wills reach ipcctl, and the reverse") {
    ipcd_process broker(mqtt_listeners);
    REQUIRE(broker.start());
    const auto port = broker.mqtt_port();
    auto kept = run_command(
        {"/usr/bin/mosquitto_pub", "-p", port, "-t", "state/door", "-m", "open", "-r", "-q", "1"});
    REQUIRE_MESSAGE(kept.exit_code == 0, kept.err);
    auto read = run_command(ipcctl(broker, {"sub", "state/#", "--count", "1"}));
    CHECK(read.out == "open\n");
    auto native_kept = run_command(ipcctl(broker, {"pub", "state/window", "shut", "--retain"}));
    REQUIRE(native_kept.exit_code == 0);
    auto mqtt_read = run_command({"/usr/bin/mosquitto_sub", "-p", port, "-t", "state/window", "-C",
                                  "1", "-F", "%t %p %r", "-V", "mqttv5"});
    CHECK(mqtt_read.out == "state/window shut 1\n");

    // A will, published when mosquitto_sub dies without DISCONNECT.
    child_process wills(ipcctl(broker, {"sub", "wills/#", "-v", "--count", "1"}));
    REQUIRE(subscribed(broker, "ipcctl"));
    child_process doomed({"/usr/bin/mosquitto_sub", "-p", port, "-i", "doomed", "-t", "x",
                          "--will-topic", "wills/doomed", "--will-payload", "gone", "-q", "1"});
    REQUIRE(subscribed(broker, "doomed"));
    doomed.signal(SIGKILL);
    REQUIRE(finished(wills));
    CHECK(wills.out() == "wills/doomed gone\n");
  }

  TEST_CASE("mosquitto over mqtts:// with a user name and password, or a client certificate") {
    const auto& pki = ipc::test::pki();
    std::string hash = ipc::credentials::hash_password("s3cret");
    ipcd_process broker(R"([{"url":"unix://{dir}/ipcd.sock"},
        {"url":"mqtts://127.0.0.1:0","cert":")" +
                            pki.file("server.pem") + R"(","key":")" + pki.file("server.key") +
                            R"(","ca":")" + pki.file("ca.pem") + R"("}])",
                        R"("auth": {"users": [{"name": "alice", "password": ")" + hash +
                            R"("}, {"name": "svc"}, {"name": "ops", "permissions": {"admin": true,
                                 "subscribe": ["#"], "publish": ["#"]}}],
                           "cert_users": {"CN=svc-a": "svc"},
                           "unix_users": {"0": "ops", ")" +
                            std::to_string(::getuid()) + R"(": "ops"}})");
    REQUIRE(broker.start());
    const auto port = broker.port_of("mqtts");
    REQUIRE(!port.empty());
    child_process native(ipcctl(broker, {"sub", "secure/#", "--count", "1"}));
    REQUIRE(subscribed(broker, "ipcctl"));
    std::vector<std::string> base = {"/usr/bin/mosquitto_pub",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     port,
                                     "--cafile",
                                     pki.file("ca.pem"),
                                     "-u",
                                     "alice",
                                     "-t",
                                     "secure/a",
                                     "-q",
                                     "1",
                                     "-m"};
    auto wrong = base;
    wrong.insert(wrong.end(), {"nope", "-P", "guess"});
    auto refused = run_command(wrong);
    CHECK(refused.exit_code != 0);
    auto right = base;
    right.insert(right.end(), {"over tls", "-P", "s3cret"});
    auto sent = run_command(right);
    CHECK_MESSAGE(sent.exit_code == 0, sent.err);
    REQUIRE(finished(native));
    CHECK(native.out() == "over tls\n");

    // A client certificate names the user (auth.cert_users); without one, and without a
    // password, the client is anonymous, which this broker refuses.
    child_process by_cert(ipcctl(broker, {"sub", "secure/#", "--count", "1"}));
    REQUIRE(subscribed(broker, "ipcctl"));
    std::vector<std::string> cert_base = {
        "/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", port, "--cafile",
        pki.file("ca.pem"),       "-t", "secure/b",  "-q", "1",  "-m"};
    auto anonymous = cert_base;
    anonymous.push_back("no certificate");
    CHECK(run_command(anonymous).exit_code != 0);
    auto with_cert = cert_base;
    with_cert.insert(with_cert.end(),
                     {"as svc", "--cert", pki.file("client.pem"), "--key", pki.file("client.key")});
    auto cert_sent = run_command(with_cert);
    CHECK_MESSAGE(cert_sent.exit_code == 0, cert_sent.err);
    REQUIRE(finished(by_cert));
    CHECK(by_cert.out() == "as svc\n");
    CHECK(broker.log().find("authentication failed for user 'alice'") != std::string::npos);
    CHECK(broker.log().find("guess") == std::string::npos);  // no secret in the log
  }

  TEST_CASE("Python paho-mqtt, 3.1.1 and 5, with ipcctl pub, sub and reply") {
    ipcd_process broker(mqtt_listeners);
    REQUIRE(broker.start());
    ipc::test::temp_dir dir;
    std::ofstream(dir.file("client.py")) << R"(
import json, sys, paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
port, version = int(sys.argv[1]), sys.argv[2]
v5 = version == "5"
got, final = [], []
client = mqtt.Client(client_id="paho-" + version,
                     protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
def on_message(c, u, m):
    entry = {"topic": m.topic, "payload": m.payload.decode(), "qos": m.qos}
    if v5 and hasattr(m.properties, "CorrelationData"):
        entry["correlation"] = m.properties.CorrelationData.decode()
    got.append(entry)
    if m.topic == "paho/in":  # then ask the native responder
        if v5:
            p = Properties(PacketTypes.PUBLISH)
            p.ResponseTopic = "paho/answers"
            p.CorrelationData = b"req-7"
            c.publish("svc/upper", "question", qos=1, properties=p)
    if len(got) == (2 if v5 else 1):  # disconnect once the broker has it (on_publish)
        final.append(c.publish("paho/out", "from paho", qos=1).mid)
def on_publish(c, u, mid):
    if mid in final:
        c.disconnect()
def on_connect(c, u, f, rc, props=None):
    c.subscribe([("paho/in", 1), ("paho/answers", 1)])
def on_subscribe(c, u, mid, granted, props=None):
    print("subscribed", flush=True)
client.on_connect, client.on_message = on_connect, on_message
client.on_subscribe, client.on_publish = on_subscribe, on_publish
client.connect("127.0.0.1", port)
client.loop_forever()
print(json.dumps(got), flush=True)
)";
    for (std::string v : {"311", "5"}) {
      CAPTURE(v);
      child_process out(ipcctl(broker, {"sub", "paho/out", "--count", "1"}));
      REQUIRE(subscribed(broker, "ipcctl"));
      child_process responder(ipcctl(broker, {"reply", "svc/upper", "--echo", "--count", "1"}));
      child_process paho({"/usr/bin/python3", dir.file("client.py"), broker.mqtt_port(), v});
      REQUIRE(subscribed(broker, "paho-" + v));
      auto sent = run_command(ipcctl(broker, {"pub", "paho/in", "to paho", "--qos", "1"}));
      REQUIRE(sent.exit_code == 0);
      REQUIRE_MESSAGE(finished(paho), paho.err());
      REQUIRE(finished(out));
      CHECK(out.out() == "from paho\n");
      auto got = json::parse(lines(paho.out()).back());
      CHECK(got[0]["topic"] == "paho/in");
      CHECK(got[0]["payload"] == "to paho");
      CHECK(got[0]["qos"] == 1);
      if (v == "5") {  // the native responder answered with the correlation data
        REQUIRE(got.size() == 2);
        CHECK(got[1]["topic"] == "paho/answers");
        CHECK(got[1]["payload"] == "question");
        CHECK(got[1]["correlation"] == "req-7");
        CHECK(finished(responder));
      }
    }
  }

  TEST_CASE("MQTT.js, 3.1.1 and 5, with ipcctl pub, sub and req") {
    ipcd_process broker(mqtt_listeners);
    REQUIRE(broker.start());
    ipc::test::temp_dir dir;
    std::ofstream(dir.file("client.js")) << R"(
const mqtt = require('mqtt');
const [port, version] = process.argv.slice(2);
const client = mqtt.connect('mqtt://127.0.0.1:' + port,
                            {protocolVersion: Number(version), clientId: 'js-' + version});
client.on('connect', () => {
  client.subscribe(['js/in', 'svc/js'], {qos: 2}, (err) => {
    if (err) { console.error(err.message); process.exit(1); }
    console.log('subscribed');
  });
});
client.on('message', (topic, payload, packet) => {
  if (topic === 'svc/js') {  // a native request: answer to its response topic
    const to = packet.properties && packet.properties.responseTopic;
    if (!to) { console.error('no response topic'); process.exit(1); }
    client.publish(to, 'js says ' + payload.toString(), {qos: 0}, () => {});
    return;
  }
  console.log(JSON.stringify({topic, payload: payload.toString(), qos: packet.qos,
                              props: packet.properties || {}}));
  client.publish('js/out', 'from js', {qos: 1, properties: {userProperties: {via: 'mqtt.js'}}},
                 () => client.end());
});
client.on('error', (e) => { console.error(e.message); process.exit(1); });
)";
    for (std::string v : {"4", "5"}) {
      CAPTURE(v);
      child_process out(ipcctl(broker, {"--json", "sub", "js/out", "--count", "1"}));
      REQUIRE(subscribed(broker, "ipcctl"));
      child_process js({"/usr/bin/node", dir.file("client.js"), broker.mqtt_port(), v}, {},
                       {"NODE_PATH=/usr/share/nodejs"});
      REQUIRE(subscribed(broker, "js-" + v));
      if (v == "5") {  // ipcctl req answered by MQTT.js through the response topic
        auto answer = run_command(ipcctl(broker, {"req", "svc/js", "ping"}));
        CHECK_MESSAGE(answer.exit_code == 0, answer.err);
        CHECK(answer.out == "js says ping\n");
      }
      auto sent = run_command(
          ipcctl(broker, {"pub", "js/in", "to js", "--qos", "2", "-H", "origin=ipcctl"}));
      REQUIRE(sent.exit_code == 0);
      REQUIRE_MESSAGE(finished(js), js.err());
      REQUIRE(finished(out));
      auto got = json::parse(lines(js.out()).back());
      CHECK(got["topic"] == "js/in");
      CHECK(got["payload"] == "to js");
      CHECK(got["qos"] == 2);
      if (v == "5") CHECK(got["props"]["userProperties"]["origin"] == "ipcctl");
      auto native = json::parse(lines(out.out()).back());
      CHECK(native["payload"] == "from js");
      if (v == "5") CHECK(native["headers"]["via"] == "mqtt.js");
    }
  }
}
