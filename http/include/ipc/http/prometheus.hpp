// The Prometheus text exposition format, version 0.0.4 (docs/monitoring.md): metric
// families with their HELP and TYPE lines, samples with labels, escaping as the format
// requires, and histograms with their cumulative buckets, _sum and _count. Standard library
// only: the HTTP front-end fills it from a snapshot of the broker.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ipc::http {

using label = std::pair<std::string_view, std::string_view>;

class prometheus_text {
 public:
  // The Content-Type of the text format.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  // Starts a family: `type` is counter, gauge, histogram or untyped. Every sample of
  // the family follows before the next family starts (the format requires it).
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family: `name` is the family's (or for a histogram its
  // _bucket/_sum/_count), with labels.
  void sample(std::string_view name, std::initializer_list<label> labels, double value);
  void sample(std::string_view name, std::span<const label> labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }
  // A histogram's samples from per-bucket (not cumulative) counts over `bounds` (upper
  // bounds, ascending, without +Inf; `counts` has one more entry, the overflow).
  void histogram(std::string_view name, std::initializer_list<label> labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> counts, double sum);

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Escapes a label value (backslash, double quote, newline) and HELP text (backslash,
// newline), as the format says.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view help);
// A sample value in the format's float syntax (NaN, +Inf, -Inf; integers without a dot).
std::string format_value(double value);

}  // namespace ipc::http
