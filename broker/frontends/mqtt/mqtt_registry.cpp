// mqtt_registry: client identifiers in use, and assigned ones.
#include "frontends/mqtt/mqtt_registry.hpp"

#include <cstdio>
#include <random>

namespace ipc::broker {

std::shared_ptr<mqtt_connection> mqtt_registry::holder(const std::string& client_id) const {
  auto found = holders_.find(client_id);
  return found == holders_.end() ? nullptr : found->second.lock();
}

void mqtt_registry::hold(const std::string& client_id,
                         const std::shared_ptr<mqtt_connection>& connection) {
  holders_[client_id] = connection;
}

void mqtt_registry::release(const std::string& client_id, const mqtt_connection* connection) {
  auto found = holders_.find(client_id);
  if (found == holders_.end()) return;
  auto current = found->second.lock();
  if (current == nullptr || current.get() == connection) holders_.erase(found);
}

std::string mqtt_registry::assign_identifier() {
  if (!salted_) {
    std::random_device entropy;
    salt_ = (std::uint64_t{entropy()} << 32) ^ entropy();
    salted_ = true;
  }
  char text[48];
  std::snprintf(text, sizeof text, "ipcd-%012llx-%llu",
                static_cast<unsigned long long>(salt_ & 0xffffffffffffull),
                static_cast<unsigned long long>(++assigned_));
  return text;
}

}  // namespace ipc::broker
