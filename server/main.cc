// allotd: the Allot server. See server/server.h for its threads and server/config.h for
// its settings (`allotd --help`).
#include <cstdio>
#include <string>
#include <string_view>

#include "engine/pgsync/pg_restore.h"
#include "server/config.h"
#include "server/log.h"
#include "server/server.h"

namespace {

// allotd --restore-from-pg <url> --dir <dir> [--pg-schema <schema>] (docs/postgres.md).
int RestoreMain(int argc, char** argv) {
  std::string url = argc >= 3 ? argv[2] : "";
  std::string dir, schema = "allot";
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--dir") {
      dir = argv[i + 1];
    } else if (flag == "--pg-schema") {
      schema = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 1;
    }
  }
  if (url.empty() || dir.empty() || (argc % 2) == 0) {
    std::fprintf(stderr, "usage: allotd --restore-from-pg <pg-url> --dir <dir> [--pg-schema s]\n");
    return 1;
  }
  allot::internal::PgRestoreStats st;
  std::string err = allot::internal::RestoreFromPostgres(url, schema, dir, &st);
  if (!err.empty()) {
    std::fprintf(stderr, "restore failed: %s\n", err.c_str());
    return 1;
  }
  std::printf(
      "restored into %s: %llu items, %llu buyers, %llu open holds, %llu strings, %llu sets\n",
      dir.c_str(), static_cast<unsigned long long>(st.items),
      static_cast<unsigned long long>(st.buyers), static_cast<unsigned long long>(st.holds),
      static_cast<unsigned long long>(st.strings), static_cast<unsigned long long>(st.sets));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace allot::server;
  if (argc >= 2 && std::string_view(argv[1]) == "--restore-from-pg") return RestoreMain(argc, argv);
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
