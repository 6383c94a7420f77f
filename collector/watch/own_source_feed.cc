#include "watch/own_source_feed.h"

#include <algorithm>

namespace firewatch::collector {

namespace {
constexpr std::string_view kKeyId = "collector";  // new-source budget of own sources
constexpr std::string_view kVersion = "collector";

uint32_t IntervalMs(Duration interval) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval).count();
  return static_cast<uint32_t>(std::clamp<int64_t>(ms, 1, UINT32_MAX));
}
}  // namespace

OwnSourceFeed::OwnSourceFeed(const Clock& clock, Tracker& tracker, TransitionSink sink,
                             Executor executor)
    : clock_(clock),
      tracker_(tracker),
      sink_(std::move(sink)),
      executor_(std::move(executor)),
      boot_(protocol::NewBootId()) {}

OwnSourceFeed::Outcome OwnSourceFeed::Heard(const std::string& source_id, Duration interval,
                                            const protocol::Labels& labels) {
  auto work = [this, source_id, interval, labels]() -> Outcome {
    if (auto refused = HeardHere(source_id, interval, labels)) {
      return std::string(protocol::RejectReasonName(*refused));
    }
    return std::nullopt;
  };
  if (!executor_) return work();
  Result<Outcome> done = executor_(std::move(work));
  if (!done.ok()) return "not handed to the event loop: " + done.status().message();
  return *done;
}

std::optional<protocol::RejectReason> OwnSourceFeed::HeardHere(const std::string& source_id,
                                                               Duration interval,
                                                               const protocol::Labels& labels) {
  protocol::HeartbeatView hb;
  hb.type = protocol::FrameType::kHeartbeat;
  hb.key_id = kKeyId;
  hb.source_id = source_id;
  hb.boot_id = boot_;
  hb.interval_ms = IntervalMs(interval);
  hb.agent_version = kVersion;
  for (const auto& [k, v] : labels) hb.labels.emplace_back(k, v);
  ObserveResult r;
  {
    MutexLock lock(mu_);
    hb.sequence = ++sequence_;
    hb.timestamp_ms = ToUnixMillis(clock_.WallNow());
    r = tracker_.Observe(hb, Transport::kHttp);
  }
  if (r.rejected) return r.rejected;
  if (r.transition && sink_) sink_({std::move(*r.transition)});
  return std::nullopt;
}

void RegisterOwnSources(const WatchConfig& config, Tracker& tracker, const Clock& clock) {
  const int64_t now_ms = ToUnixMillis(clock.WallNow());
  std::vector<SourceSnapshot> fresh;
  auto add = [&](std::string id, Duration interval, const protocol::Labels& labels) {
    if (tracker.Get(id)) return;
    SourceSnapshot s;
    s.source_id = std::move(id);
    s.labels = labels;
    s.state = SourceState::kUp;
    s.first_seen_ms = now_ms;
    s.last_seen_ms = now_ms;
    s.state_since_ms = now_ms;
    s.interval_ms = IntervalMs(interval);
    s.agent_version = std::string(kVersion);
    s.last_transport = Transport::kHttp;
    fresh.push_back(std::move(s));
  };
  for (const auto& w : config.watchdogs) add(WatchdogSourceId(w.name), w.interval, w.labels);
  for (const auto& p : config.probes) add(ProbeSourceId(p.name), p.interval, p.labels);
  if (!fresh.empty()) tracker.Restore(std::move(fresh));
}

}  // namespace firewatch::collector
