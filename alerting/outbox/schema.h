// The outbox's schema and its migrations (docs/outbox.md). Private to the outbox.
//
// Same rules as the collector store: the schema version lives in PRAGMA user_version,
// the file is marked as ours with PRAGMA application_id, and each migration runs in its
// own transaction together with the version bump.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "firewatch/status.h"

namespace firewatch::alerting::outbox::schema {

// The newest schema this build knows.
int LatestVersion();
// "FWOB" (firewatch outbox), in PRAGMA application_id.
inline constexpr int32_t kApplicationId = 0x46574F42;

// Brings the database open on `db` up to LatestVersion(). `path` is for messages only.
// Fails with Corruption when the file belongs to another application or was created by
// a newer firewatch, IoError when a migration fails.
Status Migrate(sqlite3* db, const std::string& path);

}  // namespace firewatch::alerting::outbox::schema
