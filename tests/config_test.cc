// allotd's settings: units, file syntax, flags, CONFIG GET patterns.
#include "server/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace allot::server {
namespace {

TEST(Config, Defaults) {
  ServerConfig c;
  EXPECT_EQ(c.port, 6379);
  EXPECT_EQ(c.bind, std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.maxclients, 10000u);
  EXPECT_EQ(c.proto_max_bulk_len, 512ull << 20);
  EXPECT_EQ(c.client_query_buffer_limit, 1ull << 30);
  EXPECT_EQ(c.loglevel, "notice");
}

TEST(Config, MemoryUnits) {
  int64_t v = 0;
  ASSERT_TRUE(ParseMemory("100", &v));
  EXPECT_EQ(v, 100);
  ASSERT_TRUE(ParseMemory("1k", &v));
  EXPECT_EQ(v, 1000);
  ASSERT_TRUE(ParseMemory("1kb", &v));
  EXPECT_EQ(v, 1024);
  ASSERT_TRUE(ParseMemory("2M", &v));
  EXPECT_EQ(v, 2000000);
  ASSERT_TRUE(ParseMemory("2mb", &v));
  EXPECT_EQ(v, 2 << 20);
  ASSERT_TRUE(ParseMemory("1g", &v));
  EXPECT_EQ(v, 1000000000);
  ASSERT_TRUE(ParseMemory("1GB", &v));
  EXPECT_EQ(v, 1 << 30);
  EXPECT_FALSE(ParseMemory("", &v));
  EXPECT_FALSE(ParseMemory("mb", &v));
  EXPECT_FALSE(ParseMemory("1tb", &v));
  EXPECT_FALSE(ParseMemory("1 mb", &v));
  EXPECT_FALSE(ParseMemory("99999999999gb", &v));
}

TEST(Config, YesNo) {
  bool b = false;
  ASSERT_TRUE(ParseYesNo("yes", &b));
  EXPECT_TRUE(b);
  ASSERT_TRUE(ParseYesNo("NO", &b));
  EXPECT_FALSE(b);
  EXPECT_FALSE(ParseYesNo("true", &b));
}

TEST(Config, FileSyntax) {
  ServerConfig c;
  std::string err;
  ASSERT_TRUE(
      LoadConfigText("# a comment\n"
                     "port 7000\n"
                     "  bind 127.0.0.1 -::1\n"
                     "\n"
                     "maxmemory 20mb\n"
                     "requirepass \"secret word\"\n"
                     "client-output-buffer-limit normal 64mb 32mb 10\n"
                     "save 900 1\n"
                     "appendonly yes\n"
                     "PROTO-MAX-BULK-LEN 1gb\n"
                     "loglevel warning\n",
                     c, &err))
      << err;
  EXPECT_EQ(c.port, 7000);
  EXPECT_EQ(c.bind, (std::vector<std::string>{"127.0.0.1", "-::1"}));
  EXPECT_EQ(c.maxmemory, 20u << 20);
  EXPECT_EQ(c.requirepass, "secret word");
  EXPECT_EQ(c.output_limits[0].hard_bytes, 64u << 20);
  EXPECT_EQ(c.output_limits[0].soft_bytes, 32u << 20);
  EXPECT_EQ(c.output_limits[0].soft_seconds, 10u);
  EXPECT_EQ(c.accepted["save"], "900 1");
  EXPECT_EQ(c.accepted["appendonly"], "yes");
  EXPECT_EQ(c.proto_max_bulk_len, 1u << 30);
  EXPECT_EQ(c.loglevel, "warning");
}

TEST(Config, FileErrorsNameTheLine) {
  ServerConfig c;
  std::string err;
  EXPECT_FALSE(LoadConfigText("port 1\nnosuchthing 3\n", c, &err));
  EXPECT_NE(err.find("at line 2"), std::string::npos) << err;
  EXPECT_NE(err.find("Bad directive or wrong number of arguments"), std::string::npos) << err;
  EXPECT_FALSE(LoadConfigText("maxmemory lots\n", c, &err));
  EXPECT_NE(err.find("argument must be a memory value"), std::string::npos) << err;
  EXPECT_FALSE(LoadConfigText("port 70000\n", c, &err));
  EXPECT_FALSE(LoadConfigText("loglevel loud\n", c, &err));
  EXPECT_FALSE(LoadConfigText("proto-max-bulk-len 1000\n", c, &err));  // Redis's 1mb minimum
  EXPECT_FALSE(LoadConfigText("client-output-buffer-limit normal 1mb\n", c, &err));
  EXPECT_FALSE(LoadConfigText("client-output-buffer-limit vip 1 1 1\n", c, &err));
}

TEST(Config, CommandLineFlags) {
  const char* argv[] = {"allotd",
                        "--port",
                        "7001",
                        "--maxmemory",
                        "20mb",
                        "--client-output-buffer-limit",
                        "normal 64mb 32mb 10",
                        "--save",
                        "900",
                        "1",
                        "--requirepass",
                        "p w"};
  ServerConfig c;
  std::string err;
  bool help = false, version = false;
  ASSERT_TRUE(ParseCommandLine(static_cast<int>(std::size(argv)), argv, c, &err, &help, &version))
      << err;
  EXPECT_FALSE(help);
  EXPECT_EQ(c.port, 7001);
  EXPECT_EQ(c.maxmemory, 20u << 20);
  EXPECT_EQ(c.output_limits[0].hard_bytes, 64u << 20);
  EXPECT_EQ(c.accepted["save"], "900 1");
  EXPECT_EQ(c.requirepass, "p w");
}

TEST(Config, HelpFlag) {
  const char* argv[] = {"allotd", "--help"};
  ServerConfig c;
  std::string err;
  bool help = false, version = false;
  ASSERT_TRUE(ParseCommandLine(2, argv, c, &err, &help, &version));
  EXPECT_TRUE(help);
  std::string text = HelpText();
  for (const char* name :
       {"port", "bind", "threads", "dir", "requirepass", "maxclients", "maxmemory", "timeout",
        "proto-max-bulk-len", "client-query-buffer-limit", "client-output-buffer-limit", "loglevel",
        "logfile"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
}

TEST(Config, BadFlag) {
  const char* argv[] = {"allotd", "--port", "x"};
  ServerConfig c;
  std::string err;
  bool help = false, version = false;
  EXPECT_FALSE(ParseCommandLine(3, argv, c, &err, &help, &version));
}

TEST(Config, GetPatterns) {
  ServerConfig c;
  auto all = ConfigGet(c, "*");
  EXPECT_GT(all.size(), 40u);
  auto mm = ConfigGet(c, "maxmemory*");
  std::vector<std::string> names;
  for (auto& [n, v] : mm) names.push_back(n);
  EXPECT_NE(std::find(names.begin(), names.end(), "maxmemory"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "maxmemory-policy"), names.end());
  auto port = ConfigGet(c, "PORT");
  ASSERT_EQ(port.size(), 1u);
  EXPECT_EQ(port[0], (std::pair<std::string, std::string>{"port", "6379"}));
  auto cobl = ConfigGet(c, "client-output-buffer-limit");
  ASSERT_EQ(cobl.size(), 1u);
  EXPECT_EQ(cobl[0].second, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
}

TEST(Config, RunTimeSet) {
  ServerConfig c;
  EXPECT_EQ(ApplyDirective(c, "maxmemory", {"1gb"}, false), "");
  EXPECT_EQ(c.maxmemory, 1u << 30);
  EXPECT_EQ(ApplyDirective(c, "port", {"1234"}, false), "can't set immutable config");
  EXPECT_EQ(ApplyDirective(c, "threads", {"4"}, false), "can't set immutable config");
  EXPECT_EQ(ApplyDirective(c, "hash-max-listpack-entries", {"512"}, false), "");
  EXPECT_EQ(c.accepted["hash-max-listpack-entries"], "512");
  EXPECT_EQ(ApplyDirective(c, "nope", {"1"}, false), "Bad directive or wrong number of arguments");
}

}  // namespace
TEST(Config, RewriteKeepsCommentsAndUpdatesInPlace) {
  const std::string file =
      "# my allotd\n"
      "port 7000\n"
      "maxmemory 1gb\n"
      "unknown-directive x\n"
      "timeout 10\n"
      "timeout 20\n"
      "client-output-buffer-limit normal 0 0 0\n"
      "save \"\"\n";
  ServerConfig cfg;
  std::string err;
  ASSERT_TRUE(LoadConfigText("port 7000\nmaxmemory 1gb\ntimeout 20\nsave \"\"\n", cfg, &err))
      << err;
  // Changes made at run time (CONFIG SET).
  ASSERT_EQ(ApplyDirective(cfg, "timeout", {"30"}, false), "");
  ASSERT_EQ(ApplyDirective(cfg, "slowlog-max-len", {"64"}, false), "");
  ASSERT_EQ(ApplyDirective(cfg, "dir", {"/tmp/a dir"}, true), "");
  std::string out = RewriteConfigText(file, cfg);
  EXPECT_EQ(out,
            "# my allotd\n"
            "port 7000\n"
            "maxmemory 1gb\n"  // unchanged: kept as the user wrote it
            "unknown-directive x\n"
            "timeout 30\n"
            "client-output-buffer-limit normal 0 0 0\n"
            "save \"\"\n"
            "# Generated by CONFIG REWRITE\n"
            "dir \"/tmp/a dir\"\n"
            "slowlog-max-len 64\n");
  // The result reads back to the same settings.
  ServerConfig again;
  ASSERT_TRUE(LoadConfigText(out.substr(0, out.find("unknown")) + out.substr(out.find("timeout")),
                             again, &err))
      << err;
  EXPECT_EQ(ConfigGet(again, "*"), ConfigGet(cfg, "*"));
  // Rewriting again changes nothing.
  EXPECT_EQ(RewriteConfigText(out, cfg), out);
}

TEST(Config, RewriteFileIsAtomicAndReportsErrors) {
  char tmpl[] = "/tmp/allot_cfg_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/allotd.conf";
  {
    std::ofstream f(path);
    f << "port 7001\n";
  }
  ServerConfig cfg;
  ASSERT_EQ(ApplyDirective(cfg, "port", {"7001"}, true), "");
  ASSERT_EQ(ApplyDirective(cfg, "maxclients", {"77"}, false), "");
  EXPECT_EQ(RewriteConfigFile(path, cfg), "");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "port 7001\n# Generated by CONFIG REWRITE\nmaxclients 77\n");
  EXPECT_NE(RewriteConfigFile(std::string(tmpl) + "/missing/x.conf", cfg), "");
  std::filesystem::remove_all(tmpl);
}

}  // namespace allot::server
