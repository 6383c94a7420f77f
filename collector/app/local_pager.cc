#include "app/local_pager.h"

#include <fmt/format.h>
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
  // Every page of the batch is appended, then one fsync: a datacenter going dark is
  // thousands of host pages in one batch, and an fsync each held the event loop for
  // seconds (about 3 ms each here). Each page is still on disk before it is echoed,
  // counted or returned.
  std::vector<std::string> echoes;
  std::string lines;
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
    lines += page.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    echoes.push_back(fmt::format("PAGE {} {} is {} since {} {{{}}}: {}{}{}\n",
                                 firing ? "FIRING" : "RESOLVED", t.source_id,
                                 SourceStateName(t.to), text::FormatRfc3339(t.at_ms), label_text,
                                 t.reason, summary.empty() ? "" : " -- ", summary));
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
