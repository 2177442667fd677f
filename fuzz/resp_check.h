// resp_check.h: a strict validator of RESP2/RESP3 reply bytes, for the fuzz targets.
//
// The fuzzers encode every Reply the engine produced (server/resp_encoder.h) and check
// here that the bytes are exactly one well-formed reply of the negotiated protocol: the
// client libraries parse what we send with no second chance, so a stray CR in a status
// line, a map with an odd element count or a negative length other than -1 is a bug.
#pragma once

#include <allot/reply.h>

#include <string>
#include <string_view>

namespace allot::fuzz {

// "" if bytes hold exactly one complete, well-formed reply of protocol resp (2 or 3);
// else what is wrong and where.
std::string CheckReplyBytes(std::string_view bytes, int resp);

// "" if the Reply tree is well formed (a map holds key/value pairs, an error or status
// text is non-empty for errors, a RESP3-only kind is only nested as allowed); else why.
std::string CheckReplyTree(const Reply& r);

// Encodes r in RESP2 and RESP3 and checks both; "" or the first problem found.
std::string CheckReply(const Reply& r);

}  // namespace allot::fuzz
