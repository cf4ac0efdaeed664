#include "artifact/encoding.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstdlib>

namespace hearth {
namespace {

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps a byte to its 6-bit value, or -1 when it is not in the alphabet.
constexpr std::array<int8_t, 256> makeDecodeTable() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) {
    v = -1;
  }
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i) {
    table[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kDecodeTable = makeDecodeTable();

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8) |
                 static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 2]));
    out += kBase64Alphabet[(n >> 18) & 0x3f];
    out += kBase64Alphabet[(n >> 12) & 0x3f];
    out += kBase64Alphabet[(n >> 6) & 0x3f];
    out += kBase64Alphabet[n & 0x3f];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16;
    out += kBase64Alphabet[(n >> 18) & 0x3f];
    out += kBase64Alphabet[(n >> 12) & 0x3f];
    out += "==";
  } else if (rest == 2) {
    uint32_t n = (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])) << 16) |
                 (static_cast<uint32_t>(static_cast<uint8_t>(bytes[i + 1])) << 8);
    out += kBase64Alphabet[(n >> 18) & 0x3f];
    out += kBase64Alphabet[(n >> 12) & 0x3f];
    out += kBase64Alphabet[(n >> 6) & 0x3f];
    out += '=';
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return invalidParameter("Invalid base64: length is not a multiple of 4.");
  }
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3);
  const size_t data_chars = text.size() - padding;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    for (size_t j = 0; j < 4; ++j) {
      const size_t pos = i + j;
      int8_t v = 0;
      if (pos < data_chars) {
        v = kDecodeTable[static_cast<uint8_t>(text[pos])];
        if (v < 0) {
          return invalidParameter("Invalid base64: unexpected character.");
        }
      }
      n = (n << 6) | static_cast<uint32_t>(v);
    }
    const bool last = i + 4 == text.size();
    const size_t out_bytes = last ? 3 - padding : 3;
    if (last && padding == 1 && (n & 0xff) != 0) {
      return invalidParameter("Invalid base64: non-zero trailing bits.");
    }
    if (last && padding == 2 && (n & 0xffff) != 0) {
      return invalidParameter("Invalid base64: non-zero trailing bits.");
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (out_bytes >= 2) {
      out += static_cast<char>((n >> 8) & 0xff);
    }
    if (out_bytes >= 3) {
      out += static_cast<char>(n & 0xff);
    }
  }
  return out;
}

std::string sha256Raw(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    // Only a broken libcrypto installation gets here; there is no meaningful digest to return.
    std::abort();
  }
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string hexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

}  // namespace hearth
