#include "app/local_pager.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "firewatch/clock.h"
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
  size_t written = 0;
  MutexLock lock(mu_);
  for (const auto& t : transitions) {
    if (!IsPageable(t)) continue;
    const bool firing = t.to == SourceState::kDown;
    nlohmann::json labels = nlohmann::json::object();
    std::string label_text;
    for (const auto& [k, v] : t.labels) {
      labels[k] = v;
      label_text += (label_text.empty() ? "" : ",") + k + "=" + v;
    }
    nlohmann::json page = {{"status", firing ? "firing" : "resolved"},
                           {"source", t.source_id},
                           {"state", SourceStateName(t.to)},
                           {"at", text::FormatRfc3339(t.at_ms)},
                           {"reason", t.reason},
                           {"labels", labels},
                           {"collector", collector_id_}};
    const std::string summary = OwnSourceSummary(t.source_id);  // watchdogs, probes
    if (!summary.empty()) page["summary"] = summary;
    std::string line = page.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    bool ok = std::fputs(line.c_str(), file_) >= 0 && std::fflush(file_) == 0 &&
              ::fsync(fileno(file_)) == 0;
    if (!ok) spdlog::error("could not write page to {}: {}", path_, std::strerror(errno));
    if (echo_) {
      std::printf("PAGE %s %s is %s since %s {%s}: %s%s%s\n", firing ? "FIRING" : "RESOLVED",
                  t.source_id.c_str(), std::string(SourceStateName(t.to)).c_str(),
                  text::FormatRfc3339(t.at_ms).c_str(), label_text.c_str(), t.reason.c_str(),
                  summary.empty() ? "" : " -- ", summary.c_str());
      std::fflush(stdout);
    }
    if (metrics != nullptr) metrics->PageWritten("local", ok);
    if (ok) ++written;
  }
  return written;
}

}  // namespace firewatch::collector
