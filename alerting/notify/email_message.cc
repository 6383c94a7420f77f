#include "notify/email_message.h"

#include <ctime>
#include <span>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/base64.h"
#include "firewatch/text/hex.h"
#include "notify/text_util.h"

namespace firewatch::alerting::notify {

namespace {

bool IsPrintableAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// Longest line (without its CRLF) of CRLF-terminated text.
size_t LongestLine(std::string_view crlf_text) {
  size_t longest = 0;
  size_t start = 0;
  while (start < crlf_text.size()) {
    size_t end = crlf_text.find("\r\n", start);
    if (end == std::string_view::npos) end = crlf_text.size();
    longest = std::max(longest, end - start);
    start = end + 2;
  }
  return longest;
}

}  // namespace

bool IsValidMailAddress(std::string_view addr) {
  size_t at = addr.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= addr.size()) return false;
  if (addr.find('@', at + 1) != std::string_view::npos) return false;
  if (addr.size() > 254) return false;
  for (unsigned char c : addr) {
    if (c <= 0x20 || c >= 0x7F) return false;
    if (c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == '(' || c == ')' ||
        c == '\\' || c == '[' || c == ']' || c == ':') {
      return false;
    }
  }
  return true;
}

std::string MailDomain(std::string_view addr) {
  size_t at = addr.rfind('@');
  if (at == std::string_view::npos || at + 1 >= addr.size()) return "localhost";
  return std::string(addr.substr(at + 1));
}

std::string FormatRfc5322Date(WallTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string EncodeHeaderText(std::string_view text) {
  std::string clean = OneLine(text);
  if (IsPrintableAscii(clean)) return clean;
  // "=?UTF-8?B?" + base64 + "?=" must fit 75 characters: 12 of overhead leaves 63
  // characters of Base64, so at most 45 input bytes (60 Base64 characters) per word.
  constexpr size_t kMaxBytesPerWord = 45;
  std::string out;
  std::string_view rest = clean;
  while (!rest.empty()) {
    std::string chunk = Utf8Prefix(rest, kMaxBytesPerWord);
    if (chunk.empty()) chunk = std::string(rest.substr(0, 1));  // invalid UTF-8: move on
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + text::Base64Std(chunk) + "?=";
    rest.remove_prefix(chunk.size());
  }
  return out;
}

std::string NormalizeCrlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

std::string QuotedPrintable(std::string_view crlf_text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t start = 0;
  while (start < crlf_text.size()) {
    size_t end = crlf_text.find("\r\n", start);
    if (end == std::string_view::npos) end = crlf_text.size();
    std::string_view line = crlf_text.substr(start, end - start);
    std::string encoded_line;
    size_t col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      bool last = i + 1 == line.size();
      std::string piece;
      // Trailing white space must be encoded (RFC 2045 rule 3), as must '=' and 8-bit.
      if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last)) {
        piece = std::string(1, static_cast<char>(c));
      } else {
        piece = {'=', kHex[c >> 4], kHex[c & 15]};
      }
      // Keep room for a soft break "=": at most 75 characters plus "=".
      if (col + piece.size() > 75) {
        encoded_line += "=\r\n";
        col = 0;
      }
      encoded_line += piece;
      col += piece.size();
    }
    out += encoded_line;
    out += "\r\n";
    start = end + 2;
  }
  return out;
}

std::string MessageIdLocalPart(std::string_view key) {
  const crypto::Sha256Digest digest = crypto::Sha256::Hash(
      std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  return text::ToHex(std::span(digest).first(16));
}

std::string BuildEmail(const EmailParts& parts, WallTime date, std::string_view message_id_local) {
  std::string body = NormalizeCrlf(parts.body);
  bool use_qp = parts.encoding == TransferEncoding::kQuotedPrintable || LongestLine(body) > 998;
  std::string from = parts.from_name.empty()
                         ? parts.from_address
                         : EncodeHeaderText(parts.from_name) + " <" + parts.from_address + ">";
  std::string m;
  m += "Date: " + FormatRfc5322Date(date) + "\r\n";
  m += "Message-ID: <" + std::string(message_id_local) + "@" + MailDomain(parts.from_address) +
       ">\r\n";
  m += "From: " + from + "\r\n";
  m += "To: " + parts.to_address + "\r\n";
  m += "Subject: " + EncodeHeaderText(parts.subject) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += std::string("Content-Transfer-Encoding: ") + (use_qp ? "quoted-printable" : "8bit") +
       "\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "\r\n";
  m += use_qp ? QuotedPrintable(body) : body;
  return m;
}

}  // namespace firewatch::alerting::notify
