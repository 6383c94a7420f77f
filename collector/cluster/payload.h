// The peer sync payload (docs/cluster.md, "Sync"): JSON in both directions of one
// exchange, and the HMAC-SHA256 signature over it. Decoding is strict about types and
// sizes (a peer is trusted only after its signature checked out, but a bug or a newer
// version must not crash us): any problem is an InvalidArgument naming the field.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/state_delta.h"
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
// Source ids fall into this many ranges for anti-entropy (cluster/table_digest.h).
inline constexpr int kSyncRanges = 256;
// Source entries one payload carries at most when it sends ranges whole (a restarted
// peer, divergent ranges): a million sources go in about 20 exchanges, each well under
// kMaxSyncBody. A delta above it is cut in version order and goes in several payloads.
inline constexpr size_t kMaxSyncEntries = 50'000;

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

// Which half of an exchange a payload is (cluster.cc sends requests and answers them).
enum class SyncRole : uint8_t { kRequest, kResponse };

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
  // The echo: the version of the receiver's table the sender holds every change up to,
  // and the receiver's boot it belongs to (empty: none). The receiver's next payload
  // (request or response) then starts its delta there, not at what its own requests got
  // acknowledged: without it every response repeated the delta until the next request
  // came back (docs/cluster.md, "Sync"). Absent in a payload = nothing held.
  uint64_t sources_holds = 0;
  std::string sources_holds_boot;
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
  // Versioned deltas of the four pieces above (state_delta.h). speaks_deltas: the
  // payload has a "states" object (a collector from before sends whole lists only).
  // deltas[piece] present: that piece's list above holds only the items the delta
  // carries, `ids` parallel to them; absent: the list is the sender's whole set.
  // holds/holds_boot: the versions of the receiver's pieces the sender holds, and the
  // receiver's boot they belong to (empty: holds nothing).
  bool speaks_deltas = false;
  std::array<std::optional<PieceDelta>, kPieces> deltas;
  std::string holds_boot;
  std::array<uint64_t, kPieces> holds{};
  bool need_full = false;  // the sender asks the receiver for its whole table
  // Range anti-entropy (docs/cluster.md, "Sync"; cluster/table_digest.h). A payload
  // without `need_ranges` is from a collector before it (speaks_ranges false): it asks
  // with need_full and gets full tables, as before.
  bool speaks_ranges = false;
  bool need_range_digests = false;  // the sender's copy of the receiver's table diverged
  std::vector<int> need_ranges;     // ... in these ranges: send them whole (ascending)
  // The sender's range digests at sources_version (empty, or kSyncRanges of them), sent
  // when the receiver asked with need_range_digests.
  std::vector<uint64_t> range_digests;
  // Ranges whose every entry is in `sources` (ascending): the receiver replaces its copy
  // of them. `sources_more`: more ranges follow in later payloads; the receiver does not
  // judge the digests until they are in.
  std::vector<int> sources_ranges;
  bool sources_more = false;
  // Not on the wire: what ClusterView::BuildFor put in, for Delivered.
  bool forgotten_all = false;  // every tombstone kept (a full table, or a restarted peer)
  bool withheld = false;       // no table at all: the peer was not heard yet
};

// The id of a replicated item for the deltas: FNV-1a 64 over everything a peer uses of
// it (for a log entry: key, state and when it changed; its age is derived).
uint64_t SyncItemId(const alerting::PeerIncident& i);
uint64_t SyncItemId(const alerting::LogEntry& e);
uint64_t SyncItemId(const alerting::route::Silence& s);
uint64_t SyncItemId(const alerting::route::MaintenanceWindow& w);

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
