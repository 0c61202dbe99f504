// libFuzzer target: the config loader (docs/config.md) on arbitrary text: it must report
// errors, never crash, whatever the JSON holds. Run by scripts/fuzz.sh.
#include <string_view>

#include "ipc/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ipc::config::environment env;
  env.xdg_runtime_dir = "/run/user/1000";
  auto result = ipc::config::parse(text, env);
  if (result.ok()) (void)ipc::config::validate(result.config);
  return 0;
}
