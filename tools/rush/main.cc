// allot-rush: replays a flash-sale rush against a RESP server and verifies that nothing
// was oversold. Usage: allot-rush --help; docs/rush.md.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tools/rush/driver.h"
#include "tools/rush/options.h"
#include "tools/rush/report.h"

int main(int argc, char** argv) {
  using namespace allot::rush;
  Options o;
  std::string err;
  bool help = false;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!ParseArgs(args, o, &err, &help)) {
    std::fprintf(stderr, "allot-rush: %s\n", err.c_str());
    return 2;
  }
  if (help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  Report report;
  if (!RunRush(o, &report, &err, o.quiet ? nullptr : stderr)) {
    std::fprintf(stderr, "allot-rush: %s\n", err.c_str());
    return 2;
  }
  std::string out = o.json ? FormatJson(report) : FormatText(report);
  std::fputs(out.c_str(), stdout);
  return report.passed() ? 0 : 1;
}
