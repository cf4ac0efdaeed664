#include "auth/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth {
namespace {

using std::chrono::sys_seconds;

constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

Status invalidSignature(std::string message) {
  return Status(StatusCode::kInvalidSignature, std::move(message));
}

char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = lowerAscii(c);
  }
  return out;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool isHexDigest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

std::pair<std::string_view, std::string_view> splitTarget(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return {target, {}};
  }
  return {target.substr(0, q), target.substr(q + 1)};
}

// The first header named `lower_name` (compared case-insensitively), trimmed.
std::optional<std::string_view> firstHeader(const SignedRequest& request,
                                            std::string_view lower_name) {
  for (const auto& [name, value] : request.headers) {
    if (equalsIgnoreCase(name, lower_name)) {
      return trim(value);
    }
  }
  return std::nullopt;
}

// Decoded query parameters in wire order.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view raw_query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (raw_query.empty()) {
    return out;
  }
  for (std::string_view piece : split(raw_query, '&')) {
    if (piece.empty()) {
      continue;
    }
    size_t eq = piece.find('=');
    std::string_view key = piece.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    out.emplace_back(sigv4::uriDecode(key, true), sigv4::uriDecode(value, true));
  }
  return out;
}

const std::string* findParam(const std::vector<std::pair<std::string, std::string>>& params,
                             std::string_view name) {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

// Headers AWS SDKs never sign (from @smithy/signature-v4 ALWAYS_UNSIGNABLE_HEADERS), plus the
// proxy-* and sec-* families.
bool isUnsignable(std::string_view lower_name) {
  static constexpr std::string_view kUnsignable[] = {
      "authorization", "cache-control",     "connection", "expect",     "from",
      "keep-alive",    "max-forwards",      "pragma",     "referer",    "te",
      "trailer",       "transfer-encoding", "upgrade",    "user-agent", "x-amzn-trace-id",
  };
  if (lower_name.starts_with("proxy-") || lower_name.starts_with("sec-")) {
    return true;
  }
  return std::find(std::begin(kUnsignable), std::end(kUnsignable), lower_name) !=
         std::end(kUnsignable);
}

// Sorted, de-duplicated, lower-case names of the request's signable headers, joined with ';'.
std::string signableHeaderList(const SignedRequest& request) {
  std::vector<std::string> names;
  for (const auto& header : request.headers) {
    std::string lower = toLower(header.first);
    if (!isUnsignable(lower)) {
      names.push_back(std::move(lower));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) {
      out += ';';
    }
    out += name;
  }
  return out;
}

std::string payloadHashFor(const SignedRequest& request) {
  if (auto header = firstHeader(request, "x-amz-content-sha256")) {
    return std::string(*header);
  }
  return sigv4::sha256Hex(request.body);
}

// The parts of a signature, from either the Authorization header or the presigned query.
struct AuthParts {
  std::string access_key_id;
  std::string scope_date;
  std::string scope_region;
  std::string scope_service;
  std::string scope_terminator;
  std::string signed_headers;
  std::string signature;
  std::string amz_date;
  std::optional<std::chrono::seconds> expires;  // presigned only
};

Status parseCredential(std::string_view credential, AuthParts& parts) {
  std::vector<std::string_view> elements = split(credential, '/');
  if (elements.size() != 5) {
    return invalidSignature(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        std::string(credential) + "'");
  }
  parts.access_key_id = elements[0];
  parts.scope_date = elements[1];
  parts.scope_region = elements[2];
  parts.scope_service = elements[3];
  parts.scope_terminator = elements[4];
  return Status::ok();
}

Result<AuthParts> parseAuthorizationHeader(std::string_view header, const SignedRequest& request) {
  std::string_view algorithm = header.substr(0, header.find(' '));
  if (algorithm != kSigV4Algorithm) {
    return invalidSignature("Unsupported AWS 'algorithm': '" + std::string(algorithm) + "'");
  }
  std::string_view rest = header.substr(algorithm.size());
  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view piece : split(rest, ',')) {
    piece = trim(piece);
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    std::string_view name = trim(piece.substr(0, eq));
    std::string_view value = trim(piece.substr(eq + 1));
    if (name == "Credential") {
      credential = value;
    } else if (name == "SignedHeaders") {
      signed_headers = value;
    } else if (name == "Signature") {
      signature = value;
    }
  }
  std::optional<std::string_view> amz_date = firstHeader(request, "x-amz-date");
  std::string missing;
  if (!credential) {
    missing += "Authorization header requires 'Credential' parameter. ";
  }
  if (!signature) {
    missing += "Authorization header requires 'Signature' parameter. ";
  }
  if (!signed_headers) {
    missing += "Authorization header requires 'SignedHeaders' parameter. ";
  }
  if (!amz_date) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) {
    return invalidSignature(missing + "Authorization=" + std::string(header));
  }
  AuthParts parts;
  HEARTH_RETURN_IF_ERROR(parseCredential(*credential, parts));
  parts.signed_headers = *signed_headers;
  parts.signature = *signature;
  parts.amz_date = *amz_date;
  return parts;
}

Result<AuthParts> parsePresignedQuery(
    const std::vector<std::pair<std::string, std::string>>& params) {
  const std::string* algorithm = findParam(params, "X-Amz-Algorithm");
  const std::string* credential = findParam(params, "X-Amz-Credential");
  const std::string* signature = findParam(params, "X-Amz-Signature");
  const std::string* amz_date = findParam(params, "X-Amz-Date");
  const std::string* signed_headers = findParam(params, "X-Amz-SignedHeaders");
  const std::string* expires = findParam(params, "X-Amz-Expires");
  if (!algorithm || !credential || !signature || !amz_date || !signed_headers || !expires) {
    return invalidSignature(
        "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
        "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. "
        "Re-examine the query-string parameters.");
  }
  if (*algorithm != kSigV4Algorithm) {
    return invalidSignature("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  int64_t expiry_seconds = 0;
  auto [end, error] =
      std::from_chars(expires->data(), expires->data() + expires->size(), expiry_seconds);
  if (expires->empty() || (*expires)[0] == '-' || error != std::errc() ||
      end != expires->data() + expires->size()) {
    return invalidSignature("X-Amz-Expires should be a number");
  }
  std::chrono::seconds expiry(expiry_seconds);
  if (expiry > kMaxPresignExpiry) {
    return invalidSignature("X-Amz-Expires must be less than a week (in seconds) that is 604800");
  }
  AuthParts parts;
  HEARTH_RETURN_IF_ERROR(parseCredential(*credential, parts));
  parts.signed_headers = *signed_headers;
  parts.signature = *signature;
  parts.amz_date = *amz_date;
  parts.expires = expiry;
  return parts;
}

Status checkScope(const AuthParts& parts, std::string_view region, std::string_view service) {
  std::string_view day = std::string_view(parts.amz_date).substr(0, 8);
  if (parts.scope_date != day) {
    return invalidSignature(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '" +
        parts.scope_date + "' != '" + std::string(day) + "', from '" + parts.amz_date + "'.");
  }
  if (parts.scope_terminator != kTerminator) {
    return invalidSignature(
        "Credential should be scoped with a valid terminator: 'aws4_request', "
        "not '" +
        parts.scope_terminator + "'.");
  }
  if (parts.scope_service != service) {
    return invalidSignature("Credential should be scoped to correct service: '" +
                            std::string(service) + "'.");
  }
  if (parts.scope_region != region) {
    return invalidSignature("Credential should be scoped to a valid region, not '" +
                            parts.scope_region + "'.");
  }
  bool host_signed = false;
  for (std::string_view name : split(parts.signed_headers, ';')) {
    host_signed = host_signed || equalsIgnoreCase(name, "host");
  }
  if (!host_signed) {
    return invalidSignature(
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return Status::ok();
}

Status checkTime(const AuthParts& parts, sys_seconds date, sys_seconds now) {
  using sigv4::formatAmzDate;
  if (date > now + kMaxClockSkew) {
    return invalidSignature("Signature not yet current: " + parts.amz_date +
                            " is still later than " + formatAmzDate(now + kMaxClockSkew) + " (" +
                            formatAmzDate(now) + " + 5 min.)");
  }
  if (parts.expires) {
    if (now > date + *parts.expires) {
      return invalidSignature("Request has expired");
    }
  } else if (date < now - kMaxClockSkew) {
    return invalidSignature("Signature expired: " + parts.amz_date + " is now earlier than " +
                            formatAmzDate(now - kMaxClockSkew) + " (" + formatAmzDate(now) +
                            " - 5 min.)");
  }
  return Status::ok();
}

std::string computeSignature(std::string_view secret, std::string_view amz_date,
                             std::string_view region, std::string_view service,
                             const std::string& canonical_request) {
  std::string_view day = amz_date.substr(0, 8);
  std::string scope = sigv4::credentialScope(day, region, service);
  return sigv4::signature(sigv4::signingKey(secret, day, region, service),
                          sigv4::stringToSign(amz_date, scope, canonical_request));
}

}  // namespace

namespace sigv4 {

std::string toHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xF];
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return std::string();  // Never equal to a real digest, so verification fails closed.
  }
  return toHex(std::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &length) == nullptr) {
    return std::string();  // Never equal to a real MAC, so verification fails closed.
  }
  return std::string(reinterpret_cast<const char*>(mac), length);
}

std::string uriEncode(std::string_view in, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out += c;
    } else {
      auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kDigits[b >> 4];
      out += kDigits[b & 0xF];
    }
  }
  return out;
}

std::string uriDecode(std::string_view in, bool plus_as_space) {
  auto hexValue = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 && hexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
      i += 2;
    } else if (plus_as_space && in[i] == '+') {
      out += ' ';
    } else {
      out += in[i];
    }
  }
  return out;
}

std::string canonicalUri(std::string_view raw_path) {
  std::vector<std::string_view> segments;
  for (std::string_view segment : split(raw_path, '/')) {
    if (segment.empty() || segment == ".") {
      continue;
    }
    if (segment == "..") {
      if (!segments.empty()) {
        segments.pop_back();
      }
    } else {
      segments.push_back(segment);
    }
  }
  std::string normalized;
  if (raw_path.starts_with('/')) {
    normalized += '/';
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) {
      normalized += '/';
    }
    normalized += segments[i];
  }
  if (!segments.empty() && raw_path.ends_with('/')) {
    normalized += '/';
  }
  return uriEncode(normalized, /*keep_slash=*/true);
}

std::string canonicalQuery(std::string_view raw_query, bool drop_signature) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto& [key, value] : parseQuery(raw_query)) {
    if (drop_signature && equalsIgnoreCase(key, "x-amz-signature")) {
      continue;
    }
    pairs.emplace_back(uriEncode(key, false), uriEncode(value, false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) {
      out += '&';
    }
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

std::string canonicalHeaderValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (char c : trim(value)) {
    if (isSpace(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += c;
  }
  return out;
}

std::optional<std::string> canonicalRequest(const SignedRequest& request,
                                            std::string_view signed_headers,
                                            std::string_view payload_hash, bool drop_signature) {
  auto [path, query] = splitTarget(request.target);
  std::string out = request.method;
  out += '\n';
  out += canonicalUri(path);
  out += '\n';
  out += canonicalQuery(query, drop_signature);
  out += '\n';
  for (std::string_view name : split(signed_headers, ';')) {
    bool found = false;
    out += name;
    out += ':';
    for (const auto& [header_name, value] : request.headers) {
      if (!equalsIgnoreCase(header_name, name)) {
        continue;
      }
      if (found) {
        out += ',';
      }
      out += canonicalHeaderValue(value);
      found = true;
    }
    if (!found) {
      return std::nullopt;
    }
    out += '\n';
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += payload_hash;
  return out;
}

std::string credentialScope(std::string_view date, std::string_view region,
                            std::string_view service) {
  std::string out(date);
  out += '/';
  out += region;
  out += '/';
  out += service;
  out += '/';
  out += kTerminator;
  return out;
}

std::string stringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string out(kSigV4Algorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += scope;
  out += '\n';
  out += sha256Hex(canonical_request);
  return out;
}

std::string signingKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string key = "AWS4";
  key += secret;
  key = hmacSha256(key, date);
  key = hmacSha256(key, region);
  key = hmacSha256(key, service);
  return hmacSha256(key, kTerminator);
}

std::string signature(std::string_view signing_key, std::string_view string_to_sign) {
  return toHex(hmacSha256(signing_key, string_to_sign));
}

std::string formatAmzDate(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::floor<std::chrono::seconds>(t);
  auto day = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day ymd(day);
  std::chrono::hh_mm_ss hms(secs - day);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<std::chrono::sys_seconds> parseAmzDate(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](size_t pos, size_t len) -> int {
    int value = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return -1;
      }
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59) {
    return std::nullopt;
  }
  std::chrono::year_month_day ymd(std::chrono::year(year),
                                  std::chrono::month(static_cast<unsigned>(month)),
                                  std::chrono::day(static_cast<unsigned>(day)));
  if (!ymd.ok()) {
    return std::nullopt;
  }
  return std::chrono::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

}  // namespace sigv4

SigV4Verifier::SigV4Verifier(std::vector<Credentials> keys, std::string region, std::string service,
                             const Clock& clock)
    : region_(std::move(region)), service_(std::move(service)), clock_(clock) {
  for (Credentials& key : keys) {
    secrets_.emplace(std::move(key.access_key_id), std::move(key.secret_access_key));
  }
}

Status SigV4Verifier::verify(const SignedRequest& request) const {
  auto query = splitTarget(request.target).second;
  std::vector<std::pair<std::string, std::string>> params = parseQuery(query);
  std::optional<std::string_view> header = firstHeader(request, "authorization");
  bool presigned = findParam(params, "X-Amz-Signature") != nullptr;
  if (!header && !presigned) {
    return Status(StatusCode::kMissingAuthentication, "Missing Authentication Token");
  }
  if (header && presigned) {
    return invalidSignature(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
        "query string parameter or the Authorization header should be specified");
  }
  HEARTH_ASSIGN_OR_RETURN(AuthParts parts, header ? parseAuthorizationHeader(*header, request)
                                                  : parsePresignedQuery(params));

  std::optional<sys_seconds> date = sigv4::parseAmzDate(parts.amz_date);
  if (!date) {
    return invalidSignature("Date must be in ISO-8601 'basic format'. Got '" + parts.amz_date +
                            "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  HEARTH_RETURN_IF_ERROR(checkScope(parts, region_, service_));

  auto secret = secrets_.find(parts.access_key_id);
  if (secret == secrets_.end()) {
    return Status(StatusCode::kUnrecognizedClient,
                  "The security token included in the request is invalid.");
  }

  sys_seconds now = std::chrono::floor<std::chrono::seconds>(clock_.wallNow());
  HEARTH_RETURN_IF_ERROR(checkTime(parts, *date, now));

  std::optional<std::string_view> declared_hash = firstHeader(request, "x-amz-content-sha256");
  if (declared_hash && *declared_hash != kUnsignedPayload && !isHexDigest(*declared_hash)) {
    return invalidSignature(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.");
  }
  std::string payload_hash =
      declared_hash ? std::string(*declared_hash) : sigv4::sha256Hex(request.body);

  std::optional<std::string> canonical =
      sigv4::canonicalRequest(request, parts.signed_headers, payload_hash, presigned);
  if (!canonical) {
    return invalidSignature(std::string(kSignatureMismatch));
  }
  std::string expected =
      computeSignature(secret->second, parts.amz_date, region_, service_, *canonical);
  if (expected.size() != parts.signature.size() ||
      CRYPTO_memcmp(expected.data(), parts.signature.data(), expected.size()) != 0) {
    return invalidSignature(std::string(kSignatureMismatch));
  }

  if (declared_hash && *declared_hash != kUnsignedPayload &&
      toLower(*declared_hash) != sigv4::sha256Hex(request.body)) {
    return invalidSignature(
        "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return Status::ok();
}

void signRequest(SignedRequest& request, const Credentials& credentials, std::string_view region,
                 std::string_view service, std::chrono::system_clock::time_point now) {
  std::erase_if(request.headers, [](const auto& header) {
    return equalsIgnoreCase(header.first, "authorization") ||
           equalsIgnoreCase(header.first, "x-amz-date") || equalsIgnoreCase(header.first, "date");
  });
  std::string amz_date = sigv4::formatAmzDate(now);
  request.headers.emplace_back("x-amz-date", amz_date);
  std::string payload_hash = payloadHashFor(request);
  if (!firstHeader(request, "x-amz-content-sha256")) {
    request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  }
  std::string signed_headers = signableHeaderList(request);
  // Every listed header is present, so the canonical request always exists.
  std::string canonical =
      sigv4::canonicalRequest(request, signed_headers, payload_hash, /*drop_signature=*/false)
          .value_or(std::string());
  std::string signature =
      computeSignature(credentials.secret_access_key, amz_date, region, service, canonical);
  std::string scope =
      sigv4::credentialScope(std::string_view(amz_date).substr(0, 8), region, service);
  request.headers.emplace_back(
      "authorization", std::string(kSigV4Algorithm) + " Credential=" + credentials.access_key_id +
                           "/" + scope + ", SignedHeaders=" + signed_headers +
                           ", Signature=" + signature);
}

Result<std::string> presignTarget(const SignedRequest& request, const Credentials& credentials,
                                  std::string_view region, std::string_view service,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds expires) {
  if (expires < std::chrono::seconds(1) || expires > kMaxPresignExpiry) {
    return invalidParameter("presigned expiry must be between 1 and 604800 seconds");
  }
  std::string amz_date = sigv4::formatAmzDate(now);
  std::string scope =
      sigv4::credentialScope(std::string_view(amz_date).substr(0, 8), region, service);
  std::string signed_headers = signableHeaderList(request);
  SignedRequest presigned{request.method, request.target, request.headers, request.body};
  if (presigned.target.find('?') == std::string::npos) {
    presigned.target += '?';
  } else if (!presigned.target.ends_with('?')) {
    presigned.target += '&';
  }
  presigned.target += "X-Amz-Algorithm=" + std::string(kSigV4Algorithm);
  presigned.target +=
      "&X-Amz-Credential=" + sigv4::uriEncode(credentials.access_key_id + "/" + scope, false);
  presigned.target += "&X-Amz-Date=" + amz_date;
  presigned.target += "&X-Amz-Expires=" + std::to_string(expires.count());
  presigned.target += "&X-Amz-SignedHeaders=" + sigv4::uriEncode(signed_headers, false);
  std::string canonical = sigv4::canonicalRequest(presigned, signed_headers,
                                                  payloadHashFor(request), /*drop_signature=*/true)
                              .value_or(std::string());
  presigned.target += "&X-Amz-Signature=" + computeSignature(credentials.secret_access_key,
                                                             amz_date, region, service, canonical);
  return presigned.target;
}

}  // namespace hearth
