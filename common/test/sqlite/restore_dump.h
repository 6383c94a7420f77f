// Test helper: a database file from a text dump (`sqlite3 file .dump`), for tests that
// open files written by an older release (tests/testdata/storage/README.md).
#pragma once

#include <cstdint>
#include <string>

#include "firewatch/status.h"

namespace firewatch::sqlite::testing {

// The folder of the release dumps (tests/testdata/storage).
std::string StorageTestdata(const std::string& file);

// Creates `db_path` (which must not exist) and runs the SQL of `dump_path` in it.
Status RestoreDump(const std::string& dump_path, const std::string& db_path);

// The two header fields that say what a file is.
struct Header {
  int64_t application_id = 0;
  int64_t user_version = 0;
};
Result<Header> ReadHeader(const std::string& db_path);

}  // namespace firewatch::sqlite::testing
