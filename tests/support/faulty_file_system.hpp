// A file_system that passes through to the real one until a test tells it to fail:
// writes fail half way with a chosen error (ENOSPC, EIO) and/or syncs fail, like a full
// or failing disk. Thread-safe: the log's writer thread calls it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "ipc/storage/file_system.hpp"

namespace ipc::test {

class faulty_file_system final : public storage::file_system {
 public:
  faulty_file_system() : real_(storage::system_file_system()) {}

  // 0 = work normally; else fail with this errno.
  void fail_writes(int error) { write_error_ = error; }
  void fail_syncs(int error) { sync_error_ = error; }
  // Syncs wait until released: a disk that has stalled.
  void stall_syncs(bool stalled) {
    {
      std::lock_guard lock(stall_mutex_);
      stalled_ = stalled;
    }
    stall_changed_.notify_all();
  }
  std::uint64_t stalled_syncs() const { return stalled_syncs_; }
  std::uint64_t failed_writes() const { return failed_writes_; }
  std::uint64_t failed_syncs() const { return failed_syncs_; }

  std::error_code create_directories(const std::string& path) override {
    return real_->create_directories(path);
  }
  std::unique_ptr<storage::dir_lock> lock(const std::string& path, std::error_code& ec,
                                          std::string& holder) override {
    return real_->lock(path, ec, holder);
  }
  std::unique_ptr<storage::append_file> open_append(const std::string& path,
                                                    std::error_code& ec) override;
  std::error_code read_file(const std::string& path, std::vector<std::uint8_t>& out) override {
    return real_->read_file(path, out);
  }
  std::error_code list(const std::string& dir, std::vector<std::string>& names) override {
    return real_->list(dir, names);
  }
  std::error_code remove(const std::string& path) override { return real_->remove(path); }
  std::error_code truncate(const std::string& path, std::uint64_t size) override {
    return real_->truncate(path, size);
  }
  std::error_code write_atomic(const std::string& path,
                               std::span<const std::uint8_t> data) override {
    if (int e = write_error_.load()) {
      ++failed_writes_;
      return {e, std::generic_category()};
    }
    return real_->write_atomic(path, data);
  }
  std::error_code sync_directory(const std::string& dir) override {
    return real_->sync_directory(dir);
  }

 private:
  class file;
  std::shared_ptr<storage::file_system> real_;
  std::atomic<int> write_error_{0}, sync_error_{0};
  std::atomic<std::uint64_t> failed_writes_{0}, failed_syncs_{0}, stalled_syncs_{0};
  std::mutex stall_mutex_;
  std::condition_variable stall_changed_;
  bool stalled_ = false;
};

class faulty_file_system::file final : public storage::append_file {
 public:
  file(faulty_file_system& owner, std::unique_ptr<storage::append_file> real)
      : owner_(owner), real_(std::move(real)) {}
  std::error_code write(std::span<const std::uint8_t> data) override {
    if (int e = owner_.write_error_.load()) {
      ++owner_.failed_writes_;
      (void)real_->write(data.first(data.size() / 2));  // a torn write, as a full disk leaves
      return {e, std::generic_category()};
    }
    return real_->write(data);
  }
  std::error_code sync() override {
    {
      std::unique_lock lock(owner_.stall_mutex_);
      if (owner_.stalled_) ++owner_.stalled_syncs_;
      owner_.stall_changed_.wait(lock, [&] { return !owner_.stalled_; });
    }
    if (int e = owner_.sync_error_.load()) {
      ++owner_.failed_syncs_;
      return {e, std::generic_category()};
    }
    return real_->sync();
  }
  std::error_code truncate(std::uint64_t size) override { return real_->truncate(size); }
  std::uint64_t size() const override { return real_->size(); }

 private:
  faulty_file_system& owner_;
  std::unique_ptr<storage::append_file> real_;
};

inline std::unique_ptr<storage::append_file> faulty_file_system::open_append(
    const std::string& path, std::error_code& ec) {
  auto real = real_->open_append(path, ec);
  if (!real) return nullptr;
  return std::make_unique<file>(*this, std::move(real));
}

}  // namespace ipc::test
