// allotd: the Allot server. See server/server.h for its threads and server/config.h for
// its settings (`allotd --help`).
#include <cstdio>

#include "server/config.h"
#include "server/log.h"
#include "server/server.h"

int main(int argc, char** argv) {
  using namespace allot::server;
  ServerConfig cfg;
  std::string err;
  bool help = false, version = false;
  if (!ParseCommandLine(argc, argv, cfg, &err, &help, &version)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return 1;
  }
  if (help) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }
  if (version) {
    std::puts("allotd 0.1.0 (Redis protocol 7.0 compatible)");
    return 0;
  }
  if (!LogInit(cfg.loglevel, cfg.logfile)) {
    std::fprintf(stderr, "Can't open the log file: %s\n", cfg.logfile.c_str());
    return 1;
  }
  std::string config_file = argc >= 2 && argv[1][0] != '-' ? argv[1] : "";
  Server server(cfg, config_file);
  if (!server.start()) return 1;
  return server.wait_and_stop();
}
