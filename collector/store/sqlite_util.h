// The shared SQLite helpers (firewatch/sqlite_util.h), under this component's name.
#pragma once

#include "firewatch/sqlite_util.h"

namespace firewatch::collector {
namespace sqlite = ::firewatch::sqlite;
}  // namespace firewatch::collector
