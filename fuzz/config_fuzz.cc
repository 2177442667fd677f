// config_fuzz: the config file parser (server/config.h).
//
// Input: the text of a config file. Properties checked:
//   * LoadConfigText never crashes and fails only with Redis's FATAL CONFIG FILE ERROR
//     text naming the line;
//   * a config it accepted, written back as one `name "value"` line per setting that
//     CONFIG GET reports, loads again to the same settings (what CONFIG REWRITE would
//     need, and what an operator copying CONFIG GET output into a file expects).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/config.h"

namespace {

using allot::server::ServerConfig;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "config_fuzz: %s\n", why.c_str());
  std::abort();
}

// A double-quoted argument that SplitInlineArgs reads back byte for byte.
std::string Quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// Settings whose CONFIG GET form is not their input form by design.
bool Skipped(std::string_view name) {
  return name == "dir";  // CONFIG GET reports the absolute path, as Redis does
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ServerConfig cfg;
  std::string err;
  if (!allot::server::LoadConfigText(text, cfg, &err)) {
    if (err.rfind("*** FATAL CONFIG FILE ERROR ***\nReading the configuration file, at line ", 0) !=
        0) {
      Die("unexpected error text: " + err);
    }
    return 0;
  }
  auto before = allot::server::ConfigGet(cfg, "*");
  std::string again;
  for (const auto& [name, value] : before) {
    if (Skipped(name)) continue;
    again += name + " " + Quote(value) + "\n";
  }
  ServerConfig cfg2;
  if (!allot::server::LoadConfigText(again, cfg2, &err)) {
    Die("CONFIG GET output does not load again: " + err + "\n--- text:\n" + again);
  }
  auto after = allot::server::ConfigGet(cfg2, "*");
  if (before.size() != after.size()) Die("settings appeared or vanished on reload");
  for (size_t i = 0; i < before.size(); ++i) {
    if (Skipped(before[i].first)) continue;
    if (before[i] != after[i]) {
      Die("setting '" + before[i].first + "' was '" + before[i].second + "', reloaded as '" +
          after[i].second + "'");
    }
  }
  return 0;
}
