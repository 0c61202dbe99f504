// prometheus_text: the text exposition format 0.0.4.
#include "ipc/http/prometheus.hpp"

#include <cmath>
#include <cstdio>

namespace ipc::http {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

void prometheus_text::family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += escape_help(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void prometheus_text::sample(std::string_view name, std::initializer_list<label> labels,
                             double value) {
  sample(name, std::span<const label>(labels.begin(), labels.size()), value);
}

void prometheus_text::sample(std::string_view name, std::span<const label> labels, double value) {
  text_ += name;
  if (!std::empty(labels)) {
    text_ += '{';
    bool first = true;
    for (const auto& [key, text] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += key;
      text_ += "=\"";
      text_ += escape_label_value(text);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_value(value);
  text_ += '\n';
}

void prometheus_text::histogram(std::string_view name, std::initializer_list<label> labels,
                                std::span<const double> bounds,
                                std::span<const std::uint64_t> counts, double sum) {
  std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  std::vector<label> with_le(labels.begin(), labels.end());
  with_le.emplace_back("le", "");
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    std::string le = i < bounds.size() ? format_value(bounds[i]) : "+Inf";
    with_le.back().second = le;
    sample(bucket, with_le, static_cast<double>(cumulative));
  }
  sample(std::string(name) + "_sum", labels, sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

}  // namespace ipc::http
