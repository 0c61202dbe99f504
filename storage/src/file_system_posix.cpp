// file_system on POSIX: open/write/fdatasync/ftruncate/rename, flock for the directory
// lock (released by the kernel when the process dies, so a kill -9 leaves no stale lock).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "ipc/storage/file_system.hpp"

namespace ipc::storage {
namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

std::error_code write_all(int fd, std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return last_error();
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

class posix_file final : public append_file {
 public:
  posix_file(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~posix_file() override { ::close(fd_); }
  std::error_code write(std::span<const std::uint8_t> data) override {
    auto ec = write_all(fd_, data);
    off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end >= 0) size_ = static_cast<std::uint64_t>(end);
    return ec;
  }
  std::error_code sync() override {
    return ::fdatasync(fd_) == 0 ? std::error_code{} : last_error();
  }
  std::error_code truncate(std::uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return last_error();
    size_ = size;
    return {};
  }
  std::uint64_t size() const override { return size_; }

 private:
  int fd_;
  std::uint64_t size_;
};

class posix_lock final : public dir_lock {
 public:
  explicit posix_lock(int fd) : fd_(fd) {}
  ~posix_lock() override { ::close(fd_); }

 private:
  int fd_;
};

class posix_file_system final : public file_system {
 public:
  std::error_code create_directories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    return ec;
  }

  std::unique_ptr<dir_lock> lock(const std::string& path, std::error_code& ec,
                                 std::string& holder) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      ec = last_error();
      return nullptr;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ec = last_error();
      char text[32] = {};
      ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
      if (n > 0) holder.assign(text, static_cast<std::size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      ::close(fd);
      return nullptr;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) (void)::pwrite(fd, pid.data(), pid.size(), 0);
    ec.clear();
    return std::make_unique<posix_lock>(fd);
  }

  std::unique_ptr<append_file> open_append(const std::string& path, std::error_code& ec) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      ec = last_error();
      return nullptr;
    }
    off_t end = ::lseek(fd, 0, SEEK_END);
    ec.clear();
    return std::make_unique<posix_file>(fd, end < 0 ? 0 : static_cast<std::uint64_t>(end));
  }

  std::error_code read_file(const std::string& path, std::vector<std::uint8_t>& out) override {
    out.clear();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::uint8_t chunk[65536];
    for (;;) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        auto ec = last_error();
        ::close(fd);
        return ec;
      }
      if (n == 0) break;
      out.insert(out.end(), chunk, chunk + n);
    }
    ::close(fd);
    return {};
  }

  std::error_code list(const std::string& dir, std::vector<std::string>& names) override {
    names.clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return last_error();
    while (dirent* entry = ::readdir(d)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    return {};
  }

  std::error_code remove(const std::string& path) override {
    return ::unlink(path.c_str()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code truncate(const std::string& path, std::uint64_t size) override {
    return ::truncate(path.c_str(), static_cast<off_t>(size)) == 0 ? std::error_code{}
                                                                   : last_error();
  }

  std::error_code write_atomic(const std::string& path,
                               std::span<const std::uint8_t> data) override {
    std::string temp = path + ".tmp";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return last_error();
    auto ec = write_all(fd, data);
    if (!ec && ::fsync(fd) != 0) ec = last_error();
    ::close(fd);
    if (!ec && ::rename(temp.c_str(), path.c_str()) != 0) ec = last_error();
    if (ec) {
      ::unlink(temp.c_str());
      return ec;
    }
    // Renamed: the new content is what a reader sees, so this counts as written; the
    // directory sync only hardens the rename against power loss.
    (void)sync_directory(std::filesystem::path(path).parent_path().string());
    return {};
  }

  std::error_code sync_directory(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::error_code ec;
    if (::fsync(fd) != 0) ec = last_error();
    ::close(fd);
    return ec;
  }
};

}  // namespace

std::shared_ptr<file_system> system_file_system() {
  static auto instance = std::make_shared<posix_file_system>();
  return instance;
}

}  // namespace ipc::storage
