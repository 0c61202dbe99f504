// A real NATS cluster for the uplink tests (docs/uplinks.md): Debian's nats-server, three
// nodes routed to each other on loopback ports, each a child process that a test can kill
// and start again, optionally with TLS on the client port.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace ipc::test {

// A TCP port on 127.0.0.1 that nobody listened on a moment ago.
int unused_port();

class nats_cluster {
 public:
  struct tls_files {
    std::string cert, key;  // the server's (its CA is the test PKI's)
  };
  explicit nats_cluster(std::size_t nodes = 3, tls_files tls = {});
  ~nats_cluster();

  // Starts every node and waits until each has a route to every other (on new ports,
  // up to three times, when a node exits at once: its port was taken meanwhile).
  bool start();
  void stop_node(std::size_t i);   // SIGKILL: a host that is gone
  bool start_node(std::size_t i);  // again, on its ports, waiting for its routes
  std::size_t size() const { return nodes_.size(); }
  // nats://127.0.0.1:PORT (tls:// with TLS) of node i.
  std::string url(std::size_t i) const;
  int port(std::size_t i) const { return nodes_[i].client_port; }
  std::string log(std::size_t i) const;

 private:
  struct node {
    int client_port = 0, cluster_port = 0;
    std::unique_ptr<child_process> process;
  };
  bool wait_routes(std::size_t i);
  temp_dir dir_;
  tls_files tls_;
  std::vector<node> nodes_;
};

// Where Debian puts nats-server (/usr/sbin is not on every PATH).
inline const char* nats_server_binary() { return "/usr/sbin/nats-server"; }

}  // namespace ipc::test
