#include "api/json_check.h"

#include <fmt/format.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>

namespace hearth {
namespace {

// A Boost.JSON parse handler that keeps nothing: the parser itself checks the grammar, nesting
// depth and UTF-8. Its member names are the ones basic_parser requires.
// NOLINTBEGIN(readability-identifier-naming)
struct NullHandler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec = boost::json::error_code;

  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_key_part(std::string_view, std::size_t, ec&) { return true; }
  bool on_key(std::string_view, std::size_t, ec&) { return true; }
  bool on_string_part(std::string_view, std::size_t, ec&) { return true; }
  bool on_string(std::string_view, std::size_t, ec&) { return true; }
  bool on_number_part(std::string_view, ec&) { return true; }
  bool on_int64(std::int64_t, std::string_view, ec&) { return true; }
  bool on_uint64(std::uint64_t, std::string_view, ec&) { return true; }
  bool on_double(double, std::string_view, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(std::string_view, ec&) { return true; }
  bool on_comment(std::string_view, ec&) { return true; }
};
// NOLINTEND(readability-identifier-naming)

}  // namespace

Status checkInvokePayload(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 1000;
  boost::json::basic_parser<NullHandler> parser(options);
  boost::json::error_code ec;
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec) {
    // One value only: what follows it may be white space, nothing else.
    size_t rest = text.find_first_not_of(" \t\r\n", consumed);
    if (rest == std::string_view::npos) {
      return Status::ok();
    }
    consumed = rest;
    ec = boost::json::error::extra_data;
  }
  // Line and column of the first byte the parser could not take, counted as AWS does (from 1).
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < consumed && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return Status(StatusCode::kInvalidRequestContent,
                fmt::format("Could not parse request body into json: Could not parse payload into "
                            "json: {} at line: {}, column: {}",
                            ec.message(), line, column));
}

}  // namespace hearth
