#include "net/request_framing.h"

#include <cctype>

namespace hearth {
namespace {

bool isOptionalWhitespace(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && isOptionalWhitespace(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && isOptionalWhitespace(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Splits a field value list on commas; empty elements are dropped (RFC 9110 §5.6.1.2).
void appendCodings(std::string_view value, std::vector<std::string_view>* codings) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) {
      codings->push_back(element);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

FramingVerdict checkTransferEncoding(int http_minor,
                                     const std::vector<std::string_view>& transfer_encodings) {
  if (transfer_encodings.empty()) {
    return FramingVerdict::kOk;
  }
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  if (http_minor == 0) {
    return FramingVerdict::kBadRequest;
  }
  std::vector<std::string_view> codings;
  for (std::string_view value : transfer_encodings) {
    appendCodings(value, &codings);
  }
  if (codings.empty() || !equalsIgnoringCase(codings.back(), "chunked")) {
    return FramingVerdict::kBadRequest;
  }
  for (size_t i = 0; i + 1 < codings.size(); ++i) {
    // A coding's name ends at its first parameter; chunked has none and is applied once.
    std::string_view name = trim(codings[i].substr(0, codings[i].find(';')));
    if (equalsIgnoringCase(name, "chunked")) {
      return FramingVerdict::kBadRequest;
    }
  }
  if (codings.size() > 1) {
    return FramingVerdict::kNotImplemented;
  }
  return FramingVerdict::kOk;
}

}  // namespace hearth
