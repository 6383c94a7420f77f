// The peer sync payload (docs/cluster.md, "Sync"): JSON in both directions of one
// exchange, and the HMAC-SHA256 signature over it. Decoding is strict about types and
// sizes (a peer is trusted only after its signature checked out, but a bug or a newer
// version must not crash us): any problem is an InvalidArgument naming the field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/peer_gate.h"
#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/status.h"
#include "route/maintenance.h"
#include "route/silence.h"
#include "tracker/source.h"

namespace firewatch::collector {

inline constexpr int kSyncVersion = 1;
inline constexpr size_t kMaxSyncBody = 16u << 20;  // 16 MiB: a full table of ~500k sources
inline constexpr size_t kMaxTombstones = 4096;      // per payload and per collector

// A check a collector alerts on for one of the sources it hears (its alert state is not
// OK; tracker/check_book.h), as peers are told of it (docs/cluster.md, "Checks"). Only
// failing checks travel: a source without one costs nothing on the wire.
struct PeerCheck {
  std::string name;                                            // <= protocol::kMaxShortText
  protocol::CheckState state = protocol::CheckState::kCritical;  // never kOk
  std::string output;                                          // <= protocol::kMaxCheckOutput
  bool operator==(const PeerCheck&) const = default;
};
using PeerChecks = std::vector<PeerCheck>;  // sorted by name, at most kMaxPeerChecks
inline constexpr size_t kMaxPeerChecks = 128;  // per source, as the check book keeps

struct SyncPayload {
  std::string from;  // member id of the sender
  std::string boot;  // random per process start: a new one means "I lost your table"
  uint64_t seq = 0;
  std::string config_digest;
  std::map<std::string, std::string> peers;  // its view: member id -> up/down/unknown
  bool sources_full = false;
  uint64_t sources_version = 0;
  std::vector<std::pair<std::string, SourceState>> sources;
  uint64_t sources_digest = 0;  // of the sender's whole table at `sources_version`
  // Tombstones: sources the sender forgot (operator or forget_after), with how long ago
  // (relative, so wall clocks need not agree). Deltas carry the new ones, full tables
  // all it keeps (at most kMaxTombstones). Absent in a payload = none.
  std::vector<std::pair<std::string, int64_t>> forgotten;  // (source id, age_ms)
  // The failing checks of the sources in `sources` (a source in `sources` and not here
  // has none), and the digest of the sender's whole check table at `sources_version`.
  // has_checks is false for a payload from a collector before check replication: then
  // `checks` is empty and means nothing.
  bool has_checks = false;
  std::vector<std::pair<std::string, PeerChecks>> checks;
  uint64_t checks_digest = 0;
  std::vector<alerting::PeerIncident> incidents;
  std::vector<alerting::LogEntry> log;
  std::vector<alerting::route::Silence> silences;
  // Entries of "silences" that failed validation (route::SilenceFromJson: limits, broad
  // without force, bad regex, ...). Each is dropped alone, never the whole payload: one
  // bad silence must not cut peer sync. The receiver counts them.
  size_t silences_refused = 0;
  std::string silence_error;  // the first refusal's message, for the log
  // Maintenance windows (route/maintenance.h), the same way: refused entries are counted,
  // never the payload. Absent in a payload (a peer from before windows) = none.
  std::vector<alerting::route::MaintenanceWindow> maintenance;
  size_t maintenance_refused = 0;
  std::string maintenance_error;
  bool need_full = false;  // the sender asks the receiver for its whole table
};

std::string EncodeSyncPayload(const SyncPayload& p);
Result<SyncPayload> DecodeSyncPayload(std::string_view json);

// Header names and the signature (docs/cluster.md, "Sync"):
//   request:  hex(HMAC(key, "firewatch-sync-v2\nrequest\n" + peer + "\n" + timestamp_ms
//                           + "\n" + body))
//   response: hex(HMAC(key, "firewatch-sync-v2\nresponse\n" + peer + "\n" + timestamp_ms
//                           + "\n" + the request's signature + "\n" + body))
// `answers` is the signature of the request a response answers (empty: a request). A
// response therefore verifies only as the answer to the one request it was made for,
// and a request can never pass for a response or the other way round.
inline constexpr const char* kPeerHeader = "X-Firewatch-Peer";
inline constexpr const char* kTimestampHeader = "X-Firewatch-Timestamp";
inline constexpr const char* kSignatureHeader = "X-Firewatch-Signature";
std::string SyncSignature(const crypto::HmacKey& key, std::string_view peer, int64_t timestamp_ms,
                          std::string_view body, std::string_view answers = {});
// Constant time in the signature's contents.
bool VerifySyncSignature(const crypto::HmacKey& key, std::string_view peer, int64_t timestamp_ms,
                         std::string_view body, std::string_view signature_hex,
                         std::string_view answers = {});

}  // namespace firewatch::collector
