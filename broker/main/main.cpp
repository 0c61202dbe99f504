// ipcd entry point: parse arguments, load the config, build the logger, run (DESIGN rule 7).
#include <CLI/CLI.hpp>
#include <iostream>

#include "ipc/config/config.hpp"
#include "main/run.hpp"
#include "platform/platform.hpp"
#include "server/logging.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ipcd: message broker for interprocess communication"};
  std::string config_file, log_level;
  bool check_only = false;
  app.add_option("-c,--config", config_file, "JSON config file (default: embedded config)");
  app.add_flag("--check", check_only, "validate the config and exit");
  app.add_option("--log-level", log_level, "override log.level (also across reloads)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.set_version_flag("--version", "ipcd " IPCD_VERSION);
  ipc::broker::add_platform_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help, --version: 0; a bad command line: 2
  }

  if (auto code = ipc::broker::run_platform_command(config_file)) return *code;

  auto env = ipc::broker::platform::read_environment();
  // What a reload re-reads: the same file, with the same command-line override.
  auto source = [config_file, log_level, env] {
    auto loaded = ipc::config::load_file(config_file, env);
    if (!log_level.empty()) loaded.config.log.level = log_level;
    return loaded;
  };
  auto loaded = config_file.empty() ? ipc::config::load_result{ipc::config::default_config(env), {}}
                                    : source();
  for (const auto& error : loaded.errors)
    std::cerr << (error.path.empty() ? config_file : error.path) << ": " << error.message << "\n";
  if (!loaded.ok()) return 2;
  if (check_only) {
    std::cout << (config_file.empty() ? "embedded default config" : config_file) << ": ok\n";
    return 0;
  }
  std::string log_error;
  auto logger = ipc::broker::make_logger(loaded.config.log,
                                         ipc::broker::platform::stderr_is_journal(), log_error);
  if (!logger) {
    std::cerr << log_error << "\n";
    return 2;
  }
  std::function<ipc::config::load_result()> reload_source;
  if (!config_file.empty()) reload_source = source;
  return ipc::broker::run(loaded.config, logger, reload_source);
}
