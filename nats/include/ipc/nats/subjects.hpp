// The mapping between ipcd topics and NATS subjects (docs/uplinks.md §3), both ways and
// reversible: a topic level is a subject token ('/' ↔ '.'), the wildcards '+' ↔ '*' and a
// final '#' ↔ '>', and the bytes a subject token cannot hold are escaped as %XX
// (upper-case hex): '.', '%', '*', '>', space and the other ASCII controls and DEL. An
// empty level, which a subject cannot have, is the token "%00" (a NUL, which no topic
// holds). A subject from elsewhere decodes leniently: a '%' not followed by two hex digits
// stays as it is. An optional prefix ("edge.site1") goes before the mapped subject.
// Standard library only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ipc::nats {

// The subject of a topic (no wildcards in `topic`), with `prefix` ("" for none); the
// second form appends it to `out` (a buffer kept across messages).
std::string topic_to_subject(std::string_view topic, std::string_view prefix = {});
void append_subject(std::string& out, std::string_view topic, std::string_view prefix = {});
// The topic of a subject received, with `prefix` removed: nullopt when the subject does
// not start with the prefix's tokens, is not a valid NATS subject (empty tokens, white
// space), decodes to a level with a NUL, '+', '#' or '/' (%2F), or to the empty topic.
std::optional<std::string> subject_to_topic(std::string_view subject, std::string_view prefix = {});

// The subject patterns that match what an ipcd `pattern` matches: "a/+/c" → "a.*.c"; a
// final '#' needs two, because '#' also matches the parent level and '>' does not:
// "a/#" → {"a", "a.>"}; "#" alone → {">"}. `second` is empty when one is enough.
struct subject_patterns {
  std::string first, second;
};
subject_patterns pattern_to_subjects(std::string_view pattern, std::string_view prefix = {});

// Whether `subject` is a valid NATS subject: non-empty tokens of printable non-space
// bytes; with `wildcards`, '*' and '>' (last) as whole tokens only.
bool valid_subject(std::string_view subject, bool wildcards);
// A queue group name: like a single-token subject without wildcards.
bool valid_queue_group(std::string_view group);

}  // namespace ipc::nats
