// libFuzzer target: arbitrary bytes as what a client sends on one connection. The bytes are
// parsed as pipelined requests with the server's own parser settings and header checks; every
// input must end in requests, a transport error or a need for more bytes, never a crash.
#include <algorithm>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "net/request_parsing.h"

namespace {

namespace http = boost::beast::http;
using hearth::net_internal::RequestParser;

constexpr size_t kMaxHeaderBytes = 1024;
constexpr size_t kMaxBodyBytes = 4096;

// Feeds `bytes` to `parser` in pieces of at most `piece` bytes, as a socket might deliver them.
// Returns the bytes consumed, or nothing on a parse error.
std::optional<size_t> feed(RequestParser& parser, std::string_view bytes, size_t piece,
                           bool header_only) {
  size_t used = 0;
  while (used < bytes.size() && !(header_only ? parser.is_header_done() : parser.is_done())) {
    size_t offered = std::min(piece, bytes.size() - used);
    boost::beast::error_code ec;
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, offered), ec);
    if (ec == http::error::need_more || (!ec && n == 0)) {
      if (offered == bytes.size() - used) {
        return std::nullopt;  // the input ends mid-message
      }
      piece *= 2;  // Beast wants the whole line at once
      continue;
    }
    if (ec) {
      return std::nullopt;
    }
    used += n;
  }
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  size_t piece = size > 0 ? 1 + data[0] % 64 : 1;
  for (int request = 0; request < 16 && !rest.empty(); ++request) {
    RequestParser parser;
    hearth::net_internal::configureParser(parser, kMaxHeaderBytes);
    parser.eager(false);  // stop after the header, as the server's header read does
    auto header = feed(parser, rest, piece, /*header_only=*/true);
    if (!header || !parser.is_header_done()) {
      return 0;
    }
    rest.remove_prefix(*header);
    if (hearth::net_internal::checkRequestHeader(parser)) {
      return 0;  // answered and closed: nothing after it is parsed
    }
    if (hearth::net_internal::applyBodyLimit(parser, kMaxBodyBytes)) {
      return 0;  // 413 and close
    }
    parser.eager(true);
    auto body = feed(parser, rest, piece, /*header_only=*/false);
    if (!body || !parser.is_done()) {
      return 0;
    }
    rest.remove_prefix(*body);
    auto message = parser.release();
    if (!message.keep_alive()) {
      return 0;
    }
  }
  return 0;
}
