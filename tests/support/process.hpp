// Child processes for black-box tests: real ipcd brokers and ipcctl commands, with
// output captured to files and waits bounded by deadlines.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace ipc::test {

// Paths of the binaries under test (set by CMake).
std::string ipcd_binary();
std::string ipcctl_binary();

class child_process {
 public:
  // Starts argv[0] with stdout/stderr to files in a private temp dir; stdin gets
  // `input` then end-of-file. `extra_env` entries are "NAME=VALUE"; "JOURNAL_STREAM=*"
  // becomes the device:inode of the child's stderr (as systemd sets it). `listen_fds`
  // are passed as descriptors 3, 4, … with LISTEN_PID/LISTEN_FDS (socket activation).
  explicit child_process(const std::vector<std::string>& argv, const std::string& input = {},
                         const std::vector<std::string>& extra_env = {},
                         const std::vector<int>& listen_fds = {});
  ~child_process();  // kills the child if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  int pid() const { return pid_; }
  void signal(int number);
  // The exit code (128+N for a signal), or nullopt if still running after `limit`.
  std::optional<int> wait(std::chrono::milliseconds limit = std::chrono::seconds(30));
  bool running();
  std::string out() const;
  std::string err() const;

 private:
  temp_dir dir_;
  int pid_ = -1;
  std::optional<int> status_;
};

struct command_result {
  int exit_code = -1;
  std::string out, err;
};

// Runs a command to completion (killed after `limit`, exit_code -1 then).
command_result run_command(const std::vector<std::string>& argv, const std::string& input = {},
                           std::chrono::milliseconds limit = std::chrono::seconds(60));

// A real ipcd process on a config written to a temp dir; start() waits until it has
// logged its bound listeners and "ready".
class ipcd_process {
 public:
  // `listeners_json` is the value of "listeners"; "{dir}" in it (and in `extra_sections`)
  // becomes the temp dir.
  explicit ipcd_process(std::string listeners_json = R"([{"url":"unix://{dir}/ipcd.sock"},
                                                       {"url":"tcp://127.0.0.1:0"}])",
                        std::string extra_sections = {});
  ~ipcd_process();

  // Without it ipcd runs with --log-level debug (which a reload does not change).
  void use_config_log_level() { debug_log_ = false; }
  // Writes the config file again (for reload tests); same arguments as the constructor.
  void write_config(std::string listeners_json, std::string extra_sections = {});
  bool start(std::chrono::milliseconds limit = std::chrono::seconds(10),
             const std::vector<std::string>& extra_env = {},
             const std::vector<int>& listen_fds = {});
  void signal(int number) { child_->signal(number); }
  bool running() { return child_ && child_->running(); }
  std::optional<int> stop(std::chrono::milliseconds limit = std::chrono::seconds(10));  // SIGTERM
  void kill9();
  int pid() const { return child_ ? child_->pid() : -1; }
  std::string unix_url() const { return unix_url_; }
  std::string tcp_url() const { return tcp_url_; }
  // An mqtt:// listener's bound address (mqtt://127.0.0.1:PORT), and its port alone.
  std::string mqtt_url() const { return mqtt_url_; }
  std::string mqtt_port() const { return mqtt_url_.substr(mqtt_url_.rfind(':') + 1); }
  // The port of the listener logged as "listening on SCHEME://HOST:PORT" ("" if none).
  std::string port_of(const std::string& scheme) const;
  std::string log() const;
  const temp_dir& dir() const { return dir_; }
  std::string config_path() const { return dir_.file("ipcd.json"); }

 private:
  temp_dir dir_;
  std::unique_ptr<child_process> child_;
  std::string unix_url_, tcp_url_, mqtt_url_;
  bool debug_log_ = true;
};

}  // namespace ipc::test
