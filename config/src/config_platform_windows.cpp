// Local transports of Windows builds: named pipes.
#include "ipc/config/config.hpp"

namespace ipc::config {

bool local_transport_available(std::string_view scheme_name) { return scheme_name == "npipe"; }

bool tls_available() { return false; }

}  // namespace ipc::config
