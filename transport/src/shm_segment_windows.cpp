// The shm segment on Windows: a paging-file section, its view, four events, and the
// handles duplicated into the client's process.
#include "shm_segment_windows.hpp"

#include <windows.h>

#include <charconv>
#include <cstdio>
#include <utility>

#include "security_windows.hpp"

namespace ipc::transport::shm {
namespace {

std::string os_error(const char* what, DWORD code = GetLastError()) {
  return std::string(what) + ": Windows error " + std::to_string(code);
}

// What the client may do with each object: map the section for reading and writing; wait
// on the events it sleeps on, set the ones that wake the broker. Nothing else (no
// resizing a section can do anyway, no WRITE_DAC, no waiting on the broker's events).
constexpr DWORD client_section_rights = FILE_MAP_READ | FILE_MAP_WRITE;
constexpr DWORD client_event_rights(wake_slot slot) {
  return broker_waits(slot) ? EVENT_MODIFY_STATE : SYNCHRONIZE;
}

// D:P = protected DACL: SYSTEM, Administrators and the broker's account have full
// control; the client's account the rights above.
std::string dacl(const std::string& client_sid, DWORD client_rights) {
  std::string sddl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";
  if (auto self = win::own_sid(); !self.empty()) sddl += "(A;;GA;;;" + self + ")";
  if (!client_sid.empty()) {
    char rights[16];
    std::snprintf(rights, sizeof rights, "0x%lx", static_cast<unsigned long>(client_rights));
    sddl += std::string("(A;;") + rights + ";;;" + client_sid + ")";
  }
  return sddl;
}

std::string hex(const void* handle) {
  char text[2 * sizeof(std::uintptr_t) + 1];
  auto end = std::to_chars(text, text + sizeof text, reinterpret_cast<std::uintptr_t>(handle), 16);
  return std::string(text, end.ptr);
}

// Closes handles duplicated into `process` (they were never told to the client).
void close_remote(HANDLE process, const std::array<HANDLE, 1 + wake_slots>& handles) {
  for (HANDLE remote : handles)
    if (remote != nullptr)
      DuplicateHandle(process, remote, nullptr, nullptr, 0, FALSE, DUPLICATE_CLOSE_SOURCE);
}

}  // namespace

segment::segment(segment&& other) noexcept { *this = std::move(other); }

segment& segment::operator=(segment&& other) noexcept {
  if (this != &other) {
    reset();
    view_ = std::exchange(other.view_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    ring_bytes_ = std::exchange(other.ring_bytes_, 0);
    section_ = std::exchange(other.section_, nullptr);
    events_ = std::exchange(other.events_, {});
  }
  return *this;
}

segment::~segment() { reset(); }

void segment::reset() {
  if (view_ != nullptr) UnmapViewOfFile(view_);
  view_ = nullptr;
  if (section_ != nullptr) CloseHandle(section_);
  section_ = nullptr;
  for (void*& event : events_) {
    if (event != nullptr) CloseHandle(event);
    event = nullptr;
  }
}

void* segment::release_wake_handle(wake_slot slot) { return std::exchange(events_[slot], nullptr); }

segment segment::create(std::uint32_t ring_bytes, std::uint32_t client_pid,
                        const std::string& client_sid, std::string& token, std::string& error) {
  segment made;
  if (!valid_ring_bytes(ring_bytes)) {
    error = "invalid ring size " + std::to_string(ring_bytes);
    return {};
  }
  win::security_descriptor section_security(dacl(client_sid, client_section_rights));
  if (!section_security.valid()) {
    error = os_error("building the segment's security descriptor");
    return {};
  }
  SECURITY_ATTRIBUTES attributes{sizeof attributes, section_security.get(), FALSE};
  made.bytes_ = segment_bytes(ring_bytes);
  auto size = static_cast<std::uint64_t>(made.bytes_);
  made.section_ = CreateFileMappingW(INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE,
                                     static_cast<DWORD>(size >> 32),
                                     static_cast<DWORD>(size & 0xffffffffu), nullptr);
  if (made.section_ == nullptr) {
    error = os_error("CreateFileMapping");
    return {};
  }
  made.view_ = static_cast<std::uint8_t*>(
      MapViewOfFile(made.section_, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, made.bytes_));
  if (made.view_ == nullptr) {
    error = os_error("MapViewOfFile");
    return {};
  }
  made.ring_bytes_ = ring_bytes;
  initialize_segment(made.memory(), ring_bytes);
  for (std::size_t slot = 0; slot < wake_slots; ++slot) {
    auto which = static_cast<wake_slot>(slot);
    win::security_descriptor event_security(dacl(client_sid, client_event_rights(which)));
    SECURITY_ATTRIBUTES event_attributes{sizeof event_attributes, event_security.get(), FALSE};
    made.events_[slot] = CreateEventW(event_security.valid() ? &event_attributes : nullptr,
                                      FALSE /* auto-reset */, FALSE, nullptr);
    if (!event_security.valid() || made.events_[slot] == nullptr) {
      error = os_error("CreateEvent");
      return {};
    }
  }
  // The client's handles, duplicated into its process: the pipe's client process id
  // names it (the process is connected to the pipe, so the id is still its own).
  HANDLE process = OpenProcess(PROCESS_DUP_HANDLE, FALSE, client_pid);
  if (process == nullptr) {
    error = os_error(("opening the client's process (pid " + std::to_string(client_pid) +
                      ") to hand it the segment")
                         .c_str());
    return {};
  }
  std::array<HANDLE, 1 + wake_slots> remote{};
  bool duplicated = DuplicateHandle(GetCurrentProcess(), made.section_, process, &remote[0],
                                    client_section_rights, FALSE, 0);
  for (std::size_t slot = 0; duplicated && slot < wake_slots; ++slot)
    duplicated =
        DuplicateHandle(GetCurrentProcess(), made.events_[slot], process, &remote[slot + 1],
                        client_event_rights(static_cast<wake_slot>(slot)), FALSE, 0);
  if (!duplicated) {
    error = os_error("handing the segment to the client's process");
    close_remote(process, remote);
    CloseHandle(process);
    return {};
  }
  CloseHandle(process);
  token.clear();
  for (HANDLE handle : remote) token += (token.empty() ? "" : ",") + hex(handle);
  return made;
}

segment segment::adopt(std::string_view token, std::string& error) {
  // The five handle values, hexadecimal, comma-separated: section, then the events.
  std::array<HANDLE, 1 + wake_slots> handles{};
  std::size_t count = 0;
  const char* at = token.data();
  const char* end = token.data() + token.size();
  while (at < end && count < handles.size()) {
    std::uintptr_t value = 0;
    auto parsed = std::from_chars(at, end, value, 16);
    if (parsed.ec != std::errc() || value == 0) break;
    handles[count++] = reinterpret_cast<HANDLE>(value);
    at = parsed.ptr;
    if (at < end && *at == ',') ++at;
  }
  if (count != handles.size() || at != end) {  // not ours to close: values we cannot trust
    error = "the broker's shared-memory token is not 5 handle values";
    return {};
  }
  segment adopted;
  adopted.section_ = handles[0];
  for (std::size_t slot = 0; slot < wake_slots; ++slot) adopted.events_[slot] = handles[slot + 1];
  adopted.view_ = static_cast<std::uint8_t*>(MapViewOfFile(
      adopted.section_, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0));  // the whole section
  if (adopted.view_ == nullptr) {
    error = os_error("MapViewOfFile");
    return {};
  }
  MEMORY_BASIC_INFORMATION region{};
  if (VirtualQuery(adopted.view_, &region, sizeof region) == 0 ||
      region.RegionSize < control_page_bytes) {
    error = "the shared-memory segment is too small";
    return {};
  }
  adopted.bytes_ = region.RegionSize;
  adopted.ring_bytes_ = read_ring_bytes(adopted.memory());
  if (adopted.ring_bytes_ == 0) {
    error = "the shared-memory segment's header is not an ipcd ring layout this client knows";
    return {};
  }
  return adopted;
}

void signal_wake(void* event) { SetEvent(event); }

}  // namespace ipc::transport::shm
