// http_service: the routes of the monitoring endpoint and their access rule.
#include "frontends/http/http_service.hpp"

#include <algorithm>

#include "access/authenticator.hpp"
#include "core/broker_core.hpp"
#include "frontends/http/dashboard_page.hpp"
#include "ipc/http/prometheus.hpp"

namespace ipc::broker {

namespace {
constexpr std::string_view json_type = "application/json";

http::response json_answer(const std::string& text) {
  http::response r;
  r.content_type = std::string(json_type);
  r.body = text;
  return r;
}
}  // namespace

http_service::http_service(broker_core& core, config::http settings)
    : core_(core), settings_(std::move(settings)), monitor_(core) {}

bool http_service::known(std::string_view path) {
  return path == "/" || path == "/metrics" || path == "/healthz" || path == "/api/status" ||
         path == "/api/connections" || path == "/api/queues" || path == "/api/topics";
}

bool http_service::open_to_all(std::string_view path) const {
  if (!core_.auth().enabled()) return true;
  return std::find(settings_.public_paths.begin(), settings_.public_paths.end(), path) !=
         settings_.public_paths.end();
}

http::response http_service::answer(const http::request& request) {
  const auto& path = request.path;
  if (path == "/metrics") {
    http::response r;
    r.content_type = std::string(http::prometheus_text::content_type);
    r.body = monitor_.metrics();
    return r;
  }
  if (path == "/healthz") {
    auto reason = monitor_.unhealthy_reason();
    if (reason.empty()) {
      http::response r;
      r.body = "ok\n";
      return r;
    }
    return http::error_response(503, reason);
  }
  const auto& s = monitor_.current();
  if (path == "/api/status") return json_answer(s.status_text);
  if (path == "/api/connections") return json_answer(s.connections_text);
  if (path == "/api/queues") return json_answer(s.queues_text);
  if (path == "/api/topics") return json_answer(s.topics_text);
  http::response page;  // "/": the dashboard
  page.content_type = "text/html; charset=utf-8";
  page.body = std::string(dashboard_page());
  // The page is self-contained: it loads nothing from elsewhere and is never framed.
  page.headers.emplace_back("Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; connect-src 'self'; img-src data:; "
                            "frame-ancestors 'none'");
  return page;
}

}  // namespace ipc::broker
