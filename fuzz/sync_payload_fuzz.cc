// libFuzzer target: the cluster sync payload (collector/cluster/payload.h), the JSON a
// peer sends in both directions of an exchange. The decoder runs only after the
// signature checked out, but a bug or a newer version on a peer must not crash, hang or
// balloon a collector: any input is a SyncPayload or an InvalidArgument.
//
// Checks beyond "no crash, no hang": a payload that decodes re-encodes to JSON that
// decodes again to the same payload (fields, sources, tombstones, incidents, log,
// silences; refused silences are dropped, not re-sent); and the signature helpers are
// total on the same bytes (a request and its response never verify for each other).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/payload.h"
#include "firewatch/crypto/hmac_sha256.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace firewatch::collector;
  if (size > 1u << 20) return 0;  // the real limit is 16 MiB; 1 MiB keeps runs fast
  std::string_view text(reinterpret_cast<const char*>(data), size);

  static const firewatch::crypto::HmacKey key = [] {
    std::vector<uint8_t> k(32, 0x5a);
    return firewatch::crypto::HmacKey(k);
  }();
  const std::string req = SyncSignature(key, "fuzz", 1700000000000, text);
  Check(VerifySyncSignature(key, "fuzz", 1700000000000, text, req));
  Check(!VerifySyncSignature(key, "fuzz", 1700000000000, text, req, req));
  Check(!VerifySyncSignature(key, "fuzz", 1700000000000, text, text));

  auto decoded = DecodeSyncPayload(text);
  if (!decoded.ok()) {
    Check(!decoded.status().message().empty());
    return 0;
  }
  const SyncPayload& a = *decoded;
  auto again = DecodeSyncPayload(EncodeSyncPayload(a));
  Check(again.ok());
  const SyncPayload& b = *again;
  Check(a.from == b.from && a.boot == b.boot && a.seq == b.seq &&
        a.config_digest == b.config_digest && a.peers == b.peers &&
        a.sources_full == b.sources_full && a.sources_version == b.sources_version &&
        a.sources_digest == b.sources_digest && a.need_full == b.need_full);
  Check(a.need_ranges == b.need_ranges && a.need_range_digests == b.need_range_digests &&
        a.sources_ranges == b.sources_ranges && a.range_digests == b.range_digests &&
        a.sources_more == b.sources_more && b.speaks_ranges);
  Check(b.silences_refused == 0 && b.silences.size() == a.silences.size());
  Check(b.incidents.size() == a.incidents.size() && b.log.size() == a.log.size());
  Check(b.sources.size() == a.sources.size() && b.forgotten.size() == a.forgotten.size());
  // Versioned deltas of incidents/log/silences/windows (cluster/state_delta.h): the
  // echo and every delta header survive; refused items' ids are not re-sent.
  Check(a.speaks_deltas == b.speaks_deltas && a.holds == b.holds && a.holds_boot == b.holds_boot);
  for (int i = 0; i < kPieces; ++i) {
    Check(a.deltas[i].has_value() == b.deltas[i].has_value());
    if (!a.deltas[i]) continue;
    const PieceDelta& x = *a.deltas[i];
    const PieceDelta& y = *b.deltas[i];
    Check(x.version == y.version && x.base == y.base && x.digest == y.digest && x.ids == y.ids &&
          x.removed == y.removed && y.refused.empty());
  }
  for (size_t i = 0; i < a.incidents.size(); ++i) {
    Check(a.incidents[i].id == b.incidents[i].id && a.incidents[i].state == b.incidents[i].state &&
          a.incidents[i].acked_by == b.incidents[i].acked_by);
  }
  return 0;
}
