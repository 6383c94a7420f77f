// The local page channel: what pages go to until real channels (email, SMS) are
// configured. A page is one JSON line appended to a file in the data directory -- on
// disk (one fsync per Notify batch) before anything else -- and one human line on stdout.
//
// Pages: a source going DOWN ("firing") and a DOWN source leaving DOWN ("resolved"):
// coming back UP, saying goodbye, or being forgotten (state STOPPED, reason
// "forgotten: ..."), as the alerting engine's SourceDown resolves (app/alerts.h).
// LATE, STOPPED (goodbye of a live source) and new sources are recorded as transitions,
// not paged.
//
// Thread-safety: Notify() may be called from any thread.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"
#include "tracker/source.h"

namespace firewatch::collector {

class CollectorMetrics;

// True when this transition pages (see above).
bool IsPageable(const Transition& t);

class LocalPager {
 public:
  // Opens (creating) `path` for appending. `echo` also prints to stdout.
  static Result<std::unique_ptr<LocalPager>> Open(const std::string& path, std::string collector_id,
                                                  bool echo);
  ~LocalPager();

  // Writes one page per pageable transition; returns how many were written.
  size_t Notify(const std::vector<Transition>& transitions, CollectorMetrics* metrics)
      FW_EXCLUDES(mu_);

 private:
  LocalPager(FILE* file, std::string path, std::string collector_id, bool echo);
  Mutex mu_;
  FILE* file_ FW_GUARDED_BY(mu_);  // appends and fsyncs are serialized
  std::string path_;
  std::string collector_id_;
  bool echo_;
};

}  // namespace firewatch::collector
