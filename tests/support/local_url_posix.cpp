// local_test_url on POSIX: a socket file in the test's temp dir.
#include "local_url.hpp"

namespace ipc::test {

std::string local_test_url(const temp_dir& dir) { return "unix://" + dir.file("ipcd.sock"); }

}  // namespace ipc::test
