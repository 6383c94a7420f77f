// How the outbox stores a Notification and a channel chain. Private to the outbox.
//
// The Notification is stored whole as CBOR (nlohmann::json's encoder): strings are
// written byte for byte, so subjects with invalid UTF-8 (a Latin-1 check output) survive
// exactly, which JSON text could not promise. The channel chain is a JSON array of
// names (config names: validated non-empty; readable in the sqlite3 shell).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "firewatch/status.h"
#include "model/alert.h"

namespace firewatch::alerting::outbox::codec {

std::string EncodeNotification(const Notification& n);
// Corruption (naming `key`) when `bytes` is not a notification written by Encode.
Result<Notification> DecodeNotification(const std::string& bytes, const std::string& key);

std::string EncodeChain(const std::vector<std::string>& chain);
Result<std::vector<std::string>> DecodeChain(const std::string& text, const std::string& key);

}  // namespace firewatch::alerting::outbox::codec
