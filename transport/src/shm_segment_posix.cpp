// The shm segment on Linux: memfd_create, seals, mmap and the wake-up pipes.
#include "shm_segment_posix.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ipc::transport::shm {
namespace {

std::string os_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The seals a segment must carry before the broker maps it for good: nobody can shrink
// it (an access past a shrunk end is SIGBUS), grow it, or lift the seals.
constexpr int required_seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

}  // namespace

segment::segment(segment&& other) noexcept { *this = std::move(other); }

segment& segment::operator=(segment&& other) noexcept {
  if (this != &other) {
    reset();
    memory_ = std::exchange(other.memory_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    ring_bytes_ = std::exchange(other.ring_bytes_, 0);
    memfd_ = std::exchange(other.memfd_, -1);
    wakes_ = std::exchange(other.wakes_, {-1, -1, -1, -1});
    passed_ = std::exchange(other.passed_, {-1, -1, -1, -1});
  }
  return *this;
}

segment::~segment() { reset(); }

void segment::reset() {
  if (memory_ != nullptr) ::munmap(memory_, bytes_);
  memory_ = nullptr;
  close_passed();
  for (int& fd : wakes_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

std::array<int, 1 + wake_slots> segment::descriptors() const {
  return {memfd_, passed_[0], passed_[1], passed_[2], passed_[3]};
}

void segment::close_passed() {
  if (memfd_ >= 0) ::close(memfd_);
  memfd_ = -1;
  for (int& fd : passed_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

int segment::release_wake_descriptor(wake_slot slot) { return std::exchange(wakes_[slot], -1); }

segment segment::create(std::uint32_t ring_bytes, std::string& error) {
  segment made;
  if (!valid_ring_bytes(ring_bytes)) {
    error = "invalid ring size " + std::to_string(ring_bytes);
    return {};
  }
  made.memfd_ = ::memfd_create("ipcd-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (made.memfd_ < 0) {
    error = os_error("memfd_create");
    return {};
  }
  made.bytes_ = segment_bytes(ring_bytes);
  if (::ftruncate(made.memfd_, static_cast<off_t>(made.bytes_)) != 0) {
    error = os_error("ftruncate");
    return {};
  }
  if (::fcntl(made.memfd_, F_ADD_SEALS, required_seals) != 0) {
    error = os_error("sealing the segment");
    return {};
  }
  void* mapped = ::mmap(nullptr, made.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, made.memfd_, 0);
  if (mapped == MAP_FAILED) {
    error = os_error("mmap");
    return {};
  }
  made.memory_ = static_cast<std::uint8_t*>(mapped);
  made.ring_bytes_ = ring_bytes;
  initialize_segment(made.memory(), ring_bytes);
  for (std::size_t slot = 0; slot < wake_slots; ++slot) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) {
      error = os_error("pipe2");
      return {};
    }
    bool waits = broker_waits(static_cast<wake_slot>(slot));
    made.wakes_[slot] = ends[waits ? 0 : 1];
    made.passed_[slot] = ends[waits ? 1 : 0];
  }
  return made;
}

segment segment::adopt(std::vector<int> descriptors, std::string& error) {
  segment adopted;
  if (descriptors.size() != 1 + wake_slots) {
    for (int fd : descriptors) ::close(fd);
    error = "expected 5 descriptors with the switch to shared memory, got " +
            std::to_string(descriptors.size());
    return {};
  }
  adopted.memfd_ = descriptors[0];
  for (std::size_t i = 0; i < wake_slots; ++i) adopted.wakes_[i] = descriptors[i + 1];
  for (int fd : adopted.wakes_) {  // ours alone now: make sure a wait never blocks
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      error = "the shared-memory wake-up descriptors are not usable";
      return {};
    }
  }
  int seals = ::fcntl(adopted.memfd_, F_GET_SEALS);
  if (seals < 0 || (seals & required_seals) != required_seals) {
    error = "the shared-memory segment is not sealed against resizing";
    return {};
  }
  struct stat info {};
  if (::fstat(adopted.memfd_, &info) != 0 ||
      info.st_size < static_cast<off_t>(control_page_bytes)) {
    error = "the shared-memory segment is too small";
    return {};
  }
  adopted.bytes_ = static_cast<std::size_t>(info.st_size);
  void* mapped =
      ::mmap(nullptr, adopted.bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, adopted.memfd_, 0);
  if (mapped == MAP_FAILED) {
    error = os_error("mmap");
    return {};
  }
  adopted.memory_ = static_cast<std::uint8_t*>(mapped);
  adopted.ring_bytes_ = read_ring_bytes(adopted.memory());
  if (adopted.ring_bytes_ == 0) {
    error = "the shared-memory segment's header is not an ipcd ring layout this client knows";
    return {};
  }
  return adopted;
}

void signal_wake(int fd) {
  char token = 1;
  // EAGAIN: the pipe is full, so its reader has a wake-up waiting anyway.
  [[maybe_unused]] auto written = ::write(fd, &token, 1);
}

}  // namespace ipc::transport::shm
