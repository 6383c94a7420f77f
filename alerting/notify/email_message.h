// Renders an RFC 5322 / MIME e-mail message for the SMTP notifier.
//
// The result is the exact octets handed to the SMTP DATA phase: CRLF line endings
// everywhere, no line longer than 998 octets, headers Date, Message-ID, From, To,
// Subject, MIME-Version, Content-Type (text/plain; charset=utf-8) and
// Content-Transfer-Encoding. Non-ASCII header text becomes RFC 2047 encoded-words.
// SMTP dot-stuffing is NOT applied here: libcurl does it while uploading.
#pragma once

#include <string>
#include <string_view>

#include "firewatch/clock.h"

namespace firewatch::alerting::notify {

enum class TransferEncoding {
  kQuotedPrintable,  // always safe: 7-bit lines of at most 76 characters
  k8Bit,             // raw UTF-8; falls back to quoted-printable when a line is too long
};

struct EmailParts {
  std::string from_address;  // addr-spec, "firewatch@example.com"
  std::string from_name;     // display name, may be empty or non-ASCII
  std::string to_address;    // addr-spec
  std::string subject;       // one line (CR/LF are replaced by spaces)
  std::string body;          // UTF-8 text, any line endings
  TransferEncoding encoding = TransferEncoding::kQuotedPrintable;
};

// True for a plausible addr-spec "local@domain": one '@', non-empty parts, printable
// ASCII without spaces, angle brackets, quotes, commas or semicolons. (Deliberately
// narrower than RFC 5321: it only has to keep header and SMTP-command injection out.)
bool IsValidMailAddress(std::string_view addr);

// The domain part of an addr-spec ("example.com"), "localhost" when there is none.
std::string MailDomain(std::string_view addr);

// "Tue, 07 May 2024 12:00:00 +0000": RFC 5322 section 3.3, always in UTC.
std::string FormatRfc5322Date(WallTime t);

// Header text as is when it is printable ASCII, otherwise as one or more RFC 2047
// "=?UTF-8?B?...?=" encoded-words of at most 75 characters, separated by CRLF SP
// (folding). Never splits a UTF-8 sequence across words.
std::string EncodeHeaderText(std::string_view text);

// Quoted-printable (RFC 2045 section 6.7) of text whose lines end in CRLF; output lines
// end in CRLF and are at most 76 characters (soft line breaks "=" CRLF).
std::string QuotedPrintable(std::string_view crlf_text);

// Any of CRLF, CR, LF become CRLF; the result ends with CRLF.
std::string NormalizeCrlf(std::string_view text);

// The left part of the Message-ID of the notification whose idempotency key is `key`:
// the first 32 hex digits (128 bits, lowercase) of SHA-256(key). One key, one
// Message-ID: a page sent again after a crash (docs/outbox.md, "Crash semantics"), or by
// a peer collector, carries the Message-ID of the first copy, so mail clients and
// servers that deduplicate by Message-ID recognise the repeat. `key` must not be empty.
std::string MessageIdLocalPart(std::string_view key);

// The whole message. `message_id_local` is the left part of the Message-ID (the right
// part is the From domain): Message-ID: <message_id_local@domain>. SmtpNotifier passes
// MessageIdLocalPart(idempotency key), or 32 random hex digits for a notification
// without a key.
std::string BuildEmail(const EmailParts& parts, WallTime date, std::string_view message_id_local);

}  // namespace firewatch::alerting::notify
