#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/status.h"

namespace hearth {

// An HTTP request as it arrived (or as it will be sent), in the form SigV4 needs.
struct SignedRequest {
  std::string method;
  // Raw path plus optional "?query", exactly as on the wire (percent-encoded).
  std::string target;
  // Header fields as received: names in any case, a name may repeat.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
};

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// Largest X-Amz-Expires a presigned request may carry (one week), as in AWS.
inline constexpr std::chrono::seconds kMaxPresignExpiry{604800};
// How far X-Amz-Date may be from the verifier's clock.
inline constexpr std::chrono::minutes kMaxClockSkew{5};

// Checks AWS Signature Version 4 on incoming requests, in the Authorization header or in a
// presigned query string. Immutable after construction; verify() is safe to call concurrently.
class SigV4Verifier {
 public:
  // `keys` are the accepted access keys; when an access key id repeats, the first entry wins.
  // `clock` must outlive the verifier.
  SigV4Verifier(std::vector<Credentials> keys, std::string region, std::string service,
                const Clock& clock);

  // Returns ok when the request carries a valid signature by one of the known keys, made for this
  // region and service, dated within kMaxClockSkew of the clock (presigned: not yet past
  // X-Amz-Expires). Errors, with AWS's wording:
  //   kMissingAuthentication  no Authorization header and no X-Amz-Signature query parameter;
  //   kUnrecognizedClient     the access key id is unknown;
  //   kInvalidSignature       anything else: malformed, wrong algorithm or scope, bad or stale
  //                           date, signature mismatch, body not matching x-amz-content-sha256.
  // The request's time is the X-Amz-Date header (header auth) or query parameter (presigned);
  // the Date header is not used.
  Status verify(const SignedRequest& request) const;

 private:
  std::unordered_map<std::string, std::string> secrets_;  // access key id -> secret
  std::string region_;
  std::string service_;
  const Clock& clock_;
};

// Signs `request` for header authentication the way @smithy/signature-v4 does: removes any
// Authorization, X-Amz-Date and Date headers, adds x-amz-date, adds x-amz-content-sha256 (the hex
// SHA-256 of the body) unless the request already has that header, and adds Authorization.
// Every header present is signed except those AWS SDKs never sign (user-agent, connection,
// expect, ...). REQUIRES: the request has a Host header (verifiers insist on it being signed).
void signRequest(SignedRequest& request, const Credentials& credentials, std::string_view region,
                 std::string_view service, std::chrono::system_clock::time_point now);

// Returns request.target with the presigned-URL query parameters (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature) appended.
// The request's signable headers (normally just Host) are signed and must be sent unchanged.
// Fails with kInvalidParameter unless 1s <= expires <= kMaxPresignExpiry.
Result<std::string> presignTarget(const SignedRequest& request, const Credentials& credentials,
                                  std::string_view region, std::string_view service,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::seconds expires);

// The individual steps of SigV4, shared by the verifier and the signer and exposed for tests.
namespace sigv4 {

// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);
// Raw (32-byte) HMAC-SHA256 of `data` under `key`.
std::string hmacSha256(std::string_view key, std::string_view data);
std::string toHex(std::string_view bytes);

// Percent-encodes every byte except the unreserved set A-Z a-z 0-9 - _ . ~, with upper-case hex.
// '/' is kept as is when `keep_slash`.
std::string uriEncode(std::string_view in, bool keep_slash);
// Decodes %XX escapes, and '+' to a space when `plus_as_space`. Malformed escapes are kept as is.
std::string uriDecode(std::string_view in, bool plus_as_space);

// The canonical URI for a non-S3 service, matching @smithy/signature-v4 getCanonicalPath and
// botocore: split the wire path on '/', drop empty and "." segments, let ".." drop the previous
// segment, rejoin keeping a leading '/' and (when any segment is left) a trailing '/', then
// percent-encode the result once more (so "%3A" on the wire becomes "%253A"), keeping '/'.
std::string canonicalUri(std::string_view raw_path);

// The canonical query string: each "key=value" pair (a bare "key" counts as "key=") is decoded
// ('+' meaning a space, as the HTTP layer reads it) and re-encoded with uriEncode, pairs are sorted
// by encoded key then encoded value and joined with
// '&'. Empty pairs are skipped. With `drop_signature`, X-Amz-Signature (any case) is left out.
std::string canonicalQuery(std::string_view raw_query, bool drop_signature);

// A header value with leading/trailing whitespace removed and inner runs of space, tab, CR and LF
// collapsed to one space.
std::string canonicalHeaderValue(std::string_view value);

// The canonical request for `request`, signing the headers named in `signed_headers` (the
// semicolon-separated, lower-case list exactly as it appears in the signature). A named header
// that repeats contributes its values joined with ','. Returns nullopt when a named header is
// absent from the request.
std::optional<std::string> canonicalRequest(const SignedRequest& request,
                                            std::string_view signed_headers,
                                            std::string_view payload_hash, bool drop_signature);

// "<date>/<region>/<service>/aws4_request", where date is YYYYMMDD.
std::string credentialScope(std::string_view date, std::string_view region,
                            std::string_view service);
std::string stringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
std::string signingKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);
// Lower-case hex HMAC-SHA256 of the string to sign under the signing key.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

// ISO-8601 basic format, UTC, whole seconds: 20150830T123600Z.
std::string formatAmzDate(std::chrono::system_clock::time_point t);
// Parses exactly YYYYMMDDTHHMMSSZ; nullopt for anything else, including impossible dates.
std::optional<std::chrono::sys_seconds> parseAmzDate(std::string_view text);

}  // namespace sigv4
}  // namespace hearth
