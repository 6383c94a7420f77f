#include "app/local_pager.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>

#include "firewatch/clock.h"
#include "firewatch/text/json_escape.h"
#include "firewatch/text/rfc3339.h"
#include "metrics/collector_metrics.h"
#include "watch/own_sources.h"

namespace firewatch::collector {

bool IsPageable(const Transition& t) {
  return (t.to == SourceState::kDown) != (t.from == SourceState::kDown);
}

Result<std::unique_ptr<LocalPager>> LocalPager::Open(const std::string& path,
                                                     std::string collector_id, bool echo) {
  FILE* f = std::fopen(path.c_str(), "ae");
  if (f == nullptr) {
    return Status::IoError("cannot open page file " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<LocalPager>(new LocalPager(f, path, std::move(collector_id), echo));
}

LocalPager::LocalPager(FILE* file, std::string path, std::string collector_id, bool echo)
    : file_(file), path_(std::move(path)), collector_id_(std::move(collector_id)), echo_(echo) {}

LocalPager::~LocalPager() { std::fclose(file_); }

size_t LocalPager::Notify(const std::vector<Transition>& transitions, CollectorMetrics* metrics) {
  // Every page of the batch is appended, then one fsync: a datacenter going dark is
  // thousands of host pages in one batch, and an fsync each held the event loop for
  // seconds (about 3 ms each here). Each page is still on disk before it is echoed,
  // counted or returned.
  std::vector<std::string> echoes;
  std::string lines;
  // One allocation for a storm's lines (~250 bytes each).
  lines.reserve(
      256 * static_cast<size_t>(std::count_if(transitions.begin(), transitions.end(), IsPageable)));
  for (const auto& t : transitions) {
    if (!IsPageable(t)) continue;
    const bool firing = t.to == SourceState::kDown;
    const std::string at = text::FormatRfc3339(t.at_ms);
    const std::string summary = OwnSourceSummary(t.source_id);  // watchdogs, probes
    // The line nlohmann::json wrote before (keys in its std::map order, the same
    // escaping: text/json_escape.h), by hand: a datacenter going dark is 100,000 pages
    // in one batch, and building a json object per page was most of their cost.
    auto field = [&lines](std::string_view key, std::string_view value, bool first = false) {
      lines += first ? "{\"" : ",\"";
      lines += key;
      lines += "\":\"";
      text::AppendJsonEscaped(lines, value);
      lines += '"';
    };
    field("at", at, /*first=*/true);
    field("collector", collector_id_);
    lines += ",\"labels\":{";
    // In key order, a repeated key's last value (as the std::map did); the wire's labels
    // are sorted and unique already (protocol/frame.h), a check's from its config may not.
    const protocol::Labels* labels = &t.labels;
    protocol::Labels ordered;
    if (std::adjacent_find(t.labels.begin(), t.labels.end(), [](const auto& a, const auto& b) {
          return a.first >= b.first;
        }) != t.labels.end()) {
      std::map<std::string, std::string> by_key;
      for (const auto& [k, v] : t.labels) by_key[k] = v;
      ordered.assign(by_key.begin(), by_key.end());
      labels = &ordered;
    }
    for (size_t i = 0; i < labels->size(); ++i) {
      const auto& [k, v] = (*labels)[i];
      lines += i > 0 ? ",\"" : "\"";
      text::AppendJsonEscaped(lines, k);
      lines += "\":\"";
      text::AppendJsonEscaped(lines, v);
      lines += '"';
    }
    lines += '}';
    field("reason", t.reason);
    field("source", t.source_id);
    field("state", SourceStateName(t.to));
    field("status", firing ? "firing" : "resolved");
    if (!summary.empty()) field("summary", summary);
    lines += "}\n";
    std::string label_text;
    for (const auto& [k, v] : t.labels) label_text += (label_text.empty() ? "" : ",") + k + "=" + v;
    echoes.push_back(fmt::format("PAGE {} {} is {} since {} {{{}}}: {}{}{}\n",
                                 firing ? "FIRING" : "RESOLVED", t.source_id, SourceStateName(t.to),
                                 at, label_text, t.reason, summary.empty() ? "" : " -- ", summary));
  }
  if (echoes.empty()) return 0;
  MutexLock lock(mu_);
  const bool ok = std::fputs(lines.c_str(), file_) >= 0 && std::fflush(file_) == 0 &&
                  ::fsync(fileno(file_)) == 0;
  if (!ok) spdlog::error("could not write {} page(s) to {}: {}", echoes.size(), path_,
                         std::strerror(errno));
  for (const auto& e : echoes) {
    if (echo_) std::fputs(e.c_str(), stdout);
    if (metrics != nullptr) metrics->PageWritten("local", ok);
  }
  if (echo_) std::fflush(stdout);
  return ok ? echoes.size() : 0;
}

}  // namespace firewatch::collector
