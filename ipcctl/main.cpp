// ipcctl entry point: global options, one subcommand family per file, exit codes of SPEC §6.
#include <iostream>

#include "common.hpp"

int main(int argc, char** argv) {
  CLI::App app{"ipcctl: client and admin tool for the ipcd message broker"};
  app.set_version_flag("--version", "ipcctl " IPCD_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  ipcctl::global_options global;
  int exit_status = ipcctl::exit_ok;
  ipcctl::add_global_options(app, global);
  app.parse_complete_callback([&] {
    if (global.timeout_text.empty()) return;
    global.timeout = ipcctl::parse_duration(global.timeout_text);
    if (!global.timeout)
      throw CLI::ValidationError("--timeout", "not a duration: " + global.timeout_text);
  });
  ipcctl::register_pubsub(app, global, exit_status);
  ipcctl::register_admin(app, global, exit_status);
  ipcctl::register_queues(app, global, exit_status);
  ipcctl::register_queue_admin(app, global, exit_status);
  ipcctl::register_bench(app, global, exit_status);
  ipcctl::register_passwd(app, global, exit_status);
  ipcctl::register_config_admin(app, global, exit_status);
  ipcctl::register_uplinks(app, global, exit_status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : ipcctl::exit_usage;
  }
  return exit_status;
}
