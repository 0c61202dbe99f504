// A shm connection's shared memory on Windows (docs/shared-memory.md §2, §4): a section
// backed by the paging file, mapped by both sides, and four auto-reset events, made by
// the broker as named objects under a random name (128 bits from the system's generator,
// in the Global\ namespace, or Local\ where the broker may not create global sections)
// whose DACLs allow SYSTEM, Administrators, the broker's account, and the client's account
// only what the client needs. The name travels to the client in the WELCOME (the token)
// and the client opens the objects with those rights. Nothing is handed into the client's
// process: no access to it is needed, and objects the client never opened vanish with the
// broker's handles. A section cannot be resized once made, so the broker's view can never
// lose pages under it. Owns its handles and view; no Asio.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ipc/transport/shm_ring.hpp"

namespace ipc::transport::shm {

class segment {
 public:
  segment() = default;
  segment(segment&& other) noexcept;
  segment& operator=(segment&& other) noexcept;
  ~segment();

  // Broker: a fresh segment with rings of `ring_bytes` that the account `client_sid` may
  // open with the client's rights; `token` is the objects' name.
  static segment create(std::uint32_t ring_bytes, const std::string& client_sid, std::string& token,
                        std::string& error);
  // Client: opens the segment a broker named (only names of the form create() makes).
  static segment open(std::string_view token, std::string& error);

  bool valid() const { return view_ != nullptr; }
  std::span<std::uint8_t> memory() const { return {view_, bytes_}; }
  std::uint32_t ring_bytes() const { return ring_bytes_; }
  // This side's event for `slot`: the one it waits on or the one it sets (a HANDLE).
  void* wake_handle(wake_slot slot) const { return events_[slot]; }
  // Hands an event this side waits on over (to an Asio object handle that closes it).
  void* release_wake_handle(wake_slot slot);

 private:
  void reset();

  std::uint8_t* view_ = nullptr;
  std::size_t bytes_ = 0;
  std::uint32_t ring_bytes_ = 0;
  void* section_ = nullptr;
  std::array<void*, wake_slots> events_{};
};

// Wakes the side that waits on `event` (SetEvent; never blocks).
void signal_wake(void* event);

}  // namespace ipc::transport::shm
