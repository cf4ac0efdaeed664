#include "net/wire_format.h"

#include <charconv>
#include <string_view>

namespace hearth::net_internal {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) {
      return false;
    }
  }
  return true;
}

// Framing headers the writer sets itself.
bool isFramingHeader(std::string_view name) {
  return equalsIgnoreCase(name, "content-length") || equalsIgnoreCase(name, "transfer-encoding") ||
         equalsIgnoreCase(name, "connection");
}

bool splitsMessage(std::string_view text) {
  return text.find_first_of("\r\n") != text.npos;
}

void appendNumber(size_t n, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out->append(digits, end);
}

void appendHeaders(const HeaderList& headers, std::string* out) {
  for (const auto& [name, value] : headers) {
    if (name.empty() || isFramingHeader(name) || splitsMessage(name) || splitsMessage(value)) {
      continue;
    }
    out->append(name);
    out->append(": ");
    out->append(value);
    out->append("\r\n");
  }
}

}  // namespace

bool responseHasBody(int status) {
  return status >= 200 && status != 204 && status != 304;
}

void appendResponseHead(const HttpResponse& response, bool keep_alive, std::string* out) {
  out->append("HTTP/1.1 ");
  appendNumber(static_cast<size_t>(response.status), out);
  out->push_back(' ');
  out->append(httpReasonPhrase(response.status));
  out->append("\r\n");
  appendHeaders(response.headers, out);
  if (responseHasBody(response.status)) {
    out->append("Content-Length: ");
    appendNumber(response.body.size(), out);
    out->append("\r\n");
  }
  if (!keep_alive) {
    out->append("Connection: close\r\n");
  }
  out->append("\r\n");
}

void appendRequestHead(const HttpRequest& request, const std::string& default_host,
                       std::string* out) {
  out->append(request.method);
  out->push_back(' ');
  out->append(request.target);
  out->append(" HTTP/1.1\r\n");
  if (findHeader(request.headers, "host") == nullptr) {
    out->append("Host: ");
    out->append(default_host);
    out->append("\r\n");
  }
  appendHeaders(request.headers, out);
  out->append("Content-Length: ");
  appendNumber(request.body.size(), out);
  out->append("\r\n\r\n");
}

}  // namespace hearth::net_internal
