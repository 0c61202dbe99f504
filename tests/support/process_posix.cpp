// child_process on POSIX: fork/exec with redirected stdio, waitpid polling with deadlines.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "process.hpp"
#include "wait.hpp"

namespace ipc::test {

std::string ipcd_binary() { return IPCD_TEST_IPCD_BINARY; }
std::string ipcctl_binary() { return IPCD_TEST_IPCCTL_BINARY; }

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

child_process::child_process(const std::vector<std::string>& argv, const std::string& input,
                             const std::vector<std::string>& extra_env,
                             const std::vector<int>& listen_fds) {
  std::string input_path = dir_.file("stdin");
  std::ofstream(input_path, std::ios::binary) << input;
  std::string out_path = dir_.file("stdout"), err_path = dir_.file("stderr");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int in = ::open(input_path.c_str(), O_RDONLY);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    // Out of the way first, so that moving one to 3 + i cannot overwrite another.
    std::vector<int> moved;
    for (int fd : listen_fds) moved.push_back(::fcntl(fd, F_DUPFD_CLOEXEC, 100));
    for (std::size_t i = 0; i < moved.size(); ++i) ::dup2(moved[i], 3 + static_cast<int>(i));
    if (!listen_fds.empty()) {
      ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
      ::setenv("LISTEN_FDS", std::to_string(listen_fds.size()).c_str(), 1);
    }
    for (const auto& assignment : extra_env) {
      if (assignment == "JOURNAL_STREAM=*") {
        struct stat info {};
        ::fstat(2, &info);
        ::setenv("JOURNAL_STREAM",
                 (std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino)).c_str(), 1);
        continue;
      }
      ::putenv(const_cast<char*>(assignment.c_str()));
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
}

void child_process::signal(int number) { ::kill(pid_, number); }

bool child_process::running() {
  if (status_) return false;
  int raw = 0;
  if (::waitpid(pid_, &raw, WNOHANG) == pid_)
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
  return !status_;
}

std::optional<int> child_process::wait(std::chrono::milliseconds limit) {
  wait_until([this] { return !running(); }, limit);
  return status_;
}

std::string child_process::out() const { return slurp(dir_.file("stdout")); }
std::string child_process::err() const { return slurp(dir_.file("stderr")); }

command_result run_command(const std::vector<std::string>& argv, const std::string& input,
                           std::chrono::milliseconds limit) {
  child_process child(argv, input);
  auto code = child.wait(limit);
  if (!code) {
    child.signal(SIGKILL);
    child.wait(std::chrono::seconds(5));
  }
  return {code.value_or(-1), child.out(), child.err()};
}

ipcd_process::ipcd_process(std::string listeners_json, std::string extra_sections) {
  write_config(std::move(listeners_json), std::move(extra_sections));
}

void ipcd_process::write_config(std::string listeners_json, std::string extra_sections) {
  auto dir = dir_.path().string();
  for (auto at = listeners_json.find("{dir}"); at != std::string::npos;
       at = listeners_json.find("{dir}"))
    listeners_json.replace(at, 5, dir);
  for (auto at = extra_sections.find("{dir}"); at != std::string::npos;
       at = extra_sections.find("{dir}"))
    extra_sections.replace(at, 5, dir);
  std::ofstream(config_path()) << "{\"listeners\": " << listeners_json
                               << ", \"storage\": {\"dir\": \"" << dir << "/data\"}"
                               << (extra_sections.empty() ? "" : ", " + extra_sections) << "}";
}

ipcd_process::~ipcd_process() {
  if (child_ && child_->running()) stop(std::chrono::seconds(5));
}

bool ipcd_process::start(std::chrono::milliseconds limit, const std::vector<std::string>& extra_env,
                         const std::vector<int>& listen_fds) {
  child_ = std::make_unique<child_process>(
      debug_log_
          ? std::vector<std::string>{ipcd_binary(), "-c", config_path(), "--log-level", "debug"}
          : std::vector<std::string>{ipcd_binary(), "-c", config_path()},
      "", extra_env, listen_fds);
  // "ipcd VERSION ready", not any "ready" ("already listening" is a failure).
  std::regex ready("ipcd [0-9][^ ]* ready");
  if (!wait_until([&] { return std::regex_search(log(), ready) || !child_->running(); }, limit))
    return false;
  std::regex listening("listening on ([^\\s\"]+)");
  std::string text = log();
  for (std::sregex_iterator it(text.begin(), text.end(), listening), end; it != end; ++it) {
    std::string url = (*it)[1];
    if (url.starts_with("unix://")) unix_url_ = url;
    if (url.starts_with("tcp://")) tcp_url_ = url;
    if (url.starts_with("mqtt://")) mqtt_url_ = url;
  }
  return child_->running();
}

std::string ipcd_process::port_of(const std::string& scheme) const {
  std::regex listening("listening on " + scheme + "://[^\\s\"]*:([0-9]+)");
  std::smatch found;
  std::string text = log();
  return std::regex_search(text, found, listening) ? found[1].str() : std::string();
}

std::optional<int> ipcd_process::stop(std::chrono::milliseconds limit) {
  child_->signal(SIGTERM);
  return child_->wait(limit);
}

void ipcd_process::kill9() {
  child_->signal(SIGKILL);
  child_->wait(std::chrono::seconds(5));
}

std::string ipcd_process::log() const { return child_ ? child_->err() : std::string(); }

}  // namespace ipc::test
