// The seam between the durable log and the operating system: every file operation the
// log makes goes through file_system, so tests can make writes and syncs fail (ENOSPC,
// EIO) exactly where they choose. The POSIX implementation is the real one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace ipc::storage {

// A file opened for appending.
class append_file {
 public:
  virtual ~append_file() = default;
  // Writes all of `data` at the end (a short write is an error; the file may then hold
  // part of it: the caller truncates back).
  virtual std::error_code write(std::span<const std::uint8_t> data) = 0;
  virtual std::error_code sync() = 0;  // fdatasync
  virtual std::error_code truncate(std::uint64_t size) = 0;
  virtual std::uint64_t size() const = 0;
};

// An exclusive lock on a directory, held while the object lives.
class dir_lock {
 public:
  virtual ~dir_lock() = default;
};

class file_system {
 public:
  virtual ~file_system() = default;
  virtual std::error_code create_directories(const std::string& path) = 0;
  // Takes the lock file `path` without waiting; `holder` gets the pid written in it by
  // the current holder when the lock is taken already.
  virtual std::unique_ptr<dir_lock> lock(const std::string& path, std::error_code& ec,
                                         std::string& holder) = 0;
  virtual std::unique_ptr<append_file> open_append(const std::string& path,
                                                   std::error_code& ec) = 0;
  virtual std::error_code read_file(const std::string& path, std::vector<std::uint8_t>& out) = 0;
  // Names (not paths) of the entries of a directory.
  virtual std::error_code list(const std::string& dir, std::vector<std::string>& names) = 0;
  virtual std::error_code remove(const std::string& path) = 0;
  virtual std::error_code truncate(const std::string& path, std::uint64_t size) = 0;
  // Replaces `path` with `data` atomically: temp file, sync, rename, sync of the directory.
  virtual std::error_code write_atomic(const std::string& path,
                                       std::span<const std::uint8_t> data) = 0;
  virtual std::error_code sync_directory(const std::string& dir) = 0;
};

// The operating system's files.
std::shared_ptr<file_system> system_file_system();

}  // namespace ipc::storage
