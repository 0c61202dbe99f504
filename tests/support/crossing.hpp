// Traffic that must cross between clients of different transports (shm, unix, npipe,
// tcp): checks for the suites that compare them.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "collector.hpp"
#include "ipc/client.hpp"

namespace ipc::test {

// Each client subscribes to x/# into its own collector (`heard`, one per client, declared
// before the clients so that it outlives them) and publishes one message: every client
// hears every other.
inline void check_everyone_hears_everyone(const std::vector<Client*>& all,
                                          std::vector<collector>& heard) {
  REQUIRE(heard.size() == all.size());
  std::vector<subscription> subs;
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::error_code ec;
    subs.push_back(all[i]->subscribe("x/#", heard[i].handler(), ec));
    REQUIRE_FALSE(ec);
  }
  for (std::size_t i = 0; i < all.size(); ++i)
    REQUIRE_FALSE(all[i]->publish_confirmed("x/" + std::to_string(i), "m"));
  for (auto& h : heard) CHECK(h.wait_for(all.size()));
}

// `responder` serves svc/echo; `requester` gets its answer.
inline void check_request_reply(Client& responder, Client& requester) {
  std::error_code ec;
  auto served = responder.serve(
      "svc/echo", [](const message& m) { return std::string("re:") + std::string(m.payload()); },
      false, ec);
  REQUIRE_FALSE(ec);
  auto reply = requester.request("svc/echo", "ping", {}, ec);
  REQUIRE_FALSE(ec);
  CHECK(reply.payload == "re:ping");
}

}  // namespace ipc::test
