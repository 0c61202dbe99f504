// The MQTT front-end through real sockets (docs/mqtt.md): CONNECT and CONNACK in 3.1.1
// and 5, the QoS 0/1/2 flows both ways with downgrade, native ↔ MQTT crossings (headers
// and user properties, request/reply), retained messages and retain handling, wills,
// takeover, the in-flight window, topic aliases, no local, and bad input closing one
// connection only.
#include <doctest/doctest.h>

#include <mutex>
#include <set>

#include "broker_fixture.hpp"
#include "collector.hpp"
#include "ipc/client.hpp"
#include "ipc/credentials/password.hpp"
#include "mqtt_test_client.hpp"
#include "options.hpp"
#include "queues/queue_manager.hpp"
#include "server/server.hpp"
#include "wait.hpp"

using namespace ipc;
using ipc::test::at;
using ipc::test::broker_fixture;
using ipc::test::collector;
using ipc::test::mqtt_received;
using ipc::test::mqtt_test_client;
using mqtt::packet_type;
using mqtt::reason;
using mqtt::version;

namespace {

void with_mqtt(config::broker_config& c) {
  config::listener l;
  l.url = "mqtt://127.0.0.1:0";
  l.protocol = config::listener_protocol::mqtt;
  c.listeners.push_back(l);
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_SUITE("mqtt") {
  TEST_CASE(
      "3.1.1 and 5 clients exchange messages at QoS 0, 1 and 2, downgraded per subscription") {
    broker_fixture broker(with_mqtt);
    for (auto v : {version::v311, version::v5}) {
      CAPTURE(static_cast<int>(v));
      mqtt_test_client sub(broker.mqtt_url(), v), pub(broker.mqtt_url(), v);
      REQUIRE(sub.connect("sub"));
      REQUIRE(pub.connect("pub"));
      CHECK(sub.subscribe("q/two/#", 2) == 2);
      CHECK(sub.subscribe("q/one/#", 1, 2) == 1);
      for (std::uint8_t qos = 0; qos <= 2; ++qos) {
        CHECK(pub.publish("q/two/x", "m" + std::to_string(qos), qos, false, 10 + qos) ==
              reason::success);
        auto m = sub.next_message();
        REQUIRE(m);
        CHECK(m->topic == "q/two/x");
        CHECK(m->payload == "m" + std::to_string(qos));
        CHECK(m->qos == qos);
        CHECK((qos == 0 || m->packet_id != 0));
      }
      // A QoS 2 publish to a QoS 1 subscription arrives at QoS 1.
      CHECK(pub.publish("q/one/y", "down", 2, false, 20) == reason::success);
      auto m = sub.next_message();
      REQUIRE(m);
      CHECK(m->qos == 1);
    }
  }

  TEST_CASE("native and MQTT clients cross: headers are user properties, attributes are flags") {
    broker_fixture broker(with_mqtt);
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());
    std::mutex mutex;
    std::vector<std::pair<std::string, ipc::headers>> got;
    std::error_code ec;
    auto s = native.subscribe(
        "cross/#",
        [&](const message& m) {
          std::lock_guard lock(mutex);
          got.emplace_back(std::string(m.payload()), m.headers());
        },
        ec);
    REQUIRE(!ec);
    REQUIRE(!native.flush());

    mqtt_test_client mq(broker.mqtt_url(), version::v5);
    REQUIRE(mq.connect("crossing"));
    REQUIRE(mq.subscribe("back/#", 1) == 1);
    mqtt::publish_packet p;
    p.topic = "cross/a";
    p.qos = 1;
    p.packet_id = 3;
    p.payload = bytes_of("from mqtt");
    p.props.user_properties = {{"colour", "blue"}, {"colour", "green"}};
    p.props.content_type = "text/plain";
    p.props.message_expiry_interval = 60;
    mq.send(p);
    REQUIRE(mq.next_of(packet_type::puback));
    REQUIRE(ipc::test::wait_until([&] {
      std::lock_guard lock(mutex);
      return !got.empty();
    }));
    {
      std::lock_guard lock(mutex);
      CHECK(got[0].first == "from mqtt");
      ipc::headers expected = {{"colour", "blue"},
                               {"colour", "green"},
                               {"ipc-qos", "1"},
                               {"ipc-ttl", "60000"},
                               {"ipc-content-type", "text/plain"}};
      CHECK(got[0].second == expected);
    }

    // Native to MQTT: headers become user properties; ipc-qos asks for QoS 1.
    REQUIRE(!native.publish(
        "back/b", "from native",
        {{"trace", "42"}, {"ipc-qos", "1"}, {"ipc-content-type", "application/json"}}));
    auto m = mq.next_message();
    REQUIRE(m);
    CHECK(m->topic == "back/b");
    CHECK(m->payload == "from native");
    CHECK(m->qos == 1);
    CHECK(m->content_type == "application/json");
    REQUIRE(m->user_properties.size() == 1);
    CHECK(m->user_properties[0] == std::pair<std::string, std::string>{"trace", "42"});
    // Without ipc-qos a native message is QoS 0.
    REQUIRE(!native.publish("back/c", "plain"));
    m = mq.next_message();
    REQUIRE(m);
    CHECK(m->qos == 0);
  }

  TEST_CASE("a native request is answered by an MQTT responder, and the reverse") {
    broker_fixture broker(with_mqtt);
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());

    mqtt_test_client responder(broker.mqtt_url(), version::v5);
    REQUIRE(responder.connect("responder"));
    REQUIRE(responder.subscribe("svc/time", 0) == 0);
    std::thread answer([&] {
      auto request = responder.next_message();
      REQUIRE(request);
      REQUIRE(request->response_topic);
      mqtt::publish_packet reply;
      reply.topic = *request->response_topic;
      reply.payload = bytes_of("noon");
      responder.send(reply);
    });
    std::error_code ec;
    request_options options;
    options.timeout = std::chrono::seconds(5);
    auto reply = native.request("svc/time", "what time?", options, ec);
    answer.join();
    REQUIRE(!ec);
    CHECK(reply.payload == "noon");

    // MQTT request (response topic + correlation data) to a native server.
    auto served = native.serve(
        "svc/echo",
        [](const message& m) {
          return std::optional<std::string>("echo " + std::string(m.payload()));
        },
        false, ec);
    REQUIRE(!ec);
    REQUIRE(!native.flush());
    mqtt_test_client requester(broker.mqtt_url(), version::v5);
    REQUIRE(requester.connect("requester"));
    REQUIRE(requester.subscribe("replies/requester", 0) == 0);
    mqtt::publish_packet request;
    request.topic = "svc/echo";
    request.payload = bytes_of("hi");
    request.props.response_topic = "replies/requester";
    request.props.correlation_data = bytes_of("corr-1");
    requester.send(request);
    auto answer_message = requester.next_message();
    REQUIRE(answer_message);
    CHECK(answer_message->topic == "replies/requester");
    CHECK(answer_message->payload == "echo hi");
    CHECK(answer_message->correlation == "corr-1");
  }

  TEST_CASE("retained messages: kept, sent after SUBACK with the retain flag, retain handling") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client pub(broker.mqtt_url(), version::v311);
    REQUIRE(pub.connect("pub"));
    CHECK(pub.publish("state/door", "open", 1, true) == reason::success);

    mqtt_test_client v3(broker.mqtt_url(), version::v311);
    REQUIRE(v3.connect("v3"));
    CHECK(v3.subscribe("state/#", 1) == 1);
    auto m = v3.next_message();
    REQUIRE(m);
    CHECK(m->payload == "open");
    CHECK(m->retain);
    // A live publish of a retained message reaches existing subscribers without the flag.
    CHECK(pub.publish("state/door", "closed", 0, true) == reason::success);
    m = v3.next_message();
    REQUIRE(m);
    CHECK(m->payload == "closed");
    CHECK_FALSE(m->retain);

    // MQTT 5 retain handling 2: no retained messages; retain as published keeps the flag.
    mqtt_test_client v5(broker.mqtt_url(), version::v5);
    REQUIRE(v5.connect("v5"));
    mqtt::subscribe_packet s;
    s.packet_id = 4;
    s.requests.push_back({"state/#", 0, false, true, 2});
    v5.send(s);
    REQUIRE(v5.next_of(packet_type::suback));
    CHECK_FALSE(v5.next_message(std::chrono::milliseconds(300)));
    CHECK(pub.publish("state/door", "ajar", 0, true) == reason::success);
    m = v5.next_message();
    REQUIRE(m);
    CHECK(m->payload == "ajar");
    CHECK(m->retain);

    // An empty retained publish clears it.
    CHECK(pub.publish("state/door", "", 1, true) == reason::success);
    mqtt_test_client late(broker.mqtt_url(), version::v311);
    REQUIRE(late.connect("late"));
    CHECK(late.subscribe("state/#", 0) == 0);
    CHECK_FALSE(late.next_message(std::chrono::milliseconds(300)));
  }

  TEST_CASE("wills: published when the connection is lost, not after DISCONNECT") {
    broker_fixture broker(with_mqtt);
    collector wills;
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());
    std::error_code ec;
    auto s = native.subscribe("wills/#", wills.handler(), ec);
    REQUIRE(!ec);
    REQUIRE(!native.flush());

    auto connect_with_will = [&](mqtt_test_client& c, std::string id, std::string topic) {
      mqtt::connect_packet packet;
      packet.client_id = id;
      packet.clean_start = true;
      mqtt::will_spec will;
      will.topic = topic;
      will.payload = bytes_of("gone");
      packet.will = will;
      auto ack = c.connect(packet);
      return ack && ack->code == 0;
    };
    {
      mqtt_test_client clean(broker.mqtt_url(), version::v311);
      REQUIRE(connect_with_will(clean, "clean", "wills/clean"));
      clean.send(mqtt::disconnect_packet{});
      CHECK(clean.closed_by_peer());
    }
    {
      mqtt_test_client lost(broker.mqtt_url(), version::v5);
      REQUIRE(connect_with_will(lost, "lost", "wills/lost"));
    }  // the socket closes without DISCONNECT
    {
      mqtt_test_client asked(broker.mqtt_url(), version::v5);
      REQUIRE(connect_with_will(asked, "asked", "wills/asked"));
      mqtt::disconnect_packet d;
      d.code = reason::disconnect_with_will;
      asked.send(d);
      CHECK(asked.closed_by_peer());
    }
    REQUIRE(wills.wait_for(2));
    // A marker published now comes after any will the clean close might have caused (the
    // broker keeps a subscriber's order): none did.
    REQUIRE(!native.publish("wills/zz-marker", "end"));
    REQUIRE(wills.wait_for(3));
    auto items = wills.items();
    std::sort(items.begin(), items.end());
    CHECK(items ==
          std::vector<std::string>{"wills/asked gone", "wills/lost gone", "wills/zz-marker end"});
  }

  TEST_CASE("a second connection with the same client identifier takes over") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client first(broker.mqtt_url(), version::v5);
    REQUIRE(first.connect("same-id"));
    mqtt_test_client second(broker.mqtt_url(), version::v5);
    REQUIRE(second.connect("same-id"));
    CHECK(first.disconnect_reason() == reason::session_taken_over);
    CHECK(first.closed_by_peer());
    CHECK(second.subscribe("t", 0) == 0);

    // An empty identifier gets one assigned (MQTT 5), or needs a clean session (3.1.1).
    mqtt_test_client anonymous(broker.mqtt_url(), version::v5);
    mqtt::connect_packet c;
    c.clean_start = true;
    auto ack = anonymous.connect(c);
    REQUIRE(ack);
    CHECK(ack->code == 0);
    mqtt_test_client old(broker.mqtt_url(), version::v311);
    c.clean_start = false;
    ack = old.connect(c);
    REQUIRE(ack);
    CHECK(ack->code == 2);  // identifier rejected
  }

  TEST_CASE("the in-flight window holds QoS 1 deliveries until acknowledgements make room") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client sub(broker.mqtt_url(), version::v5);
    mqtt::connect_packet c;
    c.client_id = "slow";
    c.clean_start = true;
    c.props.receive_maximum = 2;
    auto ack = sub.connect(c);
    REQUIRE((ack && ack->code == 0));
    REQUIRE(sub.subscribe("w", 1) == 1);
    mqtt_test_client pub(broker.mqtt_url(), version::v311);
    REQUIRE(pub.connect("fast"));
    for (int i = 0; i < 5; ++i)
      REQUIRE(pub.publish("w", std::to_string(i), 1, false, static_cast<std::uint16_t>(i + 1)));
    auto a = sub.next_message(std::chrono::seconds(5), false);
    auto b = sub.next_message(std::chrono::seconds(5), false);
    REQUIRE((a && b));
    CHECK(a->payload == "0");
    CHECK(b->payload == "1");
    CHECK_FALSE(sub.next_message(std::chrono::milliseconds(300), false));  // window full
    mqtt::ack_packet puback;
    puback.packet_id = a->packet_id;
    sub.send(puback);
    auto c3 = sub.next_message(std::chrono::seconds(5), false);
    REQUIRE(c3);
    CHECK(c3->payload == "2");
  }

  TEST_CASE("topic aliases both ways, no local, subscription identifiers") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client c(broker.mqtt_url(), version::v5);
    mqtt::connect_packet packet;
    packet.client_id = "aliases";
    packet.clean_start = true;
    packet.props.topic_alias_maximum = 5;
    auto ack = c.connect(packet);
    REQUIRE((ack && ack->code == 0));
    mqtt::subscribe_packet s;
    s.packet_id = 1;
    s.props.subscription_identifiers = {77};
    s.requests.push_back({"alias/#", 0});
    c.send(s);
    REQUIRE(c.next_of(packet_type::suback));
    mqtt::subscribe_packet nl;
    nl.packet_id = 2;
    nl.requests.push_back({"mine/#", 0, true});  // no local
    c.send(nl);
    REQUIRE(c.next_of(packet_type::suback));

    // The client sets alias 1, then publishes by alias alone.
    mqtt::publish_packet p;
    p.topic = "alias/long/topic/name";
    p.props.topic_alias = 1;
    p.payload = bytes_of("one");
    c.send(p);
    p.topic = {};
    p.payload = bytes_of("two");
    c.send(p);
    auto first = c.next_message();
    auto second = c.next_message();
    REQUIRE((first && second));
    CHECK(first->topic == "alias/long/topic/name");
    CHECK(first->subscription_ids == std::vector<std::uint32_t>{77});
    // The broker aliases towards the client too: the second comes as its alias alone.
    REQUIRE(first->topic_alias);
    CHECK(second->topic.empty());
    CHECK(second->topic_alias == first->topic_alias);
    CHECK(second->payload == "two");

    // No local: our own publish on mine/ does not come back.
    CHECK(c.publish("mine/x", "self", 0) == reason::success);
    CHECK_FALSE(c.next_message(std::chrono::milliseconds(300)));
  }

  TEST_CASE("shared subscriptions: each message to one member in turn, 3.1.1 and 5 alike") {
    broker_fixture broker(with_mqtt);
    std::vector<std::unique_ptr<mqtt_test_client>> members;
    for (auto v : {version::v311, version::v5, version::v5}) {
      members.push_back(std::make_unique<mqtt_test_client>(broker.mqtt_url(), v));
      REQUIRE(members.back()->connect("member-" + std::to_string(members.size())));
      REQUIRE(members.back()->subscribe("$share/workers/jobs/#", 1) == 1);
    }
    mqtt_test_client watcher(broker.mqtt_url(), version::v311);  // a plain subscriber
    REQUIRE(watcher.connect("watcher"));
    REQUIRE(watcher.subscribe("jobs/#", 0) == 0);
    mqtt_test_client pub(broker.mqtt_url(), version::v311);
    REQUIRE(pub.connect("pub"));
    for (int i = 0; i < 30; ++i)
      REQUIRE(pub.publish("jobs/" + std::to_string(i), std::to_string(i), 1, false,
                          static_cast<std::uint16_t>(i + 1)) == reason::success);
    std::set<std::string> seen;
    for (auto& member : members) {
      int count = 0;
      while (auto m = member->next_message(std::chrono::milliseconds(500))) {
        CHECK(m->qos == 1);
        CHECK(seen.insert(m->payload).second);  // nobody else had it
        ++count;
      }
      CHECK(count == 10);  // in turn
    }
    CHECK(seen.size() == 30);
    int watched = 0;
    while (watcher.next_message(std::chrono::milliseconds(300))) ++watched;
    CHECK(watched == 30);  // a plain subscription gets every one

    // Members that leave with unacknowledged messages: the one left gets them.
    for (std::string payload : {"a", "b", "c"})
      REQUIRE(pub.publish("jobs/" + payload, payload, 1, false, 40) == reason::success);
    std::vector<std::string> held;
    for (auto& member : members) {
      auto m = member->next_message(std::chrono::seconds(2), false);  // not acknowledged
      REQUIRE(m);
      held.push_back(m->payload);
    }
    members.erase(members.begin(), members.begin() + 2);
    std::set<std::string> again;
    for (int i = 0; i < 2; ++i) {
      auto m = members.back()->next_message();
      REQUIRE(m);
      again.insert(m->payload);
    }
    CHECK(again == std::set<std::string>{held[0], held[1]});
  }

  TEST_CASE("MQTT publishes feed queues bound to their topics, and $ topics keep the $ rule") {
    broker_fixture broker(with_mqtt);
    Client native(at(broker.unix_url()));
    REQUIRE(!native.connect());
    std::error_code ec;
    native.admin("queue.create", R"({"name":"orders","bind":["orders/#"]})", ec);
    REQUIRE(!ec);
    mqtt_test_client mq(broker.mqtt_url(), version::v5);
    REQUIRE(mq.connect("binder"));
    REQUIRE(mq.subscribe("#", 0) == 0);  // does not match $SYS/...
    REQUIRE(mq.subscribe("$SYS/connections/#", 0) == 0);
    CHECK(mq.publish("orders/1", "one order", 0) == reason::success);
    auto own = mq.next_message();  // its own publish, through '#'
    REQUIRE(own);
    CHECK(own->topic == "orders/1");
    std::mutex mutex;
    std::vector<std::string> consumed;
    auto consumer = native.consume(
        "orders", {},
        [&](const message& m) {
          std::lock_guard lock(mutex);
          consumed.emplace_back(m.payload());
          (void)native.ack(m.delivery_tag());
        },
        ec);
    REQUIRE(!ec);
    REQUIRE(ipc::test::wait_until([&] {
      std::lock_guard lock(mutex);
      return consumed.size() == 1;
    }));
    CHECK(consumed[0] == "one order");
    // A connection opening is a $SYS event: only the explicit $SYS subscription sees it.
    mqtt_test_client other(broker.mqtt_url(), version::v311);
    REQUIRE(other.connect("other"));
    auto event = mq.next_message();
    REQUIRE(event);
    CHECK(event->topic == "$SYS/connections/open");
    CHECK_FALSE(mq.next_message(std::chrono::milliseconds(300)));  // not twice
  }

  TEST_CASE("mqtt.max_keepalive: MQTT 5 is given a Server Keep Alive, 3.1.1 is refused") {
    broker_fixture broker([](config::broker_config& c) {
      with_mqtt(c);
      c.mqtt.max_keepalive_s = 30;
    });
    mqtt_test_client v5(broker.mqtt_url(), version::v5);
    mqtt::connect_packet c;
    c.client_id = "ka5";
    c.clean_start = true;
    c.keep_alive = 0;  // none: the broker sets one
    v5.send(c);
    auto packet = v5.next_of(packet_type::connack);
    REQUIRE(packet);
    mqtt::connack_packet ack;
    REQUIRE(mqtt::decode(packet->view(), version::v5, ack) == reason::success);
    CHECK(ack.code == 0);
    CHECK(ack.props.server_keep_alive == std::uint16_t{30});
    mqtt_test_client v3(broker.mqtt_url(), version::v311);
    c.client_id = "ka3";
    c.keep_alive = 600;
    auto refused = v3.connect(c);
    REQUIRE(refused);
    CHECK(refused->code == 3);
    c.keep_alive = 20;
    mqtt_test_client ok(broker.mqtt_url(), version::v311);
    auto accepted = ok.connect(c);
    REQUIRE(accepted);
    CHECK(accepted->code == 0);
  }

  TEST_CASE("bad input ends that connection with the right reason, others go on") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client bystander(broker.mqtt_url(), version::v311);
    REQUIRE(bystander.connect("bystander"));
    REQUIRE(bystander.subscribe("ok/#", 0) == 0);

    auto fresh = [&](version v) {
      auto c = std::make_unique<mqtt_test_client>(broker.mqtt_url(), v);
      REQUIRE(c->connect("bad-" + std::to_string(static_cast<int>(v))));
      return c;
    };
    SUBCASE("a wildcard in a PUBLISH topic") {
      auto c = fresh(version::v5);
      c->publish("a/+", "x", 0);
      CHECK(c->disconnect_reason() == reason::topic_name_invalid);
      CHECK(c->closed_by_peer());
    }
    SUBCASE("topic alias 0") {
      auto c = fresh(version::v5);
      mqtt::publish_packet p;
      p.topic = "a";
      p.props.topic_alias = 0;
      mqtt::byte_buffer bytes;
      mqtt::encode(bytes, version::v5, p);
      c->send_bytes(bytes);
      CHECK(c->disconnect_reason().has_value());
      CHECK(c->closed_by_peer());
    }
    SUBCASE("a second CONNECT") {
      auto c = fresh(version::v5);
      mqtt::connect_packet again;
      again.client_id = "again";
      c->send(again);
      CHECK(c->disconnect_reason() == reason::protocol_error);
      CHECK(c->closed_by_peer());
    }
    SUBCASE("reserved flag bits in SUBSCRIBE (3.1.1: closed without a word)") {
      auto c = fresh(version::v311);
      c->send_bytes({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00});  // flags must be 0010
      CHECK(c->closed_by_peer());
    }
    SUBCASE("a first packet that is not CONNECT") {
      mqtt_test_client c(broker.mqtt_url(), version::v311);
      c.send_bytes({0xC0, 0x00});  // PINGREQ
      CHECK(c.closed_by_peer());
    }
    SUBCASE("an unsupported protocol level") {
      mqtt_test_client c(broker.mqtt_url(), version::v311);
      c.send_bytes(
          {0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x09, 0x02, 0x00, 0x3C, 0x00, 0x01, 'x'});
      auto ack = c.next_of(packet_type::connack);
      REQUIRE(ack);
      CHECK(ack->body == std::vector<std::uint8_t>{0x00, 0x01});  // unacceptable version
      CHECK(c.closed_by_peer());
    }
    SUBCASE("a remaining length of five bytes") {
      auto c = fresh(version::v311);
      c->send_bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
      CHECK(c->closed_by_peer());
    }
    mqtt_test_client pub(broker.mqtt_url(), version::v311);
    REQUIRE(pub.connect("pub"));
    REQUIRE(pub.publish("ok/still", "fine", 1));
    auto m = bystander.next_message();
    REQUIRE(m);
    CHECK(m->payload == "fine");
  }

  TEST_CASE("MQTT logins use the broker's users, passwords, tokens and permissions") {
    broker_fixture broker([](config::broker_config& c) {
      with_mqtt(c);
      c.auth.present = true;
      config::user alice;
      alice.name = "alice";
      alice.password = credentials::hash_password("wonderland");
      alice.restricted = true;
      alice.allow.publish = {"alice/#"};
      alice.allow.subscribe = {"alice/#"};
      c.auth.users.push_back(alice);
    });
    mqtt_test_client wrong(broker.mqtt_url(), version::v311);
    mqtt::connect_packet c;
    c.client_id = "a1";
    c.clean_start = true;
    c.user_name = "alice";
    auto bad = std::string("rabbit-hole");
    c.password = bytes_of(bad);
    auto ack = wrong.connect(c);
    REQUIRE(ack);
    CHECK(ack->code == 4);  // bad user name or password
    CHECK(wrong.closed_by_peer());

    mqtt_test_client nobody(broker.mqtt_url(), version::v5);
    mqtt::connect_packet anonymous;
    anonymous.client_id = "a2";
    ack = nobody.connect(anonymous);
    REQUIRE(ack);
    CHECK(ack->code == static_cast<std::uint8_t>(reason::not_authorized));

    mqtt_test_client alice(broker.mqtt_url(), version::v5);
    auto good = std::string("wonderland");
    c.password = bytes_of(good);
    c.client_id = "a3";
    ack = alice.connect(c);
    REQUIRE(ack);
    CHECK(ack->code == 0);
    CHECK(alice.subscribe("alice/in", 1) == 1);
    CHECK(alice.subscribe("bob/in", 1) == static_cast<std::uint8_t>(reason::not_authorized));
    CHECK(alice.publish("alice/in", "mine", 0) == reason::success);
    auto m = alice.next_message();
    REQUIRE(m);
    CHECK(m->payload == "mine");
    CHECK(alice.publish("bob/in", "theirs", 1) == reason::not_authorized);
  }
}

TEST_SUITE("mqtt sessions") {
  mqtt::connect_packet persistent(std::string_view id, version v, bool clean = false) {
    mqtt::connect_packet c;
    c.client_id = id;
    c.clean_start = clean;
    c.keep_alive = 60;
    if (v == version::v5) c.props.session_expiry_interval = 3600;
    return c;
  }

  TEST_CASE(
      "a persistent session keeps subscriptions and QoS 1 messages while its client is away") {
    for (auto v : {version::v311, version::v5}) {
      CAPTURE(static_cast<int>(v));
      broker_fixture broker(with_mqtt);
      {
        mqtt_test_client c(broker.mqtt_url(), v);
        auto ack = c.connect(persistent("keeper", v));
        REQUIRE((ack && ack->code == 0));
        CHECK_FALSE(ack->session_present);
        REQUIRE(c.subscribe("jobs/#", 1) == 1);
        REQUIRE(c.subscribe("news/#", 0) == 0);  // QoS 0: not kept while away
        c.send(mqtt::disconnect_packet{});
        REQUIRE(c.closed_by_peer());
      }
      mqtt_test_client pub(broker.mqtt_url(), version::v311);
      REQUIRE(pub.connect("pub"));
      for (int i = 0; i < 3; ++i)
        REQUIRE(pub.publish("jobs/" + std::to_string(i), "job" + std::to_string(i), 1, false,
                            static_cast<std::uint16_t>(i + 1)) == reason::success);
      REQUIRE(pub.publish("news/x", "missed", 1, false, 9) == reason::success);

      mqtt_test_client back(broker.mqtt_url(), v);
      auto ack = back.connect(persistent("keeper", v));
      REQUIRE((ack && ack->code == 0));
      CHECK(ack->session_present);
      for (int i = 0; i < 3; ++i) {
        auto m = back.next_message();
        REQUIRE(m);
        CHECK(m->payload == "job" + std::to_string(i));
        CHECK(m->qos == 1);
      }
      CHECK_FALSE(back.next_message(std::chrono::milliseconds(300)));
      // The QoS 0 subscription came back with the session.
      REQUIRE(pub.publish("news/y", "live", 0) == reason::success);
      auto live = back.next_message();
      REQUIRE(live);
      CHECK(live->payload == "live");
    }
  }

  TEST_CASE("unacknowledged deliveries are sent again with their packet identifier and DUP") {
    broker_fixture broker(with_mqtt);
    mqtt_test_client pub(broker.mqtt_url(), version::v311);
    REQUIRE(pub.connect("pub"));
    std::uint16_t first_id = 0, second_id = 0;
    {
      mqtt_test_client c(broker.mqtt_url(), version::v5);
      REQUIRE(c.connect(persistent("redo", version::v5)));
      REQUIRE(c.subscribe("r/#", 2) == 2);
      REQUIRE(pub.publish("r/1", "once", 1, false, 1) == reason::success);
      REQUIRE(pub.publish("r/2", "exactly once", 2, false, 2) == reason::success);
      auto a = c.next_message(std::chrono::seconds(5), false);  // not acknowledged
      auto b = c.next_message(std::chrono::seconds(5), false);
      REQUIRE((a && b));
      CHECK(a->qos == 1);
      CHECK(b->qos == 2);
      CHECK_FALSE(a->dup);
      first_id = a->packet_id;
      second_id = b->packet_id;
      // The QoS 2 one gets as far as PUBREC: the broker answers PUBREL.
      mqtt::ack_packet pubrec;
      pubrec.type = packet_type::pubrec;
      pubrec.packet_id = b->packet_id;
      c.send(pubrec);
      REQUIRE(c.next_of(packet_type::pubrel));
    }  // the connection drops
    mqtt_test_client back(broker.mqtt_url(), version::v5);
    auto ack = back.connect(persistent("redo", version::v5));
    REQUIRE((ack && ack->code == 0));
    CHECK(ack->session_present);
    // PUBREL again for the QoS 2 flow, and the QoS 1 message again with DUP.
    std::optional<mqtt_received> pubrel;
    std::optional<test::mqtt_message> again;
    for (int i = 0; i < 2; ++i) {
      auto packet = back.next();
      REQUIRE(packet);
      if (packet->type() == packet_type::pubrel) {
        pubrel = packet;
      } else {
        REQUIRE(packet->type() == packet_type::publish);
        mqtt::publish_packet p;
        REQUIRE(mqtt::decode(packet->view(), version::v5, p) == reason::success);
        again = test::mqtt_message{};
        again->payload.assign(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
        again->dup = p.dup;
        again->packet_id = p.packet_id;
      }
    }
    REQUIRE(pubrel);
    mqtt::ack_packet released;
    REQUIRE(mqtt::decode(pubrel->view(), version::v5, released) == reason::success);
    CHECK(released.packet_id == second_id);
    REQUIRE(again);
    CHECK(again->payload == "once");
    CHECK(again->dup);
    CHECK(again->packet_id == first_id);
    mqtt::ack_packet puback;
    puback.packet_id = first_id;
    back.send(puback);
    mqtt::ack_packet pubcomp;
    pubcomp.type = packet_type::pubcomp;
    pubcomp.packet_id = second_id;
    back.send(pubcomp);
    CHECK_FALSE(back.next_message(std::chrono::milliseconds(300)));  // nothing more
  }

  TEST_CASE("clean start ends a session, a session expires, another user cannot take it") {
    broker_fixture broker([](config::broker_config& c) {
      with_mqtt(c);
      c.auth.present = true;
      for (std::string name : {"ann", "bob"}) {
        config::user u;
        u.name = name;
        u.password = credentials::hash_password("pw-" + name);
        c.auth.users.push_back(u);
      }
    });
    auto as = [](std::string_view id, std::string_view user, const std::string& password,
                 bool clean, std::uint32_t expiry) {
      mqtt::connect_packet c;
      c.client_id = id;
      c.clean_start = clean;
      c.user_name = user;
      c.password = bytes_of(password);
      c.props.session_expiry_interval = expiry;
      return c;
    };
    std::string ann_pw = "pw-ann", bob_pw = "pw-bob";
    auto connect = [&](mqtt::connect_packet c) {
      mqtt_test_client client(broker.mqtt_url(), version::v5);
      auto ack = client.connect(c);
      REQUIRE((ack && ack->code == 0));
      client.send(mqtt::disconnect_packet{});
      CHECK(client.closed_by_peer());
      return ack->session_present;
    };
    CHECK_FALSE(connect(as("s1", "ann", ann_pw, false, 3600)));
    CHECK(connect(as("s1", "ann", ann_pw, false, 3600)));
    CHECK_FALSE(connect(as("s1", "ann", ann_pw, true, 3600)));   // clean start: a new one
    CHECK_FALSE(connect(as("s1", "bob", bob_pw, false, 3600)));  // not bob's: a new one
    CHECK_FALSE(connect(as("s1", "ann", ann_pw, false, 3600)));  // bob's was ann's end

    CHECK_FALSE(connect(as("brief", "ann", ann_pw, false, 1)));
    // Expiry is checked once a second: the session and its queue are gone within three.
    auto queue_exists = [&] {
      bool exists = false;
      broker.on_broker(
          [&](broker::server& s) { exists = s.core().queues().find("mqtt.brief") != nullptr; });
      return exists;
    };
    CHECK(queue_exists());
    CHECK(test::wait_until([&] { return !queue_exists(); }, std::chrono::seconds(5)));
    CHECK_FALSE(connect(as("brief", "ann", ann_pw, false, 1)));
  }

  TEST_CASE("persistent sessions and their messages survive a restart") {
    test::temp_dir dir;
    auto adjust = [path = dir.file("data")](config::broker_config& c) {
      with_mqtt(c);
      c.storage.dir = path;
    };
    std::string port;
    {
      broker_fixture broker(adjust);
      mqtt_test_client c(broker.mqtt_url(), version::v311);
      REQUIRE(c.connect(persistent("durable-one", version::v311)));
      REQUIRE(c.subscribe("keep/#", 2) == 2);
      c.send(mqtt::disconnect_packet{});
      REQUIRE(c.closed_by_peer());
      mqtt_test_client pub(broker.mqtt_url(), version::v311);
      REQUIRE(pub.connect("pub"));
      REQUIRE(pub.publish("keep/a", "kept across", 2, false, 5) == reason::success);
    }
    broker_fixture broker(adjust);
    mqtt_test_client c(broker.mqtt_url(), version::v311);
    auto ack = c.connect(persistent("durable-one", version::v311));
    REQUIRE((ack && ack->code == 0));
    CHECK(ack->session_present);
    auto m = c.next_message();
    REQUIRE(m);
    CHECK(m->payload == "kept across");
    CHECK(m->qos == 2);
  }
}
