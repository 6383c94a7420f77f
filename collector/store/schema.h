// The store's schema: its application_id and its migrations (docs/storage.md). Private to
// the store. Opening, identity checks and migrating are firewatch/sqlite/database.h.
#pragma once

#include <cstdint>

#include "firewatch/sqlite/database.h"

namespace firewatch::collector::schema {

// "FWCS" (firewatch collector store), in PRAGMA application_id.
inline constexpr int32_t kApplicationId = 0x46574353;

// The collector.db schema: kind "store", kApplicationId, the migrations.
const sqlite::Schema& Store();

}  // namespace firewatch::collector::schema
