// Shared helpers for the outbox tests: a temp dir, notifications, a fake clock.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "model/alert.h"
#include "outbox/outbox.h"

namespace firewatch::alerting::outbox::testing {

// A fresh directory under $TMPDIR, removed when the fixture ends.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "outbox_test.XXXXXX").string();
    const char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline Notification Page(const std::string& key, const std::string& incident = "inc1",
                         const std::string& kind = "trigger", const std::string& contact = "alice") {
  Notification n;
  n.idempotency_key = key;
  n.incident_id = incident;
  n.kind = kind;
  n.contact = contact;
  n.address = "+15550100";
  n.subject = "subject of " + key;
  n.text = "text of " + key;
  return n;
}

inline std::unique_ptr<Outbox> MustOpen(const std::string& path, const Clock& clock) {
  OutboxOptions o;
  o.clock = &clock;
  auto r = Outbox::Open(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

inline Item MustGet(Outbox& box, const std::string& key) {
  auto r = box.Get(key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r.ok() && r->has_value()) << key;
  return r.ok() && r->has_value() ? **r : Item{};
}

}  // namespace firewatch::alerting::outbox::testing
