// scm_notifier: reports through windows_service when ipcd runs as a service.
#include "scm_notifier.hpp"

#include "windows_service.hpp"

namespace ipc::broker {

void scm_notifier::ready(std::string_view) {
  if (windows_service::running_as_service()) windows_service::report_running();
}

void scm_notifier::stopping() {
  if (windows_service::running_as_service()) windows_service::report_stopping();
}

}  // namespace ipc::broker
