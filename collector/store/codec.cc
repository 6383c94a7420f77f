#include "store/codec.h"

#include <cstdint>

#include "firewatch/text/hex.h"

namespace firewatch::collector::codec {

namespace {

constexpr char kRecordSep = '&';
constexpr char kFieldSep = '=';
constexpr char kHex[] = "0123456789ABCDEF";

bool IsCont(uint8_t b) { return (b & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence starting at s[i] (lead byte >= 0x80), or 0
// when it is not one (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> int { return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : -1; };
  const int b0 = at(0);
  if (b0 >= 0xC2 && b0 <= 0xDF) return at(1) >= 0 && IsCont(static_cast<uint8_t>(at(1))) ? 2 : 0;
  int lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  size_t len = 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  const int b1 = at(1);
  if (b1 < lo || b1 > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    const int b = at(k);
    if (b < 0 || !IsCont(static_cast<uint8_t>(b))) return 0;
  }
  return len;
}

void AppendEscaped(std::string& out, uint8_t b) {
  out.push_back('%');
  out.push_back(kHex[b >> 4]);
  out.push_back(kHex[b & 0xF]);
}

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

// Splits an encoded list into records of exactly `fields` unescaped fields.
Result<std::vector<std::vector<std::string>>> DecodeRecords(std::string_view text, size_t fields,
                                                            std::string_view what) {
  std::vector<std::vector<std::string>> records;
  if (text.empty()) return records;
  for (std::string_view record : Split(text, kRecordSep)) {
    auto parts = Split(record, kFieldSep);
    if (parts.size() != fields) {
      return Status::Corruption(std::string(what) + " record '" + std::string(record) + "' has " +
                                std::to_string(parts.size()) + " fields, expected " +
                                std::to_string(fields));
    }
    std::vector<std::string> decoded;
    decoded.reserve(fields);
    for (std::string_view p : parts) {
      auto field = UnescapeField(p);
      if (!field.ok()) return Status::Corruption(std::string(what) + ": " + field.status().message());
      decoded.push_back(std::move(field).value());
    }
    records.push_back(std::move(decoded));
  }
  return records;
}

}  // namespace

std::string EscapeField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  AppendField(out, field);
  return out;
}

void AppendField(std::string& out, std::string_view field) {
  for (size_t i = 0; i < field.size();) {
    const auto b = static_cast<uint8_t>(field[i]);
    if (b >= 0x80) {
      const size_t len = Utf8SequenceLength(field, i);
      if (len == 0) {
        AppendEscaped(out, b);
        ++i;
      } else {
        out.append(field.substr(i, len));
        i += len;
      }
      continue;
    }
    if (b < 0x20 || b == 0x7F || b == '%' || b == kRecordSep || b == kFieldSep) {
      AppendEscaped(out, b);
    } else {
      out.push_back(static_cast<char>(b));
    }
    ++i;
  }
}

Result<std::string> UnescapeField(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] != '%') {
      out.push_back(escaped[i]);
      continue;
    }
    const int hi = i + 1 < escaped.size() ? text::HexDigitValue(escaped[i + 1]) : -1;
    const int lo = i + 2 < escaped.size() ? text::HexDigitValue(escaped[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::Corruption("bad escape at byte " + std::to_string(i) + " of '" +
                                std::string(escaped) + "'");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string EncodeLabels(const protocol::Labels& labels) {
  std::string out;
  EncodeLabelsTo(labels, out);
  return out;
}

void EncodeLabelsTo(const protocol::Labels& labels, std::string& out) {
  out.clear();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out.push_back(kRecordSep);
    AppendField(out, labels[i].first);
    out.push_back(kFieldSep);
    AppendField(out, labels[i].second);
  }
}

Result<protocol::Labels> DecodeLabels(std::string_view text) {
  auto records = DecodeRecords(text, 2, "labels");
  if (!records.ok()) return records.status();
  protocol::Labels labels;
  labels.reserve(records->size());
  for (auto& r : *records) labels.emplace_back(std::move(r[0]), std::move(r[1]));
  return labels;
}

std::string EncodeChecks(const std::vector<protocol::CheckResult>& checks) {
  std::string out;
  EncodeChecksTo(checks, out);
  return out;
}

void EncodeChecksTo(const std::vector<protocol::CheckResult>& checks, std::string& out) {
  out.clear();
  for (size_t i = 0; i < checks.size(); ++i) {
    if (i > 0) out.push_back(kRecordSep);
    AppendField(out, checks[i].name);
    out.push_back(kFieldSep);
    out += protocol::CheckStateName(checks[i].state);
    out.push_back(kFieldSep);
    AppendField(out, checks[i].output);
  }
}

Result<std::vector<protocol::CheckResult>> DecodeChecks(std::string_view text) {
  auto records = DecodeRecords(text, 3, "checks");
  if (!records.ok()) return records.status();
  std::vector<protocol::CheckResult> checks;
  checks.reserve(records->size());
  for (auto& r : *records) {
    protocol::CheckResult c;
    c.name = std::move(r[0]);
    bool known = false;
    for (int s = 0; s <= static_cast<int>(protocol::CheckState::kUnknown); ++s) {
      if (protocol::CheckStateName(static_cast<protocol::CheckState>(s)) == r[1]) {
        c.state = static_cast<protocol::CheckState>(s);
        known = true;
      }
    }
    if (!known) return Status::Corruption("checks: unknown check state '" + r[1] + "'");
    c.output = std::move(r[2]);
    checks.push_back(std::move(c));
  }
  return checks;
}

}  // namespace firewatch::collector::codec
