// Certificates for TLS tests, made once per test process by the openssl command: a CA
// and another CA, a server certificate for localhost and 127.0.0.1, client certificates.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "process.hpp"
#include "temp_dir.hpp"

namespace ipc::test {

// The certificates of one test run.
struct test_pki {
  test_pki() {
    std::ofstream(dir.file("server.ext"))
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
    std::ofstream(dir.file("client.ext")) << "extendedKeyUsage=clientAuth\n";
    make_ca("ca");
    make_ca("other-ca");
    make_leaf("server", "/CN=localhost", "ca");
    make_leaf("client", "/CN=svc-a/O=ipcd tests", "ca");
    make_leaf("rogue", "/CN=svc-a", "other-ca");
    make_leaf("server-renewed", "/CN=localhost", "other-ca");
  }
  std::string file(const std::string& name) const { return dir.file(name); }

 private:
  void run(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    auto result = run_command(args);
    REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  }
  void make_ca(const std::string& name) {
    run({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", file(name + ".key"), "-out", file(name + ".pem"), "-days", "2", "-subj",
         "/CN=ipcd test " + name});
  }
  void make_leaf(const std::string& name, const std::string& subject, const std::string& ca) {
    run({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         file(name + ".key"), "-out", file(name + ".csr"), "-subj", subject});
    std::string ext = name.starts_with("server") ? "server.ext" : "client.ext";
    run({"x509", "-req", "-in", file(name + ".csr"), "-CA", file(ca + ".pem"), "-CAkey",
         file(ca + ".key"), "-CAcreateserial", "-out", file(name + ".pem"), "-days", "2",
         "-extfile", file(ext)});
  }
  temp_dir dir;
};

inline const test_pki& pki() {
  static test_pki instance;
  return instance;
}

}  // namespace ipc::test
