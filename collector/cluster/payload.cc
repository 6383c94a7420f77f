#include "cluster/payload.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cluster/table_digest.h"
#include "firewatch/protocol/keyring.h"
#include "firewatch/text/hex.h"

namespace firewatch::collector {

using nlohmann::json;

namespace {

const char* StateCode(SourceState s) {
  switch (s) {
    case SourceState::kUp: return "up";
    case SourceState::kLate: return "late";
    case SourceState::kDown: return "down";
    case SourceState::kStopped: return "stopped";
  }
  return "up";
}

std::optional<SourceState> ParseStateCode(const std::string& s) {
  if (s == "up") return SourceState::kUp;
  if (s == "late") return SourceState::kLate;
  if (s == "down") return SourceState::kDown;
  if (s == "stopped") return SourceState::kStopped;
  return std::nullopt;
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::optional<alerting::IncidentState> ParseIncidentState(const std::string& s) {
  for (auto st : {alerting::IncidentState::kOpen, alerting::IncidentState::kAcked,
                  alerting::IncidentState::kResolved}) {
    if (alerting::IncidentStateName(st) == s) return st;
  }
  return std::nullopt;
}

// Typed access that names the field in the error.
struct Fields {
  const json& j;
  std::string where;
  const json& At(const char* key) const {
    if (!j.is_object() || !j.contains(key)) throw std::invalid_argument(where + key + ": missing");
    return j.at(key);
  }
  std::string Str(const char* key, size_t max = 4096) const {
    const json& v = At(key);
    if (!v.is_string()) throw std::invalid_argument(where + key + ": expected a string");
    auto s = v.get<std::string>();
    if (s.size() > max) throw std::invalid_argument(where + key + ": too long");
    return s;
  }
  int64_t Int(const char* key) const {
    const json& v = At(key);
    if (!v.is_number_integer()) throw std::invalid_argument(where + key + ": expected an integer");
    return v.get<int64_t>();
  }
  bool Bool(const char* key) const {
    const json& v = At(key);
    if (!v.is_boolean()) throw std::invalid_argument(where + key + ": expected true or false");
    return v.get<bool>();
  }
  const json& Array(const char* key) const {
    const json& v = At(key);
    if (!v.is_array()) throw std::invalid_argument(where + key + ": expected a list");
    return v;
  }
  const json& Object(const char* key) const {
    const json& v = At(key);
    if (!v.is_object()) throw std::invalid_argument(where + key + ": expected an object");
    return v;
  }
  uint64_t Hex(const char* key) const {
    const std::string text = Str(key, 16);
    size_t used = 0;
    uint64_t v = 0;
    try {
      v = std::stoull(text, &used, 16);
    } catch (const std::exception&) {
      used = std::string::npos;
    }
    if (text.empty() || used != text.size() || text[0] == '-' || text[0] == '+') {
      throw std::invalid_argument(where + key + ": expected hex");
    }
    return v;
  }
};

// A list of range numbers: ascending, no repeats, each in [0, kSyncRanges).
std::vector<int> DecodeRanges(const json& list, const std::string& where) {
  if (list.size() > static_cast<size_t>(kSyncRanges)) {
    throw std::invalid_argument(where + ": more than " + std::to_string(kSyncRanges) + " ranges");
  }
  std::vector<int> out;
  out.reserve(list.size());
  for (const auto& v : list) {
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= kSyncRanges ||
        (!out.empty() && v.get<int64_t>() <= out.back())) {
      throw std::invalid_argument(where + ": expected ascending range numbers 0.." +
                                  std::to_string(kSyncRanges - 1));
    }
    out.push_back(static_cast<int>(v.get<int64_t>()));
  }
  return out;
}

// sources.checks: {source id: [[name, state, output], ...]} for sources among the
// payload's entries only, each list sorted by name without repeats, never "OK".
void DecodePeerChecks(const json& in, const json& entries,
                      std::vector<std::pair<std::string, PeerChecks>>& out) {
  out.reserve(in.size());
  for (const auto& [id, list] : in.items()) {
    const std::string where = "sources.checks." + id;
    if (!entries.contains(id)) throw std::invalid_argument(where + ": not among the entries");
    if (!list.is_array() || list.empty() || list.size() > kMaxPeerChecks) {
      throw std::invalid_argument(where + ": expected 1 to " + std::to_string(kMaxPeerChecks) +
                                  " checks");
    }
    PeerChecks checks;
    checks.reserve(list.size());
    for (const auto& c : list) {
      if (!c.is_array() || c.size() != 3 || !c[0].is_string() || !c[1].is_string() ||
          !c[2].is_string()) {
        throw std::invalid_argument(where + ": expected [name, state, output]");
      }
      PeerCheck pc;
      pc.name = c[0].get<std::string>();
      pc.output = c[2].get<std::string>();
      std::optional<protocol::CheckState> st;
      for (auto s : {protocol::CheckState::kWarning, protocol::CheckState::kCritical,
                     protocol::CheckState::kUnknown}) {
        if (protocol::CheckStateName(s) == c[1].get<std::string>()) st = s;
      }
      if (!st) throw std::invalid_argument(where + ": state must be WARNING, CRITICAL or UNKNOWN");
      if (pc.name.empty() || pc.name.size() > protocol::kMaxShortText ||
          pc.output.size() > protocol::kMaxCheckOutput) {
        throw std::invalid_argument(where + ": check name or output too long");
      }
      if (!checks.empty() && !(checks.back().name < pc.name)) {
        throw std::invalid_argument(where + ": checks not sorted by name or repeated");
      }
      pc.state = *st;
      checks.push_back(std::move(pc));
    }
    out.emplace_back(id, std::move(checks));
  }
}

// 64-bit values as one string of 16 lowercase hex digits each (range digests, item ids).
std::string HexList(const std::vector<uint64_t>& values) {
  std::string all;
  all.reserve(values.size() * 16);
  for (uint64_t v : values) all += Hex64(v);
  return all;
}

std::vector<uint64_t> DecodeHexList(const std::string& all, const std::string& where) {
  if (all.size() % 16 != 0) throw std::invalid_argument(where + ": expected 16 hex digits each");
  std::vector<uint64_t> out(all.size() / 16, 0);
  for (size_t i = 0; i < all.size(); ++i) {
    const char c = all[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) throw std::invalid_argument(where + ": expected lowercase hex");
    out[i / 16] = (out[i / 16] << 4) | static_cast<uint64_t>(v);
  }
  return out;
}

json IncidentJson(const alerting::PeerIncident& i) {
  json j = {{"id", i.id},
            {"group_key", i.group_key},
            {"origin", i.origin},
            {"state", std::string(alerting::IncidentStateName(i.state))},
            {"started_ms", i.started_ms},
            {"acked_ms", i.acked_ms},
            {"acked_by", i.acked_by}};
  if (!i.resolved_by.empty()) {  // resolved by hand; absent otherwise (older peers too)
    j["resolved_ms"] = i.resolved_ms;
    j["resolved_by"] = i.resolved_by;
    j["resolve_comment"] = i.resolve_comment;
  }
  return j;
}

// "states": the echo and each piece's delta header (the items are in the lists).
json StatesJson(const SyncPayload& p) {
  json st = {{"holds_boot", p.holds_boot}, {"holds", p.holds}};
  for (int i = 0; i < kPieces; ++i) {
    if (!p.deltas[i]) continue;
    const PieceDelta& d = *p.deltas[i];
    st[kPieceNames[i]] = {{"version", d.version},
                          {"base", d.base},
                          {"digest", Hex64(d.digest)},
                          {"ids", HexList(d.ids)},
                          {"removed", HexList(d.removed)}};
  }
  return st;
}

// Decodes "states"; `raw_ids[piece]` gets the ids parallel to that piece's list as
// sent (before the decoder refuses any entry of it).
void DecodeStates(const json& j, SyncPayload& p,
                  std::array<std::vector<uint64_t>, kPieces>& raw_ids) {
  Fields st{j, "states."};
  p.speaks_deltas = true;
  p.holds_boot = st.Str("holds_boot", 256);
  const json& holds = st.Array("holds");
  if (holds.size() != kPieces) {
    throw std::invalid_argument("states.holds: expected " + std::to_string(kPieces) + " versions");
  }
  for (int i = 0; i < kPieces; ++i) {
    if (!holds[i].is_number_unsigned()) throw std::invalid_argument("states.holds: bad version");
    p.holds[i] = holds[i].get<uint64_t>();
  }
  for (int i = 0; i < kPieces; ++i) {
    if (!j.contains(kPieceNames[i])) continue;
    const std::string where = std::string("states.") + kPieceNames[i];
    Fields f{st.Object(kPieceNames[i]), where + "."};
    PieceDelta d;
    d.version = static_cast<uint64_t>(f.Int("version"));
    d.base = static_cast<uint64_t>(f.Int("base"));
    d.digest = f.Hex("digest");
    raw_ids[i] = DecodeHexList(f.Str("ids", kMaxHeldItems * 16), where + ".ids");
    d.removed = DecodeHexList(f.Str("removed", kMaxHeldItems * 16), where + ".removed");
    p.deltas[i] = std::move(d);
  }
}

// Checks that a piece sent as a delta has one id per entry of its list.
void CheckIds(const std::array<std::vector<uint64_t>, kPieces>& raw_ids, const SyncPayload& p,
              Piece piece, size_t entries) {
  const int i = static_cast<int>(piece);
  if (p.deltas[i] && raw_ids[i].size() != entries) {
    throw std::invalid_argument(std::string("states.") + kPieceNames[i] +
                                ".ids: " + std::to_string(raw_ids[i].size()) + " ids for " +
                                std::to_string(entries) + " entries");
  }
}

// Files the id of entry `index` of a piece sent as a delta: carried, or refused.
void FileId(const std::array<std::vector<uint64_t>, kPieces>& raw_ids, SyncPayload& p, Piece piece,
            size_t index, bool accepted) {
  auto& d = p.deltas[static_cast<int>(piece)];
  if (!d) return;
  (accepted ? d->ids : d->refused).push_back(raw_ids[static_cast<int>(piece)][index]);
}

}  // namespace

uint64_t SyncItemId(const alerting::PeerIncident& i) {
  return SyncHash(IncidentJson(i).dump());
}

uint64_t SyncItemId(const alerting::LogEntry& e) {
  uint64_t h = SyncHash(e.key);
  h = SyncHash(e.state == alerting::LogEntry::State::kDelivered ? "\xff"
                                                                  "d"
                                                                : "\xff"
                                                                  "c",
               h);
  return SyncHash("\xff" + std::to_string(e.updated_ms), h);
}

uint64_t SyncItemId(const alerting::route::Silence& s) {
  return SyncHash(alerting::route::SilenceToJson(s));
}

uint64_t SyncItemId(const alerting::route::MaintenanceWindow& w) {
  return SyncHash(alerting::route::WindowToJson(w));
}

std::string EncodeSyncPayload(const SyncPayload& p) {
  json sources = json::object();
  for (const auto& [id, st] : p.sources) sources[id] = StateCode(st);
  json forgotten = json::object();
  for (const auto& [id, age_ms] : p.forgotten) forgotten[id] = age_ms;
  json checks = json::object();
  for (const auto& [id, list] : p.checks) {
    json l = json::array();
    for (const auto& c : list) {
      l.push_back({c.name, std::string(protocol::CheckStateName(c.state)), c.output});
    }
    checks[id] = std::move(l);
  }
  json incidents = json::array();
  for (const auto& i : p.incidents) incidents.push_back(IncidentJson(i));
  json log = json::array();
  for (const auto& e : p.log) {
    log.push_back({{"key", e.key},
                   {"state", e.state == alerting::LogEntry::State::kDelivered ? "delivered"
                                                                               : "claimed"},
                   {"age_ms", e.age_ms}});
  }
  json silences = json::array();
  for (const auto& s : p.silences) silences.push_back(json::parse(alerting::route::SilenceToJson(s)));
  json maintenance = json::array();
  for (const auto& w : p.maintenance) {
    maintenance.push_back(json::parse(alerting::route::WindowToJson(w)));
  }
  json j = {{"v", kSyncVersion},
            {"from", p.from},
            {"boot", p.boot},
            {"seq", p.seq},
            {"config_digest", p.config_digest},
            {"peers", p.peers},
            {"sources",
             {{"full", p.sources_full},
              {"version", p.sources_version},
              {"digest", Hex64(p.sources_digest)},
              {"entries", std::move(sources)},  // moved: 50,000 entries are not copied
              {"forgotten", std::move(forgotten)},
              {"checks", std::move(checks)},
              {"checks_digest", Hex64(p.checks_digest)}}},
            {"incidents", std::move(incidents)},
            {"log", std::move(log)},
            {"silences", std::move(silences)},
            {"maintenance", std::move(maintenance)},
            {"need_full", p.need_full},
            {"need_ranges", p.need_ranges},
            {"need_range_digests", p.need_range_digests}};
  json& src = j["sources"];
  if (!p.range_digests.empty()) src["range_digests"] = HexList(p.range_digests);
  if (!p.sources_ranges.empty()) src["ranges"] = p.sources_ranges;
  if (p.sources_more) src["more"] = true;
  if (!p.sources_holds_boot.empty()) {
    src["holds"] = p.sources_holds;
    src["holds_boot"] = p.sources_holds_boot;
  }
  if (p.speaks_deltas) j["states"] = StatesJson(p);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<SyncPayload> DecodeSyncPayload(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("sync payload: not a JSON object");
  }
  SyncPayload p;
  try {
    Fields f{j, ""};
    if (f.Int("v") != kSyncVersion) {
      return Status::InvalidArgument("sync payload: version " + std::to_string(f.Int("v")) +
                                     " (this collector speaks " + std::to_string(kSyncVersion) + ")");
    }
    p.from = f.Str("from", 256);
    p.boot = f.Str("boot", 256);
    p.seq = static_cast<uint64_t>(f.Int("seq"));
    p.config_digest = f.Str("config_digest", 128);
    for (const auto& [k, v] : f.Object("peers").items()) {
      if (!v.is_string()) throw std::invalid_argument("peers." + k + ": expected a string");
      p.peers[k] = v.get<std::string>();
    }
    Fields src{f.Object("sources"), "sources."};
    p.sources_full = src.Bool("full");
    p.sources_version = static_cast<uint64_t>(src.Int("version"));
    p.sources_digest = src.Hex("digest");
    const json& entries = src.Object("entries");
    p.sources.reserve(entries.size());
    for (const auto& [id, v] : entries.items()) {
      auto st = v.is_string() ? ParseStateCode(v.get<std::string>()) : std::nullopt;
      if (!st || id.empty() || id.size() > protocol::kMaxIdLength) {
        throw std::invalid_argument("sources.entries." + id + ": bad entry");
      }
      p.sources.emplace_back(id, *st);
    }
    // Optional (collectors before tombstones do not send it; they ignore it).
    if (src.j.contains("forgotten")) {
      const json& forgotten = src.Object("forgotten");
      if (forgotten.size() > kMaxTombstones) {
        throw std::invalid_argument("sources.forgotten: more than " +
                                    std::to_string(kMaxTombstones) + " entries");
      }
      for (const auto& [id, v] : forgotten.items()) {
        if (!v.is_number_integer() || id.empty() || id.size() > protocol::kMaxIdLength) {
          throw std::invalid_argument("sources.forgotten." + id + ": bad entry");
        }
        // Relative age, clamped to [0, 100 years] so later arithmetic cannot overflow.
        constexpr int64_t kMaxAgeMs = 100LL * 365 * 24 * 3600 * 1000;
        p.forgotten.emplace_back(id, std::clamp<int64_t>(v.get<int64_t>(), 0, kMaxAgeMs));
      }
    }
    // Optional (collectors before check replication neither send nor read it).
    if (src.j.contains("checks")) {
      p.has_checks = true;
      p.checks_digest = src.Hex("checks_digest");
      DecodePeerChecks(src.Object("checks"), entries, p.checks);
    }
    // Optional (collectors before deltas send whole lists only).
    std::array<std::vector<uint64_t>, kPieces> raw_ids;
    if (j.contains("states")) DecodeStates(f.Object("states"), p, raw_ids);
    CheckIds(raw_ids, p, Piece::kIncidents, f.Array("incidents").size());
    CheckIds(raw_ids, p, Piece::kLog, f.Array("log").size());
    CheckIds(raw_ids, p, Piece::kSilences, f.Array("silences").size());
    CheckIds(raw_ids, p, Piece::kMaintenance,
             j.contains("maintenance") ? f.Array("maintenance").size() : 0);
    for (const auto& e : f.Array("incidents")) {
      Fields i{e, "incidents[]."};
      alerting::PeerIncident inc;
      inc.id = i.Str("id", 64);
      inc.group_key = i.Str("group_key");
      inc.origin = i.Str("origin", 256);
      auto st = ParseIncidentState(i.Str("state", 16));
      if (!st) throw std::invalid_argument("incidents[].state: expected open, acked or resolved");
      inc.state = *st;
      inc.started_ms = i.Int("started_ms");
      inc.acked_ms = i.Int("acked_ms");
      inc.acked_by = i.Str("acked_by", 256);
      if (e.contains("resolved_by")) {  // optional: only incidents resolved by hand
        inc.resolved_ms = i.Int("resolved_ms");
        inc.resolved_by = i.Str("resolved_by", 256);
        inc.resolve_comment = i.Str("resolve_comment", alerting::kMaxResolveCommentBytes);
      }
      FileId(raw_ids, p, Piece::kIncidents, p.incidents.size(), true);
      p.incidents.push_back(std::move(inc));
    }
    for (const auto& e : f.Array("log")) {
      Fields l{e, "log[]."};
      alerting::LogEntry le;
      le.key = l.Str("key", 1024);
      const std::string st = l.Str("state", 16);
      if (st != "claimed" && st != "delivered") {
        throw std::invalid_argument("log[].state: expected claimed or delivered");
      }
      le.state = st == "delivered" ? alerting::LogEntry::State::kDelivered
                                   : alerting::LogEntry::State::kClaimed;
      le.age_ms = l.Int("age_ms");
      FileId(raw_ids, p, Piece::kLog, p.log.size(), true);
      p.log.push_back(std::move(le));
    }
    size_t index = 0;
    for (const auto& e : f.Array("silences")) {
      // From the value: dumping it first would recurse on whatever a peer nested in it.
      auto s = alerting::route::SilenceFromJsonValue(e);
      FileId(raw_ids, p, Piece::kSilences, index++, s.ok());
      if (!s.ok()) {
        if (p.silences_refused++ == 0) p.silence_error = s.status().message();
        continue;
      }
      p.silences.push_back(std::move(s).value());
    }
    if (j.contains("maintenance")) {
      index = 0;
      for (const auto& e : f.Array("maintenance")) {
        auto w = alerting::route::WindowFromJsonValue(e);
        FileId(raw_ids, p, Piece::kMaintenance, index++, w.ok());
        if (!w.ok()) {
          if (p.maintenance_refused++ == 0) p.maintenance_error = w.status().message();
          continue;
        }
        p.maintenance.push_back(std::move(w).value());
      }
    }
    p.need_full = f.Bool("need_full");
    // Optional (collectors before range anti-entropy neither send nor read them).
    if (j.contains("need_ranges")) {
      p.speaks_ranges = true;
      p.need_ranges = DecodeRanges(f.Array("need_ranges"), "need_ranges");
      if (j.contains("need_range_digests")) p.need_range_digests = f.Bool("need_range_digests");
    }
    if (src.j.contains("range_digests")) {
      const std::string all = src.Str("range_digests", kSyncRanges * 16);
      if (all.size() != kSyncRanges * 16) {
        throw std::invalid_argument("sources.range_digests: expected " +
                                    std::to_string(kSyncRanges) + " digests of 16 hex digits");
      }
      p.range_digests = DecodeHexList(all, "sources.range_digests");
    }
    if (src.j.contains("ranges")) p.sources_ranges = DecodeRanges(src.Array("ranges"), "sources.ranges");
    if (src.j.contains("more")) p.sources_more = src.Bool("more");
    // Optional (collectors before the echo do not send it: their receivers count what
    // they acknowledged only).
    if (src.j.contains("holds_boot")) {
      p.sources_holds_boot = src.Str("holds_boot", 256);
      const json& holds = src.At("holds");
      if (!holds.is_number_unsigned()) throw std::invalid_argument("sources.holds: bad version");
      p.sources_holds = holds.get<uint64_t>();
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("sync payload: ") + e.what());
  }
  return p;
}

namespace {
std::string SignedText(std::string_view peer, int64_t ts, std::string_view body,
                       std::string_view answers) {
  std::string m = answers.empty() ? "firewatch-sync-v2\nrequest\n" : "firewatch-sync-v2\nresponse\n";
  m.append(peer).append("\n").append(std::to_string(ts)).append("\n");
  if (!answers.empty()) m.append(answers).append("\n");
  m.append(body);
  return m;
}
std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

std::string SyncSignature(const crypto::HmacKey& key, std::string_view peer, int64_t ts,
                          std::string_view body, std::string_view answers) {
  return text::ToHex(key.Sign(Bytes(SignedText(peer, ts, body, answers))));
}

bool VerifySyncSignature(const crypto::HmacKey& key, std::string_view peer, int64_t ts,
                         std::string_view body, std::string_view signature_hex,
                         std::string_view answers) {
  const std::string expected = SyncSignature(key, peer, ts, body, answers);
  return expected.size() == signature_hex.size() &&
         crypto::ConstantTimeEqual(Bytes(expected),
                                   {reinterpret_cast<const uint8_t*>(signature_hex.data()),
                                    signature_hex.size()});
}

}  // namespace firewatch::collector
