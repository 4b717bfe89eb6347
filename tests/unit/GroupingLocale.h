//===- GroupingLocale.h - a hostile global C++ locale for tests -*- C++ -*-===//
//
// Host applications may set the global C++ locale (std::locale::global); a stream made
// afterwards formats numbers with it unless told otherwise. This guard installs one that
// groups digits ("44,544") and uses a decimal comma, and restores the previous one.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_TESTS_GROUPINGLOCALE_H
#define GDN_TESTS_GROUPINGLOCALE_H

#include <locale>
#include <string>

namespace gdn::test_support {

struct GroupingNumpunct : std::numpunct<char> {
  char do_thousands_sep() const override { return ','; }
  std::string do_grouping() const override { return "\3"; }
  char do_decimal_point() const override { return ','; }
};

class GroupingLocaleGuard {
public:
  GroupingLocaleGuard()
      : previous(std::locale::global(std::locale(std::locale::classic(), new GroupingNumpunct))) {}
  ~GroupingLocaleGuard() { std::locale::global(previous); }

private:
  std::locale previous;
};

} // namespace gdn::test_support

#endif // GDN_TESTS_GROUPINGLOCALE_H
