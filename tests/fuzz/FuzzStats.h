//===- FuzzStats.h - what share of a fuzz target's inputs got in ---*- C++ -*-===//
//
// Each target counts its inputs and those that got past the parser into the code under test;
// at exit it prints the share and, when GDN_FUZZ_STATS names a file, appends it as a JSON line
// (scripts/fuzz collects them), so a target that rejects everything at the door shows it.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_TESTS_FUZZSTATS_H
#define GDN_TESTS_FUZZSTATS_H

#include <cstdio>
#include <cstdlib>

namespace gdn_fuzz {

struct Stats {
  const char *target;
  unsigned long long inputs = 0, past = 0;
  explicit Stats(const char *name) : target(name) {}
  ~Stats() {
    if (!inputs)
      return;
    std::fprintf(stderr, "gdn-fuzz %s: %llu of %llu inputs past the parser (%.1f%%)\n", target,
                 past, inputs, 100.0 * static_cast<double>(past) / static_cast<double>(inputs));
    if (const char *path = std::getenv("GDN_FUZZ_STATS"))
      if (FILE *f = std::fopen(path, "a")) {
        std::fprintf(f, "{\"target\": \"%s\", \"inputs\": %llu, \"past_parser\": %llu}\n", target,
                     inputs, past);
        std::fclose(f);
      }
  }
};

/// A finding that is not a crash by itself (a round trip that does not hold): abort, so
/// libFuzzer keeps the input as a crash.
[[noreturn]] inline void fail(const char *what) {
  std::fprintf(stderr, "gdn-fuzz: %s\n", what);
  std::abort();
}

} // namespace gdn_fuzz

#endif // GDN_TESTS_FUZZSTATS_H
