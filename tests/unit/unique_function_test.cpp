// The client's unique_function: small callables kept inline, large or throwing-move ones
// on the heap; moves carry the callable, and every callable is destroyed exactly once.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <stdexcept>
#include <utility>

#include "ipc/detail/unique_function.hpp"

using ipc::detail::unique_function;

namespace {

struct counts {
  int alive = 0;
  int calls = 0;
};

// A move-only callable of `Pad` bytes of state that counts its live copies.
template <std::size_t Pad, bool NothrowMove = true>
struct counted {
  counts* c;
  std::unique_ptr<int> owned = std::make_unique<int>(7);
  std::array<char, Pad> pad{};
  explicit counted(counts& into) : c(&into) { ++c->alive; }
  counted(counted&& other) noexcept(NothrowMove) : c(other.c), owned(std::move(other.owned)) {
    ++c->alive;
  }
  counted& operator=(counted&&) = delete;
  ~counted() { --c->alive; }
  int operator()(int x) {
    ++c->calls;
    return x + *owned;
  }
};

template <class F>
void moves_and_calls() {
  counts c;
  {
    unique_function<int(int)> first = F(c);
    CHECK(c.alive == 1);
    CHECK(first(1) == 8);
    unique_function<int(int)> second = std::move(first);
    CHECK_FALSE(first);
    CHECK(second);
    CHECK(c.alive == 1);
    CHECK(second(2) == 9);
    unique_function<int(int)> third;
    third = std::move(second);
    CHECK(third(3) == 10);
    CHECK(c.alive == 1);
    unique_function<int(int)> other = F(c);
    CHECK(c.alive == 2);
    third = std::move(other);  // the old callable goes, the new one moves in
    CHECK(c.alive == 1);
    CHECK(third(4) == 11);
  }
  CHECK(c.alive == 0);
  CHECK(c.calls == 4);
}

}  // namespace

TEST_CASE("unique_function: inline and heap callables move, call and die once") {
  SUBCASE("small: inline") { moves_and_calls<counted<8>>(); }
  SUBCASE("large: on the heap") { moves_and_calls<counted<256>>(); }
  SUBCASE("a move that may throw: on the heap") { moves_and_calls<counted<8, false>>(); }
}

TEST_CASE("unique_function: empty, self-move, and a callable that holds another") {
  unique_function<void()> empty;
  CHECK_FALSE(empty);
  unique_function<void()> moved = std::move(empty);
  CHECK_FALSE(moved);
  counts c;
  unique_function<int(int)> inner = counted<8>(c);
  auto& alias = inner;
  inner = std::move(alias);
  CHECK(inner);
  CHECK(inner(0) == 7);
  unique_function<int(int)> outer = [f = std::move(inner)](int x) mutable { return f(x) * 2; };
  unique_function<int(int)> moved_outer = std::move(outer);
  CHECK(moved_outer(1) == 16);
  CHECK(c.alive == 1);
  moved_outer = unique_function<int(int)>();
  CHECK(c.alive == 0);
}

TEST_CASE("unique_function: assigned from a function the replaced callable owns") {
  counts c;
  auto inner = std::make_unique<unique_function<int(int)>>(counted<8>(c));
  auto* inner_ptr = inner.get();
  unique_function<int(int)> outer = [owned = std::move(inner)](int x) { return (*owned)(x); };
  outer = std::move(*inner_ptr);  // taken before the old callable (and what it owns) goes
  CHECK(c.alive == 1);
  CHECK(outer(1) == 8);
  outer = unique_function<int(int)>();
  CHECK(c.alive == 0);
}
