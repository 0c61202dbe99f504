// The dashboard (docs/monitoring.md §5): one self-contained HTML page, dashboard.html,
// embedded in the binary at build time (CMake writes dashboard_page.cpp from it).
#pragma once

#include <string_view>

namespace ipc::broker {

std::string_view dashboard_page();

}  // namespace ipc::broker
