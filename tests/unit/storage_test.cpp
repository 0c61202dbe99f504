// The storage layer without a broker: CRC-32C, the record codec fed whole, split and
// damaged, the resynchronising segment scan, and durable_log recovery on crafted files
// (torn tail, flipped bits, zero-filled tail, missing segment, empty dir, random bytes)
// and under injected write/sync failures.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "faulty_file_system.hpp"
#include "ipc/storage/crc32c.hpp"
#include "ipc/storage/log.hpp"
#include "ipc/storage/record.hpp"
#include "temp_dir.hpp"
#include "wait.hpp"

using namespace ipc::storage;

namespace {

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<std::uint8_t> three_record_segment() {
  std::vector<std::uint8_t> out;
  append_segment_header(out, 7);
  append_message(out, {1, 100, 0, 0, bytes_of("first")});
  append_ref(out, record_type::delivered, {1, 100});
  append_message(out, {2, 101, 3, 123456, bytes_of("second message")});
  return out;
}

std::size_t count_records(std::span<const std::uint8_t> data, scan_report& report) {
  std::size_t n = 0;
  report = scan_segment(data, [&](const record&) { ++n; });
  return n;
}

std::vector<std::uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void write_all(const std::string& path, const std::vector<std::uint8_t>& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// A durable_log whose "owning thread" is the caller: posted work runs inline.
struct test_log {
  explicit test_log(const std::string& dir, std::shared_ptr<file_system> fs = system_file_system(),
                    std::uint64_t segment_bytes = 64 * 1024,
                    fsync_policy policy = fsync_policy::always)
      : log(
            fs, {dir, policy, std::chrono::milliseconds(5), segment_bytes},
            [](std::function<void()> fn) { fn(); },
            [this](std::uint64_t lsn, std::error_code ec) {
              std::lock_guard lock(mutex);
              outcomes.emplace_back(lsn, ec);
            }) {}
  recovery_report open() {
    recovery_report report;
    std::string error;
    REQUIRE_MESSAGE(log.open(report, error), error);
    return report;
  }
  // Waits until the writer reported everything appended so far.
  bool settled_to(std::uint64_t lsn) {
    return ipc::test::wait_until([&] {
      std::lock_guard lock(mutex);
      return !outcomes.empty() && outcomes.back().first >= lsn;
    });
  }
  std::error_code outcome_at(std::uint64_t lsn) {
    std::lock_guard lock(mutex);
    for (auto& [end, ec] : outcomes)
      if (end >= lsn) return ec;
    return std::make_error_code(std::errc::timed_out);
  }
  std::mutex mutex;
  std::vector<std::pair<std::uint64_t, std::error_code>> outcomes;
  durable_log log;
};

std::vector<std::uint64_t> ids_of(const recovery_report& report) {
  std::vector<std::uint64_t> ids;
  for (const auto& m : report.messages) ids.push_back(m.id);
  return ids;
}

}  // namespace

TEST_SUITE("storage") {
  TEST_CASE("crc32c matches the standard check value and continues across pieces") {
    CHECK(crc32c(bytes_of("123456789")) == 0xE3069283u);
    CHECK(crc32c(bytes_of("")) == 0u);
    std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
    auto whole = crc32c(bytes_of(text));
    for (std::size_t split = 0; split <= text.size(); ++split)
      CHECK(crc32c(bytes_of(text.substr(split)), crc32c(bytes_of(text.substr(0, split)))) == whole);
  }

  TEST_CASE("records round-trip, and every prefix of one is incomplete, never ok") {
    std::vector<std::uint8_t> data;
    append_message(data, {9, 42, 2, 777, bytes_of("payload bytes")});
    record r;
    std::size_t size = 0;
    REQUIRE(read_record(data, r, size) == read_status::ok);
    CHECK(size == data.size());
    message_record m;
    REQUIRE(parse(r, m));
    CHECK(m.queue == 9);
    CHECK(m.id == 42);
    CHECK(m.delivery_count == 2);
    CHECK(m.expires_unix_ms == 777);
    CHECK(std::string(m.body.begin(), m.body.end()) == "payload bytes");
    for (std::size_t cut = 0; cut < data.size(); ++cut)
      CHECK(read_record(std::span(data).first(cut), r, size) == read_status::incomplete);

    std::vector<std::uint8_t> ref;
    append_ref(ref, record_type::settled, {3, 5});
    REQUIRE(read_record(ref, r, size) == read_status::ok);
    ref_record rr;
    REQUIRE(parse(r, rr));
    CHECK(r.type == record_type::settled);
    CHECK(rr.queue == 3);
    CHECK(rr.id == 5);
    CHECK_FALSE(parse(r, m));  // a ref is not a message
  }

  TEST_CASE("any flipped bit of a record makes it unreadable") {
    std::vector<std::uint8_t> data;
    append_message(data, {1, 2, 0, 0, bytes_of("abc")});
    for (std::size_t byte = 0; byte < data.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        auto damaged = data;
        damaged[byte] ^= static_cast<std::uint8_t>(1u << bit);
        record r;
        std::size_t size = 0;
        CHECK_MESSAGE(read_record(damaged, r, size) != read_status::ok, "byte ", byte, " bit ",
                      bit);
      }
    }
  }

  TEST_CASE("a segment scan visits records in order and finds a cut tail at every point") {
    auto segment = three_record_segment();
    scan_report report;
    CHECK(count_records(segment, report) == 3);
    CHECK_FALSE(report.bad_header);
    CHECK_FALSE(report.torn_tail);
    CHECK(report.valid_end == segment.size());
    // Cut anywhere: the whole records before the cut are kept, the rest is a torn tail.
    std::vector<std::size_t> ends;
    scan_segment(segment, [&](const record& r) {
      ends.push_back(static_cast<std::size_t>(r.body.data() + r.body.size() - segment.data()));
    });
    for (std::size_t cut = segment_header_size; cut < segment.size(); ++cut) {
      std::size_t whole = 0;
      for (auto end : ends) whole += end <= cut ? 1 : 0;
      CHECK(count_records(std::span(segment).first(cut), report) == whole);
      CHECK(report.torn_tail == (cut != segment_header_size && whole < 3 &&
                                 cut != (whole == 0 ? segment_header_size : ends[whole - 1])));
      CHECK(report.corrupt == 0);
    }
  }

  TEST_CASE("a flipped bit in the middle skips that record only, a zero-filled tail is torn") {
    auto segment = three_record_segment();
    std::vector<std::size_t> starts;
    std::size_t pos = segment_header_size;
    scan_segment(segment, [&](const record& r) {
      starts.push_back(pos);
      pos += record_header_size + r.body.size();
    });
    for (std::size_t offset = starts[1]; offset < starts[2]; ++offset) {
      auto damaged = segment;
      damaged[offset] ^= 0x10;
      std::vector<std::uint64_t> seen;
      auto report = scan_segment(damaged, [&](const record& r) {
        message_record m;
        if (parse(r, m)) seen.push_back(m.id);
      });
      CHECK(seen == std::vector<std::uint64_t>{100, 101});
      CHECK(report.corrupt == 1);
      CHECK_FALSE(report.torn_tail);
    }
    auto zeroed = segment;
    zeroed.resize(segment.size() + 4096, 0);
    scan_report report;
    CHECK(count_records(zeroed, report) == 3);
    CHECK(report.torn_tail);
    CHECK(report.valid_end == segment.size());
  }

  TEST_CASE("random bytes never crash the scanner") {
    std::mt19937 rng(12345);
    for (int round = 0; round < 200; ++round) {
      std::vector<std::uint8_t> junk(static_cast<std::size_t>(rng() % 2048));
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      if (round % 2 == 0) {
        auto good = three_record_segment();
        junk.insert(junk.begin() + static_cast<std::ptrdiff_t>(junk.size() / 2), good.begin(),
                    good.end());
      }
      scan_report report;
      count_records(junk, report);
      CHECK(report.valid_end <= junk.size());
    }
  }

  TEST_CASE("the log recovers unsettled messages with their delivery counts, in order") {
    ipc::test::temp_dir dir;
    {
      test_log t(dir.path().string());
      auto report = t.open();
      CHECK(report.messages.empty());  // an empty directory is a fresh log
      for (std::uint64_t id = 1; id <= 10; ++id) t.log.append_message({1, id, 0, 0, bytes_of("m")});
      t.log.append_ref(record_type::settled, {1, 3});
      t.log.append_ref(record_type::delivered, {1, 4});
      t.log.append_ref(record_type::delivered, {1, 4});
      t.log.append_message({2, 11, 0, 0, bytes_of("other queue")});
      t.log.close();
    }
    test_log again(dir.path().string());
    auto report = again.open();
    CHECK(ids_of(report) == std::vector<std::uint64_t>{1, 2, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(report.messages.at(2).delivery_count == 2);
    CHECK(report.messages.back().queue == 2);
    CHECK(report.corrupt == 0);
    CHECK(report.torn_tails == 0);
  }

  TEST_CASE("recovery truncates a torn tail, skips a damaged record, notes a missing segment") {
    ipc::test::temp_dir dir;
    std::string first, last;
    {
      test_log t(dir.path().string(), system_file_system(), 64 * 1024);
      t.open();
      std::string big(20000, 'x');
      for (std::uint64_t id = 1; id <= 12; ++id) t.log.append_message({1, id, 0, 0, bytes_of(big)});
      first = t.log.segment_path(1);
      last = t.log.segment_path(t.log.active_segment());
      CHECK(t.log.active_segment() >= 4);  // 20 KB messages in 64 KiB segments
      t.log.close();
    }
    // A torn tail on the last segment, and a flipped bit in the first message.
    auto tail = read_all(last);
    std::size_t tail_size = tail.size();
    tail.insert(tail.end(), {0x10, 0x00, 0x00, 0x00, 0xEF, 0xFF});
    write_all(last, tail);
    auto head = read_all(first);
    head[segment_header_size + record_header_size + 30] ^= 0x01;
    write_all(first, head);
    {
      test_log t(dir.path().string());
      auto report = t.open();
      CHECK(report.torn_tails == 1);
      CHECK(report.corrupt == 1);
      auto ids = ids_of(report);
      CHECK(ids.size() == 11);
      CHECK(ids.front() == 2);  // message 1 was the damaged one
      t.log.close();
    }
    CHECK(std::filesystem::file_size(last) == tail_size);
    // A segment removed from the middle: its messages are gone, the others stay.
    std::filesystem::remove(test_log(dir.path().string()).log.segment_path(2));
    test_log t(dir.path().string());
    auto report = t.open();
    CHECK(report.missing_segments == 1);
    CHECK(report.messages.size() < 11);
    CHECK(report.messages.size() >= 8);
  }

  TEST_CASE("a directory of arbitrary files opens: junk segments, zero-filled, empty") {
    ipc::test::temp_dir dir;
    std::mt19937 rng(7);
    std::vector<std::uint8_t> junk(5000);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    write_all(dir.file("0000000001.log"), junk);
    write_all(dir.file("0000000002.log"), std::vector<std::uint8_t>(3000, 0));
    write_all(dir.file("0000000003.log"), {});
    write_all(dir.file("notes.txt"), junk);
    write_all(dir.file("12.log"), junk);  // not a segment name: ignored
    test_log t(dir.path().string());
    auto report = t.open();
    CHECK(report.messages.empty());
    CHECK(report.segments == 3);
    CHECK(t.log.active_segment() == 4);
  }

  TEST_CASE("segments shorter than a header are not damage: a failed first write, a crash") {
    ipc::test::temp_dir dir;
    {
      test_log t(dir.path().string());
      t.open();
      t.log.append_message({1, 1, 0, 0, bytes_of("kept")});
      t.log.close();
    }
    // What disk-full leaves (segments the writer cut back to nothing), and a segment whose
    // header a crash cut short.
    write_all(dir.file("0000000002.log"), {});
    write_all(dir.file("0000000003.log"), {});
    write_all(dir.file("0000000004.log"), {'I', 'P', 'C'});
    test_log t(dir.path().string());
    auto report = t.open();
    CHECK(report.corrupt == 0);
    CHECK(report.missing_segments == 0);
    CHECK(report.torn_tails == 1);
    CHECK(std::filesystem::file_size(dir.file("0000000004.log")) == 0);
    CHECK(ids_of(report) == std::vector<std::uint64_t>{1});
  }

  TEST_CASE("settled segments are deleted from the head, an older live one keeps the rest") {
    ipc::test::temp_dir dir;
    test_log t(dir.path().string(), system_file_system(), 64 * 1024);
    t.open();
    std::string big(30000, 'y');
    std::vector<std::uint32_t> segment_of;
    for (std::uint64_t id = 1; id <= 8; ++id)
      segment_of.push_back(t.log.append_message({1, id, 0, 0, bytes_of(big)}));
    std::size_t before = t.log.segment_count();
    CHECK(before >= 4);
    // Settle everything except message 1: nothing can go (the head still holds it).
    for (std::uint64_t id = 2; id <= 8; ++id) {
      t.log.append_ref(record_type::settled, {1, id});
      t.log.release(segment_of[id - 1]);
    }
    CHECK(t.log.segment_count() == before);
    t.log.append_ref(record_type::settled, {1, 1});
    t.log.release(segment_of[0]);
    CHECK(t.log.segment_count() == 1);
    t.log.close();
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
      files += entry.path().extension() == ".log" ? 1 : 0;
    CHECK(files == 1);
  }

  TEST_CASE("write and sync failures are reported per buffer, the log recovers by itself") {
    ipc::test::temp_dir dir;
    auto fs = std::make_shared<ipc::test::faulty_file_system>();
    {
      test_log t(dir.path().string(), fs);
      t.open();
      t.log.append_message({1, 1, 0, 0, bytes_of("kept")});
      auto ok_lsn = t.log.appended();
      REQUIRE(t.settled_to(ok_lsn));
      CHECK_FALSE(t.outcome_at(ok_lsn));

      fs->fail_writes(ENOSPC);
      t.log.append_message({1, 2, 0, 0, bytes_of("lost to a full disk")});
      auto full_lsn = t.log.appended();
      REQUIRE(t.settled_to(full_lsn));
      CHECK(t.outcome_at(full_lsn) == std::errc::no_space_on_device);
      CHECK(t.log.stats().failing);

      fs->fail_writes(0);
      fs->fail_syncs(EIO);
      t.log.append_message({1, 3, 0, 0, bytes_of("written, not synced")});
      auto eio_lsn = t.log.appended();
      REQUIRE(t.settled_to(eio_lsn));
      CHECK(t.outcome_at(eio_lsn) == std::errc::io_error);

      fs->fail_syncs(0);
      t.log.append_message({1, 4, 0, 0, bytes_of("kept too")});
      auto back_lsn = t.log.appended();
      REQUIRE(t.settled_to(back_lsn));
      CHECK_FALSE(t.outcome_at(back_lsn));
      CHECK_FALSE(t.log.stats().failing);
      CHECK(t.log.stats().write_errors == 2);
      t.log.close();
    }
    test_log t(dir.path().string());
    auto report = t.open();
    auto ids = ids_of(report);
    // The torn half-write of message 2 was cut off: no damage is found, 1 and 4 are there.
    CHECK(report.corrupt == 0);
    CHECK(std::find(ids.begin(), ids.end(), 1) != ids.end());
    CHECK(std::find(ids.begin(), ids.end(), 4) != ids.end());
    CHECK(std::find(ids.begin(), ids.end(), 2) == ids.end());
  }

  TEST_CASE("a second log on the same directory is refused while the first holds it") {
    ipc::test::temp_dir dir;
    test_log first(dir.path().string());
    first.open();
    test_log second(dir.path().string());
    recovery_report report;
    std::string error;
    CHECK_FALSE(second.log.open(report, error));
    CHECK(error.find("in use by another ipcd") != std::string::npos);
    first.log.close();
    CHECK(second.log.open(report, error));
  }
}
