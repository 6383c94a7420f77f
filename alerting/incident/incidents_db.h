// incidents.db: one file, two owners. IncidentStore (incident/incident_store.h) keeps the
// `incidents` table, SilenceStore (route/silence_store.h) the `silences` table; each opens
// its own connection through OpenIncidentsDb, so both see one application_id, one schema
// version and one list of migrations (docs/storage.md).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "firewatch/sqlite/database.h"
#include "firewatch/status.h"

namespace firewatch::alerting {

// "FWIN" (firewatch incidents), in PRAGMA application_id.
inline constexpr int32_t kIncidentsDbApplicationId = 0x4657494E;

// The incidents.db schema. Files written before versioning (application_id 0, tables
// incidents(id, body) and silences(id, body)) are adopted as schema 1.
const sqlite::Schema& IncidentsDbSchema();

// Opens (creating, migrating) incidents.db at `path` for one owner.
Result<sqlite::Database> OpenIncidentsDb(const std::string& path);

// One table of (id TEXT PRIMARY KEY, body TEXT) rows on its own connection: what both
// stores share. Not thread-safe: the owner serializes calls.
class BodyTable {
 public:
  BodyTable(std::string table) : table_(std::move(table)) {}  // NOLINT: "incidents"/"silences"
  Status Open(const std::string& path);

  Status Put(const std::string& id, const std::string& body);
  Status Delete(const std::string& id);
  // Every row whose id and body are not NULL, in id order.
  Result<std::vector<std::pair<std::string, std::string>>> Rows();
  // Upserts `puts` and deletes `deletes` in one transaction (one fsync).
  Status Batch(const std::vector<std::pair<std::string, std::string>>& puts,
               const std::vector<std::string>& deletes);
  const std::string& context() const { return db_.context(); }

 private:
  Status PutRow(const std::string& id, const std::string& body);
  Status DeleteRow(const std::string& id);

  std::string table_;
  sqlite::Database db_;
  // Declared after db_: finalized before it closes.
  sqlite::Stmt put_, delete_, rows_;
};

}  // namespace firewatch::alerting
