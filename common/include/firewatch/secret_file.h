// Reading a file that holds a secret or decides who is trusted: heartbeat and cluster
// keys, the ack link key, operator token hashes, channel credentials (Twilio auth token,
// PagerDuty routing key, webhook/SMS bearer tokens), firewatchctl's --token-file. Every
// such file is read through ReadSecretFile, so the rules are the same everywhere
// (docs/security.md, "Secret files"):
//  - a regular file (or a symlink to one): a directory, FIFO or device is refused, so
//    pointing a key at /dev/zero or a pipe can neither hang nor exhaust memory;
//  - at most `max_bytes` (kMaxSecretFileBytes unless the caller says): the file is read
//    up to one byte past the limit, never further, and a larger one is refused;
//  - not writable by group or others: whoever could write it could swap the key or add
//    a token hash. Refused;
//  - readable by others (the "other" permission bits): accepted with a warning naming
//    the file and the fix (chmod o-r). Group read is accepted silently: a key owned by
//    root and readable by the service's own group (0640) is the recommended layout.
// Every error names the file and what it was read as (`what`, e.g. "cluster key").
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "firewatch/status.h"

namespace firewatch {

inline constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// The whole content (not trimmed), or an error naming `what` and `path`. Warnings (an
// "other"-readable file) go to the sink below.
Result<std::string> ReadSecretFile(const std::string& path, const std::string& what,
                                   size_t max_bytes = kMaxSecretFileBytes);

// Where warnings about readable secret files go. Default: one line on stderr. The
// collector routes them to its log; tests capture them. Not thread-safe to change while
// files are being read: set it at start.
using SecretFileWarningSink = std::function<void(const std::string& message)>;
void SetSecretFileWarningSink(SecretFileWarningSink sink);

}  // namespace firewatch
