// A shm connection's shared memory on Windows (docs/shared-memory.md §2, §4): an unnamed
// section backed by the paging file, mapped by both sides, and four auto-reset events,
// made by the broker. The broker duplicates handles to them into the client's process
// (the pipe's client process id), each with only the rights the client needs, and the
// handles' values travel to the client in the WELCOME (the token). Unnamed: nobody can
// open them by name; their DACLs allow SYSTEM, Administrators, the broker's account and
// the client's account (with those rights). A section cannot be resized once made, so
// the broker's view can never lose pages under it. Owns its handles and view; no Asio.
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

  // Broker: a fresh segment with rings of `ring_bytes`, its handles duplicated into the
  // process `client_pid`; `client_sid` ("" when unknown) gets the client's rights in the
  // objects' DACLs. `token` names the client's handles.
  static segment create(std::uint32_t ring_bytes, std::uint32_t client_pid,
                        const std::string& client_sid, std::string& token, std::string& error);
  // Client: the segment whose handles (in this process) `token` names; takes ownership
  // of them once the token parses, also when the segment then turns out unusable.
  static segment adopt(std::string_view token, std::string& error);

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
