// Small Windows helpers the named pipes and the shm segment share: UTF-8 ⇄ UTF-16, SIDs
// as text, and security attributes from SDDL. No windows.h here: handles and descriptors
// are void*.
#pragma once

#include <string>

namespace ipc::transport::win {

std::wstring widen(const std::string& text);
std::string narrow(const wchar_t* text);
std::string sid_text(void* sid);  // "" when it cannot be printed
std::string own_sid();            // the process's user SID, "" when it cannot be read

// A security descriptor built from SDDL, freed with its owner.
class security_descriptor {
 public:
  security_descriptor() = default;
  explicit security_descriptor(const std::string& sddl);  // invalid() when it does not parse
  security_descriptor(const security_descriptor&) = delete;
  security_descriptor& operator=(const security_descriptor&) = delete;
  ~security_descriptor();
  bool valid() const { return descriptor_ != nullptr; }
  void* get() const { return descriptor_; }  // PSECURITY_DESCRIPTOR

 private:
  void* descriptor_ = nullptr;
};

}  // namespace ipc::transport::win
