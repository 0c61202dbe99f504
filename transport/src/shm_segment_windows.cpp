// The shm segment on Windows: a paging-file section, its view and four events, named
// objects under a random name with DACLs for the client's account.
#include "shm_segment_windows.hpp"

#include <windows.h>
// windows.h first.
#include <bcrypt.h>

#include <atomic>
#include <cstdio>
#include <utility>

#include "security_windows.hpp"

namespace ipc::transport::shm {
namespace {

// `code` first: building the message may change the thread's last error.
std::string os_error(DWORD code, const std::string& what) {
  return what + ": Windows error " + std::to_string(code);
}

// What the client may do with each object: map the section for reading and writing; wait
// on the events it sleeps on, set the ones that wake the broker. Nothing else (no
// resizing, which a section cannot do anyway, no WRITE_DAC, no waiting on the events the
// broker sleeps on).
constexpr DWORD client_section_rights = FILE_MAP_READ | FILE_MAP_WRITE;
constexpr DWORD client_event_rights(wake_slot slot) {
  return broker_waits(slot) ? EVENT_MODIFY_STATE : SYNCHRONIZE;
}

// D:P = protected DACL: SYSTEM, Administrators and the broker's account have full
// control; the client's account the rights above. S: a medium integrity label that
// refuses lower-integrity processes (a sandboxed process of the same account) reading,
// writing and executing. Object names can be listed: the DACL and the label protect the
// objects, not the name.
std::string security(const std::string& client_sid, DWORD client_rights) {
  std::string sddl = "D:P(A;;GA;;;SY)(A;;GA;;;BA)";
  if (auto self = win::own_sid(); !self.empty()) sddl += "(A;;GA;;;" + self + ")";
  char rights[16];
  std::snprintf(rights, sizeof rights, "0x%lx", static_cast<unsigned long>(client_rights));
  return sddl + "(A;;" + rights + ";;;" + client_sid + ")S:(ML;;NWNRNX;;;ME)";
}

// Set once creating a Global\ section was refused (no SeCreateGlobalPrivilege): later
// segments go to Local\ at once.
std::atomic<bool> global_refused{false};

constexpr std::string_view name_stem = "ipcd-shm-";
constexpr std::size_t random_hex = 32;  // 128 bits

// Whether `token` is a name create() makes: Global\ or Local\, the stem, 32 hex digits.
bool well_formed(std::string_view token) {
  for (std::string_view space : {"Global\\", "Local\\"}) {
    if (!token.starts_with(space)) continue;
    auto rest = token.substr(space.size());
    if (!rest.starts_with(name_stem) || rest.size() != name_stem.size() + random_hex) return false;
    for (char c : rest.substr(name_stem.size()))
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  }
  return false;
}

std::wstring event_name(const std::string& token, std::size_t slot) {
  return win::widen(token + "-" + std::to_string(slot));
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

segment segment::create(std::uint32_t ring_bytes, const std::string& client_sid, std::string& token,
                        std::string& error) {
  if (!valid_ring_bytes(ring_bytes)) {
    error = "invalid ring size " + std::to_string(ring_bytes);
    return {};
  }
  if (client_sid.empty()) {  // nobody to grant the objects to
    error = "the client's account is unknown";
    return {};
  }
  unsigned char random[random_hex / 2];
  if (BCryptGenRandom(nullptr, random, sizeof random, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
    error = "no random bytes for the segment's name";
    return {};
  }
  std::string suffix(name_stem);
  for (unsigned char byte : random) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", byte);
    suffix += hex;
  }
  win::security_descriptor section_security(security(client_sid, client_section_rights));
  if (!section_security.valid()) {
    error = os_error(GetLastError(), "building the segment's security descriptor");
    return {};
  }
  SECURITY_ATTRIBUTES attributes{sizeof attributes, section_security.get(), FALSE};
  segment made;
  made.bytes_ = segment_bytes(ring_bytes);
  auto size = static_cast<std::uint64_t>(made.bytes_);
  // Global\ reaches clients in every session (a service runs in session 0); creating a
  // global section takes SeCreateGlobalPrivilege, which services and administrators
  // have: without it, Local\ reaches the clients of the broker's own session.
  bool taken = false;
  DWORD failure = 0;
  for (std::string space : {"Global\\", "Local\\"}) {
    bool global = space == "Global\\";
    if (global && global_refused.load(std::memory_order_relaxed)) continue;
    token = space + suffix;
    SetLastError(0);
    made.section_ = CreateFileMappingW(
        INVALID_HANDLE_VALUE, &attributes, PAGE_READWRITE, static_cast<DWORD>(size >> 32),
        static_cast<DWORD>(size & 0xffffffffu), win::widen(token).c_str());
    failure = GetLastError();
    taken = failure == ERROR_ALREADY_EXISTS;
    if (made.section_ != nullptr) break;
    if (global && (failure == ERROR_ACCESS_DENIED || failure == ERROR_PRIVILEGE_NOT_HELD))
      global_refused.store(true, std::memory_order_relaxed);
  }
  if (made.section_ == nullptr) {
    error = os_error(failure, "CreateFileMapping");
    return {};
  }
  if (taken) {  // someone else's object: never use it
    error = "the segment's random name is taken";
    return {};
  }
  made.view_ = static_cast<std::uint8_t*>(
      MapViewOfFile(made.section_, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, made.bytes_));
  if (made.view_ == nullptr) {
    error = os_error(GetLastError(), "MapViewOfFile");
    return {};
  }
  made.ring_bytes_ = ring_bytes;
  initialize_segment(made.memory(), ring_bytes);
  for (std::size_t slot = 0; slot < wake_slots; ++slot) {
    win::security_descriptor event_security(
        security(client_sid, client_event_rights(static_cast<wake_slot>(slot))));
    if (!event_security.valid()) {
      error = os_error(GetLastError(), "building an event's security descriptor");
      return {};
    }
    SECURITY_ATTRIBUTES event_attributes{sizeof event_attributes, event_security.get(), FALSE};
    SetLastError(0);
    made.events_[slot] = CreateEventW(&event_attributes, FALSE /* auto-reset */, FALSE,
                                      event_name(token, slot).c_str());
    if (made.events_[slot] == nullptr) {
      error = os_error(GetLastError(), "CreateEvent");
      return {};
    }
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
      error = "the segment's random name is taken";
      return {};
    }
  }
  return made;
}

segment segment::open(std::string_view token, std::string& error) {
  if (!well_formed(token)) {
    error = "the broker's shared-memory token is not a segment name";
    return {};
  }
  std::string name(token);
  segment opened;
  opened.section_ = OpenFileMappingW(client_section_rights, FALSE, win::widen(name).c_str());
  if (opened.section_ == nullptr) {
    error = os_error(GetLastError(), "opening the shared-memory segment");
    return {};
  }
  for (std::size_t slot = 0; slot < wake_slots; ++slot) {
    opened.events_[slot] = OpenEventW(client_event_rights(static_cast<wake_slot>(slot)), FALSE,
                                      event_name(name, slot).c_str());
    if (opened.events_[slot] == nullptr) {
      error = os_error(GetLastError(), "opening the shared-memory wake-up events");
      return {};
    }
  }
  opened.view_ = static_cast<std::uint8_t*>(
      MapViewOfFile(opened.section_, client_section_rights, 0, 0, 0));  // the whole section
  if (opened.view_ == nullptr) {
    error = os_error(GetLastError(), "MapViewOfFile");
    return {};
  }
  MEMORY_BASIC_INFORMATION region{};
  if (VirtualQuery(opened.view_, &region, sizeof region) == 0 ||
      region.RegionSize < control_page_bytes) {
    error = "the shared-memory segment is too small";
    return {};
  }
  opened.bytes_ = region.RegionSize;
  opened.ring_bytes_ = read_ring_bytes(opened.memory());
  if (opened.ring_bytes_ == 0) {
    error = "the shared-memory segment's header is not an ipcd ring layout this client knows";
    return {};
  }
  return opened;
}

void signal_wake(void* event) { SetEvent(event); }

}  // namespace ipc::transport::shm
