#include "net/wire_format.h"

#include <gtest/gtest.h>

namespace hearth::net_internal {
namespace {

TEST(WireFormat, ResponseHeadHasStatusHeadersLengthAndBlankLine) {
  HttpResponse response;
  response.status = 201;
  response.set("Content-Type", "application/json");
  response.body = "{\"a\":1}";
  std::string head;
  appendResponseHead(response, /*keep_alive=*/true, &head);
  EXPECT_EQ(head,
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n");
}

TEST(WireFormat, ResponseFramingIsTheWritersOwn) {
  HttpResponse response;
  response.status = 200;
  response.set("Content-Length", "999");
  response.set("transfer-encoding", "chunked");
  response.set("Connection", "keep-alive");
  response.set("X-Split", "a\r\nInjected: 1");
  response.set("X-Ok", "yes");
  response.body = "hi";
  std::string head;
  appendResponseHead(response, /*keep_alive=*/false, &head);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nX-Ok: yes\r\nContent-Length: 2\r\nConnection: close\r\n\r\n");
}

TEST(WireFormat, NoContentLengthWhereTheStatusHasNoBody) {
  for (int status : {101, 204, 304}) {
    HttpResponse response;
    response.status = status;
    response.body = "ignored";
    std::string head;
    appendResponseHead(response, true, &head);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos) << status;
    EXPECT_FALSE(responseHasBody(status));
  }
  EXPECT_TRUE(responseHasBody(200));
  EXPECT_TRUE(responseHasBody(404));
}

TEST(WireFormat, UnknownStatusKeepsTheSpaceBeforeAnEmptyReason) {
  HttpResponse response;
  response.status = 299;
  std::string head;
  appendResponseHead(response, true, &head);
  EXPECT_EQ(head.substr(0, 15), "HTTP/1.1 299 \r\n");
}

TEST(WireFormat, RequestHeadAddsHostUnlessGivenAndAppendsToWhatIsThere) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/agent/v1/environments/e1/invoke";
  request.headers = {{"X-Token", "t"}};
  request.body = "abc";
  std::string head = "kept|";
  appendRequestHead(request, "10.0.0.1:8080", &head);
  EXPECT_EQ(head,
            "kept|POST /agent/v1/environments/e1/invoke HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n"
            "X-Token: t\r\nContent-Length: 3\r\n\r\n");
  request.headers.emplace_back("host", "example");
  head.clear();
  appendRequestHead(request, "10.0.0.1:8080", &head);
  EXPECT_EQ(head.find("10.0.0.1"), std::string::npos);
  EXPECT_NE(head.find("host: example\r\n"), std::string::npos);
}

}  // namespace
}  // namespace hearth::net_internal
