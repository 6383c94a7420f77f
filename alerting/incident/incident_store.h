// The `incidents` table of incidents.db (incident/incidents_db.h, docs/storage.md): one
// row of JSON per incident id. After a restart the same group reopens the same incident
// (same id, same start), so escalation recomputes the same idempotency keys.
//
// Its own connection: the silences (route/silence_store.h) write the same file through
// another one, in their own transactions; a writer waits for the other (busy timeout)
// instead of failing with SQLITE_BUSY. Not thread-safe: the owner serializes calls.
#pragma once

#include <string>
#include <vector>

#include "firewatch/status.h"
#include "incident/incident.h"
#include "incident/incidents_db.h"

namespace firewatch::alerting {

class IncidentStore {
 public:
  IncidentStore() = default;
  IncidentStore(const IncidentStore&) = delete;
  IncidentStore& operator=(const IncidentStore&) = delete;

  // Opens (creating, migrating) incidents.db at `path`. Fails naming the file.
  Status Open(const std::string& path);

  Status Put(const Incident& inc);
  Status Delete(const std::string& id);
  // Every readable incident; unreadable rows are logged (naming the id) and skipped.
  Result<std::vector<Incident>> LoadAll();

 private:
  BodyTable table_{"incidents"};
};

}  // namespace firewatch::alerting
