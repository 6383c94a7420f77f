// incidents.db: the engine's incidents and silences, one row of JSON per id in two tables
// (`incidents`, `silences`). After a restart the same group reopens the same incident
// (same id, same start), so escalation recomputes the same idempotency keys.
//
// One connection per user: the alerting engine writes incidents through one and silences
// through another (their own transactions); a writer waits for the other (busy timeout)
// instead of failing with SQLITE_BUSY. A connection is not thread-safe: its owner
// serializes calls.
#pragma once

#include <sqlite3.h>

#include <string>
#include <utility>
#include <vector>

#include "firewatch/status.h"
#include "incident/incident.h"

namespace firewatch::alerting {

class IncidentDb {
 public:
  IncidentDb() = default;
  IncidentDb(const IncidentDb&) = delete;
  IncidentDb& operator=(const IncidentDb&) = delete;
  ~IncidentDb();

  // Opens (creating) the file and its tables. Fails naming the file.
  Status Open(const std::string& path);

  // Incidents.
  Status Put(const Incident& inc);
  Status Delete(const std::string& id);
  // Every readable incident; unreadable rows are logged and skipped.
  Result<std::vector<Incident>> LoadAll();

  // Generic (id, body) rows of `table` (silences): every row whose columns are text.
  std::vector<std::pair<std::string, std::string>> Rows(const std::string& table);
  // Upserts `puts` and deletes `deletes` in one transaction (one fsync).
  Status Batch(const std::string& table,
               const std::vector<std::pair<std::string, std::string>>& puts,
               const std::vector<std::string>& deletes);

 private:
  Status PutRow(const std::string& table, const std::string& id, const std::string& body);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace firewatch::alerting
