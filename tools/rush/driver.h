// The rush itself: one thread, one epoll set, `connections` non-blocking sockets (a web
// tier's connection pool), and `users` simulated users who arrive over the window, click
// (sometimes twice), wait on their answer, pay or walk away. See docs/rush.md.
#pragma once

#include <cstdio>
#include <string>

#include "tools/rush/options.h"
#include "tools/rush/report.h"

namespace allot::rush {

// Sets up the sale, runs it, reads the server's counters and verifies. Progress goes to
// `progress` (a one-line status updated in place on a terminal, a line per second
// otherwise; nullptr for none). False with *err when the run could not be made (no
// connection, setup refused); a run that was made returns true whatever its checks say
// (see Report::passed()).
bool RunRush(const Options& o, Report* report, std::string* err, FILE* progress);

}  // namespace allot::rush
