// file_system on Windows: CreateFileW/WriteFile/FlushFileBuffers/SetEndOfFile, MoveFileExW
// with MOVEFILE_WRITE_THROUGH for atomic replacement, and a lock file held open with
// LockFileEx (released by the system when the process dies, like flock on POSIX).
#include <windows.h>

#include <filesystem>

#include "ipc/storage/file_system.hpp"

namespace ipc::storage {
namespace {

std::error_code last_error() { return {static_cast<int>(GetLastError()), std::system_category()}; }

std::wstring wide(const std::string& path) { return std::filesystem::path(path).wstring(); }

std::error_code write_all(HANDLE file, std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    // At most 1 GiB per call: WriteFile takes a DWORD.
    DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(data.size(), 1u << 30));
    DWORD written = 0;
    if (!WriteFile(file, data.data(), chunk, &written, nullptr)) return last_error();
    data = data.subspan(written);
  }
  return {};
}

std::uint64_t file_size(HANDLE file) {
  LARGE_INTEGER size{};
  return GetFileSizeEx(file, &size) ? static_cast<std::uint64_t>(size.QuadPart) : 0;
}

std::error_code set_size(HANDLE file, std::uint64_t size) {
  LARGE_INTEGER position{};
  position.QuadPart = static_cast<LONGLONG>(size);
  if (!SetFilePointerEx(file, position, nullptr, FILE_BEGIN) || !SetEndOfFile(file))
    return last_error();
  position.QuadPart = 0;
  SetFilePointerEx(file, position, nullptr, FILE_END);  // appends go on at the new end
  return {};
}

class windows_file final : public append_file {
 public:
  explicit windows_file(HANDLE file) : file_(file), size_(file_size(file)) {}
  ~windows_file() override { CloseHandle(file_); }
  std::error_code write(std::span<const std::uint8_t> data) override {
    auto ec = write_all(file_, data);
    size_ = file_size(file_);
    return ec;
  }
  std::error_code sync() override {
    return FlushFileBuffers(file_) ? std::error_code{} : last_error();
  }
  std::error_code truncate(std::uint64_t size) override {
    if (auto ec = set_size(file_, size)) return ec;
    size_ = size;
    return {};
  }
  std::uint64_t size() const override { return size_; }

 private:
  HANDLE file_;
  std::uint64_t size_;
};

class windows_lock final : public dir_lock {
 public:
  explicit windows_lock(HANDLE file) : file_(file) {}
  ~windows_lock() override { CloseHandle(file_); }

 private:
  HANDLE file_;
};

class windows_file_system final : public file_system {
 public:
  std::error_code create_directories(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path), ec);
    return ec;
  }

  std::unique_ptr<dir_lock> lock(const std::string& path, std::error_code& ec,
                                 std::string& holder) override {
    HANDLE file = CreateFileW(wide(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                              FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) {
      ec = last_error();
      return nullptr;
    }
    // The lock covers one byte far past the pid text, so that another process can still
    // read who holds it (a locked range cannot be read on Windows).
    OVERLAPPED at{};
    at.Offset = 0x10000000;
    if (!LockFileEx(file, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &at)) {
      if (GetLastError() != ERROR_LOCK_VIOLATION) {  // not held by anyone: a real failure
        ec = last_error();
        CloseHandle(file);
        return nullptr;
      }
      ec = std::make_error_code(std::errc::resource_unavailable_try_again);
      char text[32] = {};
      DWORD n = 0;
      if (ReadFile(file, text, sizeof text - 1, &n, nullptr) && n > 0) holder.assign(text, n);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
      CloseHandle(file);
      return nullptr;
    }
    std::string pid = std::to_string(GetCurrentProcessId()) + "\n";
    if (!set_size(file, 0)) {  // no error: write the pid from the start
      LARGE_INTEGER start{};
      SetFilePointerEx(file, start, nullptr, FILE_BEGIN);
      (void)write_all(file, {reinterpret_cast<const std::uint8_t*>(pid.data()), pid.size()});
    }
    ec.clear();
    return std::make_unique<windows_lock>(file);
  }

  std::unique_ptr<append_file> open_append(const std::string& path, std::error_code& ec) override {
    HANDLE file =
        CreateFileW(wide(path).c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_DELETE, nullptr,
                    OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) {
      ec = last_error();
      return nullptr;
    }
    LARGE_INTEGER zero{};
    SetFilePointerEx(file, zero, nullptr, FILE_END);
    ec.clear();
    return std::make_unique<windows_file>(file);
  }

  std::error_code read_file(const std::string& path, std::vector<std::uint8_t>& out) override {
    out.clear();
    HANDLE file = CreateFileW(wide(path).c_str(), GENERIC_READ,
                              FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                              OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) return last_error();
    std::uint8_t chunk[65536];
    for (;;) {
      DWORD n = 0;
      if (!ReadFile(file, chunk, sizeof chunk, &n, nullptr)) {
        auto ec = last_error();
        CloseHandle(file);
        return ec;
      }
      if (n == 0) break;
      out.insert(out.end(), chunk, chunk + n);
    }
    CloseHandle(file);
    return {};
  }

  std::error_code list(const std::string& dir, std::vector<std::string>& names) override {
    names.clear();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(dir), ec))
      names.push_back(entry.path().filename().string());
    return ec;
  }

  std::error_code remove(const std::string& path) override {
    return DeleteFileW(wide(path).c_str()) ? std::error_code{} : last_error();
  }

  std::error_code truncate(const std::string& path, std::uint64_t size) override {
    HANDLE file = CreateFileW(wide(path).c_str(), GENERIC_WRITE, FILE_SHARE_READ, nullptr,
                              OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) return last_error();
    auto ec = set_size(file, size);
    CloseHandle(file);
    return ec;
  }

  std::error_code write_atomic(const std::string& path,
                               std::span<const std::uint8_t> data) override {
    std::string temp = path + ".tmp";
    HANDLE file = CreateFileW(wide(temp).c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                              FILE_ATTRIBUTE_NORMAL, nullptr);
    if (file == INVALID_HANDLE_VALUE) return last_error();
    auto ec = write_all(file, data);
    if (!ec && !FlushFileBuffers(file)) ec = last_error();
    CloseHandle(file);
    if (!ec && !MoveFileExW(wide(temp).c_str(), wide(path).c_str(),
                            MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
      ec = last_error();
    if (ec) {
      DeleteFileW(wide(temp).c_str());
      return ec;
    }
    // MOVEFILE_WRITE_THROUGH only promises that much for a copy across volumes; flushing
    // the renamed file commits NTFS's metadata log, the rename with it. Renamed: the new
    // content is what a reader sees, so this counts as written either way.
    HANDLE renamed = CreateFileW(wide(path).c_str(), GENERIC_WRITE,
                                 FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                 OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (renamed != INVALID_HANDLE_VALUE) {
      FlushFileBuffers(renamed);
      CloseHandle(renamed);
    }
    return {};
  }

  // NTFS journals directory entries itself; a new file's entry is durable once the
  // file's own data has been flushed.
  std::error_code sync_directory(const std::string&) override { return {}; }
};

}  // namespace

std::shared_ptr<file_system> system_file_system() {
  static auto instance = std::make_shared<windows_file_system>();
  return instance;
}

}  // namespace ipc::storage
