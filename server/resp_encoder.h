// resp_encoder.h: allot::Reply to RESP2 or RESP3 bytes, as Redis 7 writes them.
//
// RESP2 has no maps, sets, doubles, booleans or a typed null, so (as Redis does) maps
// become flat arrays of key, value, ..., sets become arrays, doubles become bulk strings,
// booleans become the integers 1/0, a null is $-1 and a null array *-1.
#pragma once

#include <allot/reply.h>

#include <string>

namespace allot::server {

// Appends the encoding of r in protocol version resp (2 or 3) to out.
void EncodeReply(const Reply& r, int resp, std::string& out);

}  // namespace allot::server
