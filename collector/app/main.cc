// firewatch-collector: receives signed heartbeats, decides who is alive, pages.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "app/collector_app.h"
#include "app/collector_config.h"
#include "firewatch/log.h"
#include "firewatch/secret_file.h"

#ifndef FIREWATCH_VERSION
#define FIREWATCH_VERSION "0.0.0"
#endif

using namespace firewatch;
using namespace firewatch::collector;

int main(int argc, char** argv) {
  CLI::App cli{
      "firewatch-collector: receives signed heartbeats from firewatch agents over UDP and\n"
      "HTTP, tracks every source's liveness, and pages when one goes silent.\n"
      "Without --config it runs on embedded defaults (see --print-default-config):\n"
      "HTTP on 127.0.0.1:9760, heartbeats on UDP 127.0.0.1:9761, state in ./firewatch-data.\n"
      "SIGHUP re-reads --config, all or nothing (a file with errors is refused whole);\n"
      "what needs a restart instead: docs/configuration.md, \"Reload\"."};
  std::string config_path;
  bool check_only = false, print_defaults = false, version = false;
  cli.add_option("-c,--config", config_path, "YAML config file (docs/configuration.md)");
  cli.add_flag("--check-config", check_only, "validate the config (and keys), print OK or errors, exit");
  cli.add_flag("--print-default-config", print_defaults, "print the embedded defaults as YAML");
  cli.add_flag("--version", version, "print the version");
  std::string log_format;
  cli.add_option("--log-format", log_format,
                 "log lines on stderr: text or json (overrides collector.log_format)")
      ->check(CLI::IsMember({"text", "json"}));
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::printf("firewatch-collector %s\n", FIREWATCH_VERSION);
    return 0;
  }
  if (print_defaults) {
    std::fputs(DefaultConfigYaml().c_str(), stdout);
    return 0;
  }
  auto config = config_path.empty() ? EmbeddedCollectorConfig() : LoadCollectorConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  if (check_only) {
    // Keys are part of the config: a missing key file is an error here, but nothing is
    // created by a check.
    CollectorConfig probe = *config;
    for (auto& k : probe.keys) k.create_if_missing = false;
    bool creatable = false;
    for (const auto& k : config->keys) creatable |= k.create_if_missing;
    auto keys = LoadKeys(probe);
    if (!keys.ok() && !creatable) {
      std::fprintf(stderr, "%s: %s\n", config->source_file.c_str(), keys.status().message().c_str());
      return 1;
    }
    if (auto tokens = LoadWatchdogTokens(config->watch); !tokens.ok()) {  // watchdogs:
      std::fprintf(stderr, "%s: %s\n", config->source_file.c_str(), tokens.status().message().c_str());
      return 1;
    }
    std::printf("%s: OK\n", config->source_file.c_str());
    return 0;
  }
  if (!log_format.empty()) config->log_format = log_format;
  LogFormat format = LogFormat::kText;
  (void)ParseLogFormat(config->log_format, format);  // validated by the config loader
  if (Status s = InitLogging(config->log_level, "firewatch-collector", format); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.message().c_str());
    return 1;
  }
  // Warnings about secret files readable by everyone (firewatch/secret_file.h): until
  // here on stderr (the config was read before logging started), from now on in the log.
  SetSecretFileWarningSink([](const std::string& m) { spdlog::warn("{}", m); });
  CollectorApp app(std::move(config).value(), config_path, SystemClock::Instance());
  if (Status s = app.Start(); !s.ok()) {
    spdlog::critical("cannot start: {}", s.message());
    return 1;
  }
  return app.Run();
}
