#include "sqlite/restore_dump.h"

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace firewatch::sqlite::testing {

std::string StorageTestdata(const std::string& file) {
  return std::string(FIREWATCH_STORAGE_TESTDATA) + "/" + file;
}

Status RestoreDump(const std::string& dump_path, const std::string& db_path) {
  std::ifstream in(dump_path);
  if (!in) return Status::NotFound("cannot read " + dump_path);
  std::stringstream sql;
  sql << in.rdbuf();
  if (std::filesystem::exists(db_path)) return Status::InvalidArgument(db_path + " exists");
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::string error;
  if (rc == SQLITE_OK) {
    char* msg = nullptr;
    rc = sqlite3_exec(db, sql.str().c_str(), nullptr, nullptr, &msg);
    if (msg != nullptr) error = msg;
    sqlite3_free(msg);
  } else {
    error = sqlite3_errmsg(db);
  }
  const int closed = sqlite3_close(db);
  if (rc != SQLITE_OK) return Status::IoError(dump_path + " into " + db_path + ": " + error);
  if (closed != SQLITE_OK) return Status::IoError("closing " + db_path);
  return Status::Ok();
}

Result<Header> ReadHeader(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return Status::IoError("cannot open " + db_path);
  }
  sqlite3_stmt* q = nullptr;
  Header h;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT (SELECT application_id FROM pragma_application_id), "
                              "(SELECT user_version FROM pragma_user_version)",
                              -1, &q, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    h.application_id = sqlite3_column_int64(q, 0);
    h.user_version = sqlite3_column_int64(q, 1);
  }
  const std::string error = sqlite3_errmsg(db);
  sqlite3_finalize(q);
  sqlite3_close(db);
  if (rc != SQLITE_ROW) return Status::IoError(db_path + ": " + error);
  return h;
}

}  // namespace firewatch::sqlite::testing
