// nats_cluster: nats-server processes on loopback ports (nats_cluster.hpp).
#include "nats_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "wait.hpp"

namespace ipc::test {

int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

nats_cluster::nats_cluster(std::size_t nodes, tls_files tls) : tls_(std::move(tls)) {
  nodes_.resize(nodes);
  for (auto& n : nodes_) {
    n.client_port = unused_port();
    n.cluster_port = unused_port();
  }
}

nats_cluster::~nats_cluster() {
  for (auto& n : nodes_)
    if (n.process && n.process->running()) n.process->signal(SIGKILL);
}

std::string nats_cluster::url(std::size_t i) const {
  return (tls_.cert.empty() ? "nats://127.0.0.1:" : "tls://127.0.0.1:") +
         std::to_string(nodes_[i].client_port);
}

std::string nats_cluster::log(std::size_t i) const {
  return nodes_[i].process ? nodes_[i].process->err() + nodes_[i].process->out() : "";
}

bool nats_cluster::start() {
  // A port unused_port() found free can be taken before a node binds it: tests run in
  // parallel, and an outgoing connection's local port comes from the same range. When a
  // node exits at once, the whole cluster starts again on new ports (three tries).
  for (int attempt = 1;; ++attempt) {
    bool started = true;
    for (std::size_t i = 0; i < nodes_.size() && started; ++i) started = start_node(i);
    for (std::size_t i = 0; i < nodes_.size() && started; ++i) started = wait_routes(i);
    if (started) return true;
    bool exited = false;
    for (auto& n : nodes_) exited = exited || (n.process && !n.process->running());
    if (!exited || attempt == 3) return false;
    for (auto& n : nodes_) {
      if (n.process && n.process->running()) n.process->signal(SIGKILL);
      if (n.process) n.process->wait(std::chrono::seconds(5));
      n.client_port = unused_port();
      n.cluster_port = unused_port();
    }
  }
}

bool nats_cluster::start_node(std::size_t i) {
  auto& n = nodes_[i];
  std::string routes;
  for (const auto& other : nodes_)
    routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") +
              std::to_string(other.cluster_port);
  // Advertised on loopback only: the servers tell clients 127.0.0.1:PORT in connect_urls.
  std::vector<std::string> argv{nats_server_binary(),
                                "-n",
                                "node" + std::to_string(i + 1),
                                "-a",
                                "127.0.0.1",
                                "-p",
                                std::to_string(n.client_port),
                                "--cluster_name",
                                "ipcd-tests",
                                "--cluster",
                                "nats://127.0.0.1:" + std::to_string(n.cluster_port),
                                "--routes",
                                routes};
  if (!tls_.cert.empty())
    argv.insert(argv.end(), {"--tls", "--tlscert", tls_.cert, "--tlskey", tls_.key});
  n.process = std::make_unique<child_process>(argv);
  bool listening = wait_until(
      [&] { return log(i).find("Server is ready") != std::string::npos || !n.process->running(); });
  return listening && n.process->running() && (nodes_.size() == 1 || wait_routes(i));
}

bool nats_cluster::wait_routes(std::size_t i) {
  // Every other node started has a route to this one: "Route connection created" lines.
  std::size_t others = 0;
  for (std::size_t j = 0; j < nodes_.size(); ++j)
    if (j != i && nodes_[j].process && nodes_[j].process->running()) ++others;
  return wait_until([&] {
    std::size_t count = 0;
    auto text = log(i);
    for (auto at = text.find("Route connection created"); at != std::string::npos;
         at = text.find("Route connection created", at + 1))
      ++count;
    return count >= others;
  });
}

void nats_cluster::stop_node(std::size_t i) {
  if (nodes_[i].process) {
    nodes_[i].process->signal(SIGKILL);
    nodes_[i].process->wait(std::chrono::seconds(5));
  }
}

}  // namespace ipc::test
