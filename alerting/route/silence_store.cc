#include "route/silence_store.h"

#include <spdlog/spdlog.h>

namespace firewatch::alerting {

Status SilenceStore::Open(const std::string& path) {
  return table_.Open(path);
}

std::vector<std::pair<std::string, std::string>> SilenceStore::Rows() {
  auto rows = table_.Rows();
  if (!rows.ok()) {
    spdlog::error("{}; no stored silence is in force", rows.status().ToString());
    return {};
  }
  return std::move(rows).value();
}

Status SilenceStore::Batch(const std::vector<std::pair<std::string, std::string>>& puts,
                           const std::vector<std::string>& deletes) {
  return table_.Batch(puts, deletes);
}

}  // namespace firewatch::alerting
