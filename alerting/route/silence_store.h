// The `silences` table of incidents.db (incident/incidents_db.h, docs/storage.md): one
// row of JSON per silence id (route::SilenceToJson / SilenceFromJson), written in
// batches. Its own connection beside IncidentStore's. Not thread-safe: the owner
// serializes calls.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "firewatch/status.h"
#include "incident/incidents_db.h"

namespace firewatch::alerting {

class SilenceStore {
 public:
  SilenceStore() = default;
  SilenceStore(const SilenceStore&) = delete;
  SilenceStore& operator=(const SilenceStore&) = delete;

  // Opens (creating, migrating) incidents.db at `path`. Fails naming the file.
  Status Open(const std::string& path);

  // Every stored (id, body) row. A table that cannot be read is logged as an error and
  // reads as empty: fail open, no silence mutes a page.
  std::vector<std::pair<std::string, std::string>> Rows();
  // Upserts `puts` and deletes `deletes` in one transaction (one fsync).
  Status Batch(const std::vector<std::pair<std::string, std::string>>& puts,
               const std::vector<std::string>& deletes);

 private:
  BodyTable table_{"silences"};
};

}  // namespace firewatch::alerting
