#include "net/http_client.h"

#include "net/beast_messages.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <optional>

namespace hearth {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr size_t kMaxResponseBody = 512u * 1024 * 1024;

class HttpClientImpl final : public HttpClient {
 public:
  HttpClientImpl(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}

  Result<HttpResponse> send(const HttpRequest& request,
                            std::chrono::milliseconds timeout) override {
    // A kept-alive connection may have been closed by the server meanwhile: retry once on a
    // fresh connection when the failure happened on a reused one.
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool reused = stream_.has_value();
      std::optional<Result<HttpResponse>> result;
      bool retryable = false;
      net::co_spawn(ioc_, exchange(this, &request, timeout, &result, &retryable), net::detached);
      ioc_.run();
      ioc_.restart();
      if (result && result->isOk()) {
        return std::move(*result);
      }
      stream_.reset();
      if (!(reused && retryable) || attempt == 1) {
        if (result) {
          return std::move(*result);
        }
        return Status(StatusCode::kInternal, "http client produced no result");
      }
    }
    return Status(StatusCode::kInternal, "unreachable");
  }

 private:
  static net::awaitable<void> exchange(HttpClientImpl* self, const HttpRequest* request,
                                       std::chrono::milliseconds timeout,
                                       std::optional<Result<HttpResponse>>* out, bool* retryable) {
    if (!self->stream_) {
      tcp::resolver resolver(self->ioc_);
      auto [resolve_ec, endpoints] =
          co_await resolver.async_resolve(self->host_, std::to_string(self->port_), kNoThrow);
      if (resolve_ec) {
        out->emplace(Status(StatusCode::kUnavailable,
                            "cannot resolve " + self->host_ + ": " + resolve_ec.message()));
        co_return;
      }
      self->stream_.emplace(self->ioc_);
      self->stream_->expires_after(timeout);
      auto [connect_ec, endpoint] = co_await self->stream_->async_connect(endpoints, kNoThrow);
      if (connect_ec) {
        out->emplace(Status(StatusCode::kUnavailable, "cannot connect to " + self->host_ + ":" +
                                                          std::to_string(self->port_) + ": " +
                                                          connect_ec.message()));
        co_return;
      }
      self->buffer_.clear();
    }
    auto message = net_internal::toBeastRequest(*request, request->body,
                                                self->host_ + ":" + std::to_string(self->port_));

    self->stream_->expires_after(timeout);
    auto [write_ec, written] = co_await http::async_write(*self->stream_, message, kNoThrow);
    if (write_ec) {
      *retryable = true;
      out->emplace(Status(StatusCode::kUnavailable, "write failed: " + write_ec.message()));
      co_return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    parser.skip(request->method == "HEAD");
    auto [read_ec, read] =
        co_await http::async_read(*self->stream_, self->buffer_, parser, kNoThrow);
    if (read_ec) {
      if (read_ec == beast::error::timeout) {
        out->emplace(Status(StatusCode::kDeadlineExceeded, "timed out waiting for the response"));
      } else {
        *retryable = read == 0;
        out->emplace(Status(StatusCode::kUnavailable, "read failed: " + read_ec.message()));
      }
      co_return;
    }
    auto response_message = parser.release();
    bool keep_alive = response_message.keep_alive();
    HttpResponse response = net_internal::toHttpResponse(std::move(response_message));
    if (!keep_alive) {
      self->stream_.reset();
    }
    out->emplace(std::move(response));
  }

  std::string host_;
  uint16_t port_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::unique_ptr<HttpClient> HttpClient::create(std::string host, uint16_t port) {
  return std::make_unique<HttpClientImpl>(std::move(host), port);
}

bool splitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) {
    return false;
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  if (h.empty()) {
    return false;
  }
  unsigned long value = 0;
  for (size_t i = colon + 1; i < address.size(); ++i) {
    char c = address[i];
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<unsigned long>(c - '0');
    if (value > 65535) {
      return false;
    }
  }
  *host = h;
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace hearth
