#include "engine/incident_db.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace firewatch::alerting {

namespace {

nlohmann::json ToJson(const Incident& i) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : i.alerts) {
    alerts.push_back({{"labels", a.labels},
                      {"annotations", a.annotations},
                      {"starts_at_ms", a.starts_at_ms},
                      {"ends_at_ms", a.ends_at_ms},
                      {"firing", a.status == AlertStatus::kFiring}});
  }
  return {{"id", i.id},
          {"group_key", i.group_key},
          {"origin", i.origin},
          {"policy", i.policy},
          {"group_labels", i.group_labels},
          {"alerts", alerts},
          {"state", static_cast<int>(i.state)},
          {"started_ms", i.started_ms},
          {"acked_ms", i.acked_ms},
          {"acked_by", i.acked_by},
          {"resolved_ms", i.resolved_ms},
          {"reopened", i.reopened},
          {"reopened_ms", i.reopened_ms}};
}

Incident FromJson(const nlohmann::json& j) {
  Incident i;
  i.id = j.at("id");
  i.group_key = j.at("group_key");
  i.origin = j.value("origin", "");
  i.policy = j.at("policy");
  i.group_labels = j.at("group_labels").get<LabelSet>();
  for (const auto& a : j.at("alerts")) {
    Alert al;
    al.labels = a.at("labels").get<LabelSet>();
    al.annotations = a.at("annotations").get<LabelSet>();
    al.starts_at_ms = a.at("starts_at_ms");
    al.ends_at_ms = a.at("ends_at_ms");
    al.status = a.at("firing").get<bool>() ? AlertStatus::kFiring : AlertStatus::kResolved;
    i.alerts.push_back(std::move(al));
  }
  const int state = j.at("state").get<int>();
  if (state < 0 || state > static_cast<int>(IncidentState::kResolved)) {
    throw std::invalid_argument("state " + std::to_string(state) + " is not a known state");
  }
  i.state = static_cast<IncidentState>(state);
  i.started_ms = j.at("started_ms");
  i.acked_ms = j.at("acked_ms");
  i.acked_by = j.at("acked_by");
  i.resolved_ms = j.at("resolved_ms");
  i.reopened = j.value("reopened", 0u);
  i.reopened_ms = j.value("reopened_ms", int64_t{0});
  return i;
}

// A prepared statement, finalized on every path.
struct Stmt {
  sqlite3_stmt* st = nullptr;
  ~Stmt() { sqlite3_finalize(st); }
};

}  // namespace

IncidentDb::~IncidentDb() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Status IncidentDb::Open(const std::string& path) {
  path_ = path;
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    return Status::IoError("cannot open " + path + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_busy_timeout(db_, 5000);
  const char* schema =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, body TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS silences (id TEXT PRIMARY KEY, body TEXT NOT NULL);";
  char* err = nullptr;
  if (sqlite3_exec(db_, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    return Status::IoError(path + ": " + msg);
  }
  return Status::Ok();
}

Status IncidentDb::Put(const Incident& inc) {
  return PutRow("incidents", inc.id,
                ToJson(inc).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status IncidentDb::Delete(const std::string& id) {
  Stmt s;
  if (sqlite3_prepare_v2(db_, "DELETE FROM incidents WHERE id = ?1", -1, &s.st, nullptr) !=
      SQLITE_OK) {
    return Status::IoError(path_ + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_bind_text(s.st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.st) != SQLITE_DONE) {
    return Status::IoError(path_ + ": cannot delete incident " + id + ": " + sqlite3_errmsg(db_));
  }
  return Status::Ok();
}

Status IncidentDb::PutRow(const std::string& table, const std::string& id,
                          const std::string& body) {
  Stmt s;
  const std::string sql = "INSERT INTO " + table +
                          "(id, body) VALUES(?1, ?2) "
                          "ON CONFLICT(id) DO UPDATE SET body = excluded.body";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s.st, nullptr) != SQLITE_OK) {
    return Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
  }
  sqlite3_bind_text(s.st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s.st, 2, body.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(s.st) != SQLITE_DONE) {
    return Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
  }
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> IncidentDb::Rows(const std::string& table) {
  std::vector<std::pair<std::string, std::string>> out;
  Stmt s;
  if (sqlite3_prepare_v2(db_, ("SELECT id, body FROM " + table).c_str(), -1, &s.st, nullptr) !=
      SQLITE_OK) {
    spdlog::error("{}: cannot read {}: {}", path_, table, sqlite3_errmsg(db_));
    return out;
  }
  while (sqlite3_step(s.st) == SQLITE_ROW) {
    const auto* id = reinterpret_cast<const char*>(sqlite3_column_text(s.st, 0));
    const auto* body = reinterpret_cast<const char*>(sqlite3_column_text(s.st, 1));
    if (id == nullptr || body == nullptr) continue;
    out.emplace_back(std::string(id, static_cast<size_t>(sqlite3_column_bytes(s.st, 0))),
                     std::string(body, static_cast<size_t>(sqlite3_column_bytes(s.st, 1))));
  }
  return out;
}

Status IncidentDb::Batch(const std::string& table,
                         const std::vector<std::pair<std::string, std::string>>& puts,
                         const std::vector<std::string>& deletes) {
  if (puts.empty() && deletes.empty()) return Status::Ok();
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
  }
  Status st = Status::Ok();
  for (const auto& [id, body] : puts) {
    if (st = PutRow(table, id, body); !st.ok()) break;
  }
  for (const auto& id : deletes) {
    if (!st.ok()) break;
    Stmt del;
    if (sqlite3_prepare_v2(db_, ("DELETE FROM " + table + " WHERE id = ?1").c_str(), -1, &del.st,
                           nullptr) != SQLITE_OK) {
      st = Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
      break;
    }
    sqlite3_bind_text(del.st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(del.st) != SQLITE_DONE) {
      st = Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
    }
  }
  if (!st.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return st;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status e = Status::IoError(path_ + ": " + table + ": " + sqlite3_errmsg(db_));
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return Status::Ok();
}

Result<std::vector<Incident>> IncidentDb::LoadAll() {
  std::vector<Incident> out;
  for (const auto& [id, body] : Rows("incidents")) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    try {
      if (j.is_discarded()) throw std::invalid_argument("not JSON");
      out.push_back(FromJson(j));
    } catch (const std::exception& e) {
      spdlog::error("{}: skipping unreadable incident '{}': {}", path_, id.substr(0, 64), e.what());
    }
  }
  return out;
}

}  // namespace firewatch::alerting
