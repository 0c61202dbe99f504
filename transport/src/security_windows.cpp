// security_windows.hpp's helpers.
#include "security_windows.hpp"

#include <windows.h>
// windows.h first.
#include <sddl.h>

namespace ipc::transport::win {

std::wstring widen(const std::string& text) {
  if (text.empty()) return {};
  int size =
      MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(size), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), out.data(), size);
  return out;
}

std::string narrow(const wchar_t* text) {
  int size = WideCharToMultiByte(CP_UTF8, 0, text, -1, nullptr, 0, nullptr, nullptr);
  if (size <= 1) return {};
  std::string out(static_cast<std::size_t>(size - 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text, -1, out.data(), size, nullptr, nullptr);
  return out;
}

std::string sid_text(void* sid) {
  LPWSTR text = nullptr;
  if (!ConvertSidToStringSidW(sid, &text)) return {};
  std::string out = narrow(text);
  LocalFree(text);
  return out;
}

std::string own_sid() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return {};
  DWORD size = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::string sid;
  if (size != 0) {
    std::string buffer(size, '\0');
    if (GetTokenInformation(token, TokenUser, buffer.data(), size, &size))
      sid = sid_text(reinterpret_cast<TOKEN_USER*>(buffer.data())->User.Sid);
  }
  CloseHandle(token);
  return sid;
}

security_descriptor::security_descriptor(const std::string& sddl) {
  PSECURITY_DESCRIPTOR made = nullptr;
  if (ConvertStringSecurityDescriptorToSecurityDescriptorW(widen(sddl).c_str(), SDDL_REVISION_1,
                                                           &made, nullptr))
    descriptor_ = made;
}

security_descriptor::~security_descriptor() {
  if (descriptor_ != nullptr) LocalFree(descriptor_);
}

}  // namespace ipc::transport::win
