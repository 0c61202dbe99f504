// What one user may do (docs/security.md §3), checked structurally with the topic
// grammar (never by building regexes from input). Sans-I/O.
#pragma once

#include <string_view>

#include "ipc/config/config.hpp"

namespace ipc::broker {

class permissions {
 public:
  // Everything allowed (anonymous clients without an auth section, users without
  // a "permissions" key, unless they have a "deny").
  permissions() = default;
  explicit permissions(const config::user& user);

  bool may_publish(std::string_view topic) const;
  // Only when every topic `pattern` can match is allowed and none of them is denied.
  bool may_subscribe(std::string_view pattern) const;
  bool may_send(std::string_view queue) const;
  bool may_consume(std::string_view queue) const;
  bool admin() const { return admin_; }
  // May read the HTTP monitoring endpoint (docs/monitoring.md §4); admin may too.
  bool monitor() const { return monitor_; }

 private:
  bool restricted_ = false;
  bool admin_ = true;
  bool monitor_ = true;
  config::permission_set allow_, deny_;
};

// Topic-pattern relations (the '$' rule included): whether every topic matched by
// `inner` is matched by `outer`, and whether some topic is matched by both.
bool pattern_covers(std::string_view outer, std::string_view inner);
bool patterns_intersect(std::string_view a, std::string_view b);
// Queue patterns: "*", a prefix ending in '*' ("jobs.*"), or an exact name.
bool queue_pattern_matches(std::string_view pattern, std::string_view queue);

}  // namespace ipc::broker
