#include "engine/scripting/function_store.h"

#include "engine/scripting/lua_runtime.h"
#include "engine/util/assert.h"
#include "engine/wal/crc32c.h"

namespace allot::internal {

namespace {

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(b, 4);
}

bool GetU32(std::string_view& in, uint32_t& v) {
  if (in.size() < 4) return false;
  v = 0;
  for (int i = 3; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(in[static_cast<size_t>(i)]);
  in.remove_prefix(4);
  return true;
}

}  // namespace

std::string EncodeFunctionsPayload(const std::vector<FunctionLibrary>& libs) {
  std::string out(kFunctionsPayloadMagic);
  out.push_back(static_cast<char>(kFunctionsPayloadVersion));
  ALLOT_CHECK(libs.size() <= UINT32_MAX);
  PutU32(out, static_cast<uint32_t>(libs.size()));
  for (const FunctionLibrary& lib : libs) {
    ALLOT_CHECK(lib.code.size() <= UINT32_MAX);
    PutU32(out, static_cast<uint32_t>(lib.code.size()));
    out += lib.code;
  }
  PutU32(out, Crc32c(out));
  return out;
}

bool DecodeFunctionsPayload(std::string_view payload, std::vector<std::string>& codes) {
  codes.clear();
  const size_t header = kFunctionsPayloadMagic.size() + 1;
  if (payload.size() < header + 8 ||
      payload.substr(0, kFunctionsPayloadMagic.size()) != kFunctionsPayloadMagic) {
    return false;
  }
  if (static_cast<uint8_t>(payload[kFunctionsPayloadMagic.size()]) != kFunctionsPayloadVersion) {
    return false;
  }
  std::string_view crc_bytes = payload.substr(payload.size() - 4);
  uint32_t stored = 0;
  if (!GetU32(crc_bytes, stored)) return false;
  std::string_view body = payload.substr(0, payload.size() - 4);
  if (Crc32c(body) != stored) return false;
  body.remove_prefix(header);
  uint32_t count = 0;
  if (!GetU32(body, count)) return false;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (!GetU32(body, len) || len > body.size()) return false;
    codes.emplace_back(body.substr(0, len));
    body.remove_prefix(len);
  }
  return body.empty();
}

std::string CompileFunctionsPayload(std::string_view payload, std::vector<FunctionLibrary>& libs) {
  std::vector<std::string> codes;
  if (!DecodeFunctionsPayload(payload, codes)) {
    return "ERR DUMP payload version or checksum are wrong";
  }
  libs.clear();
  for (const std::string& code : codes) {
    FunctionLibrary lib;
    std::string err = CompileLibrary(code, lib);
    if (!err.empty()) return err;
    libs.push_back(std::move(lib));
  }
  return "";
}

std::string LoadCheckpointFunctions(std::string_view payload) {
  ScriptRegistry& reg = ScriptRegistry::Get();
  if (payload.empty()) {
    reg.flush_libraries();
    return "";
  }
  std::vector<FunctionLibrary> libs;
  std::string err = CompileFunctionsPayload(payload, libs);
  if (err.empty())
    err = reg.restore_libraries(std::move(libs), ScriptRegistry::RestorePolicy::kFlush);
  return err;
}

}  // namespace allot::internal
