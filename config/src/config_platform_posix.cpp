// Local transports of POSIX builds: Unix domain sockets.
#include "ipc/config/config.hpp"

namespace ipc::config {

bool local_transport_available(std::string_view scheme_name) { return scheme_name == "unix"; }

bool tls_available() { return true; }

}  // namespace ipc::config
