// Tests' AlertingConfig from YAML text: parsed and read as the collector reads its file,
// failing the test on any error.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "engine/alerting_config.h"
#include "firewatch/config/yaml_reader.h"

namespace firewatch::alerting::testing {

inline AlertingConfig ParseAlertingConfig(const std::string& yaml, const std::string& name) {
  auto root = config::LoadString(yaml, name);
  EXPECT_TRUE(root.ok()) << root.status().ToString();
  config::Errors errors(name);
  config::MapReader top(errors, *root, "");
  AlertingConfig c;
  ReadAlertingConfig(top, "", c);
  top.Finish();
  EXPECT_TRUE(errors.empty()) << errors.ToStatus().ToString();
  return c;
}

}  // namespace firewatch::alerting::testing
