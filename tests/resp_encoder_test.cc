// RESP2/RESP3 encoding of Reply values, byte for byte as Redis 7 writes them.
#include "server/resp_encoder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace allot::server {
namespace {

std::string Enc(const Reply& r, int resp) {
  std::string out;
  EncodeReply(r, resp, out);
  return out;
}

Reply B(std::string_view s) { return Reply::Bulk(s); }

TEST(RespEncoder, Scalars) {
  for (int resp : {2, 3}) {
    EXPECT_EQ(Enc(Reply::Ok(), resp), "+OK\r\n");
    EXPECT_EQ(Enc(Reply::Status("PONG"), resp), "+PONG\r\n");
    EXPECT_EQ(Enc(Reply::Error("ERR syntax error"), resp), "-ERR syntax error\r\n");
    EXPECT_EQ(Enc(Reply::Int(-42), resp), ":-42\r\n");
    EXPECT_EQ(Enc(Reply::Int(INT64_MIN), resp), ":-9223372036854775808\r\n");
    EXPECT_EQ(Enc(B("hello"), resp), "$5\r\nhello\r\n");
    EXPECT_EQ(Enc(B(""), resp), "$0\r\n\r\n");
    EXPECT_EQ(Enc(B(std::string_view("a\r\n\0", 4)), resp), std::string("$4\r\na\r\n\0\r\n", 10));
  }
}

TEST(RespEncoder, VerbatimIsBulkInResp2AndTxtInResp3) {
  Reply v = Reply::Verbatim("# Server\r\nx:1\r\n");
  EXPECT_TRUE(v.is_bulk());
  EXPECT_EQ(v.string(), "# Server\r\nx:1\r\n");
  EXPECT_EQ(Enc(v, 2), "$15\r\n# Server\r\nx:1\r\n\r\n");
  EXPECT_EQ(Enc(v, 3), "=19\r\ntxt:# Server\r\nx:1\r\n\r\n");
  EXPECT_EQ(Enc(Reply::Verbatim(""), 3), "=4\r\ntxt:\r\n");
}

TEST(RespEncoder, ErrorsStayOneLine) {
  EXPECT_EQ(Enc(Reply::Error("ERR a\r\nb"), 2), "-ERR a  b\r\n");
}

TEST(RespEncoder, Nulls) {
  EXPECT_EQ(Enc(Reply::Null(), 2), "$-1\r\n");
  EXPECT_EQ(Enc(Reply::NullArray(), 2), "*-1\r\n");
  EXPECT_EQ(Enc(Reply::Null(), 3), "_\r\n");
  EXPECT_EQ(Enc(Reply::NullArray(), 3), "_\r\n");
}

TEST(RespEncoder, Arrays) {
  Reply a = Reply::Array({B("a"), Reply::Int(1), Reply::Null(), Reply::Array()});
  EXPECT_EQ(Enc(a, 2), "*4\r\n$1\r\na\r\n:1\r\n$-1\r\n*0\r\n");
  EXPECT_EQ(Enc(a, 3), "*4\r\n$1\r\na\r\n:1\r\n_\r\n*0\r\n");
}

TEST(RespEncoder, MapsFlattenInResp2) {
  Reply m = Reply::Map({B("k1"), Reply::Int(1), B("k2"), B("v")});
  EXPECT_EQ(Enc(m, 2), "*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$1\r\nv\r\n");
  EXPECT_EQ(Enc(m, 3), "%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$1\r\nv\r\n");
  EXPECT_EQ(Enc(Reply::Map(), 3), "%0\r\n");
}

TEST(RespEncoder, Sets) {
  Reply s = Reply::Set({B("x"), B("y")});
  EXPECT_EQ(Enc(s, 2), "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
  EXPECT_EQ(Enc(s, 3), "~2\r\n$1\r\nx\r\n$1\r\ny\r\n");
}

TEST(RespEncoder, Doubles) {
  EXPECT_EQ(Enc(Reply::Double(1.5), 2), "$3\r\n1.5\r\n");
  EXPECT_EQ(Enc(Reply::Double(1.5), 3), ",1.5\r\n");
  EXPECT_EQ(Enc(Reply::Double(INFINITY), 3), ",inf\r\n");
  EXPECT_EQ(Enc(Reply::Double(-INFINITY), 2), "$4\r\n-inf\r\n");
}

TEST(RespEncoder, Booleans) {
  EXPECT_EQ(Enc(Reply::Bool(true), 2), ":1\r\n");
  EXPECT_EQ(Enc(Reply::Bool(false), 2), ":0\r\n");
  EXPECT_EQ(Enc(Reply::Bool(true), 3), "#t\r\n");
  EXPECT_EQ(Enc(Reply::Bool(false), 3), "#f\r\n");
}

TEST(RespEncoder, Nested) {
  Reply r = Reply::Array({Reply::Map({B("a"), Reply::Set({Reply::Bool(true)})})});
  EXPECT_EQ(Enc(r, 2), "*1\r\n*2\r\n$1\r\na\r\n*1\r\n:1\r\n");
  EXPECT_EQ(Enc(r, 3), "*1\r\n%1\r\n$1\r\na\r\n~1\r\n#t\r\n");
}

}  // namespace
}  // namespace allot::server
