// The store's schema and its migrations (docs/storage.md). Private to the store.
//
// The schema version lives in PRAGMA user_version and the file is marked as ours with
// PRAGMA application_id. Migrations are numbered from 1, applied in order, each in its
// own transaction together with the user_version bump, so a crash mid-migration leaves
// the previous version intact.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "firewatch/status.h"

namespace firewatch::collector::schema {

// The newest schema this build knows.
int LatestVersion();
// "FWCS" (firewatch collector store), in PRAGMA application_id.
inline constexpr int32_t kApplicationId = 0x46574353;

// Brings the database open on `db` up to LatestVersion(). `path` is for messages only.
// Fails with Corruption when the file belongs to another application or was created by
// a newer firewatch (user_version > LatestVersion()), IoError when a migration fails.
Status Migrate(sqlite3* db, const std::string& path);

}  // namespace firewatch::collector::schema
