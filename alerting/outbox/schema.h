// The outbox's schema: its application_id and its migrations (docs/outbox.md,
// docs/storage.md). Private to the outbox. Opening, identity checks and migrating are
// firewatch/sqlite/database.h.
#pragma once

#include <cstdint>

#include "firewatch/sqlite/database.h"

namespace firewatch::alerting::outbox::schema {

// "FWOB" (firewatch outbox), in PRAGMA application_id.
inline constexpr int32_t kApplicationId = 0x46574F42;

// The outbox.db schema: kind "outbox", kApplicationId, the migrations.
const sqlite::Schema& Outbox();

}  // namespace firewatch::alerting::outbox::schema
