// firewatch-agent: command line, config, key, loop. Everything else is in
// firewatch_agent_lib (agent.h is the place to start reading).
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "agent.h"
#include "agent_config.h"
#include "agent_log.h"
#include "check_scheduler.h"
#include "default_config.h"
#include "firewatch/protocol/keyring.h"
#include "version.h"

namespace {

using firewatch::Result;
using firewatch::Status;
using namespace firewatch::agent;

// Exit codes: 0 ok (including after SIGTERM/SIGINT), 1 bad config, missing key or
// startup failure, 70 internal error (a libuv handle leaked at exit); a bad command
// line exits with CLI11's code (100 and up).
constexpr int kExitConfig = 1;
constexpr int kExitSoftware = 70;

Result<AgentConfig> LoadConfig(const std::string& path) {
  const std::string host = LocalHostname();
  return path.empty() ? LoadDefaultAgentConfig(host) : LoadAgentConfigFile(path, host);
}

Result<firewatch::protocol::Secret> LoadKey(const AgentConfig& config) {
  firewatch::protocol::Keyring keys;
  Status s = keys.AddFromFile(config.key_id, config.key_file);
  if (!s.ok()) {
    std::error_code ec;
    const std::string abs = std::filesystem::absolute(config.key_file, ec).string();
    if (!std::filesystem::exists(config.key_file, ec)) {
      return Status::NotFound("key file " + abs + " (key id '" + config.key_id +
                              "') does not exist; create it with `firewatchctl keygen --out " +
                              abs + "` and give the collectors the same key under the same id");
    }
    return Status::IoError("key '" + config.key_id + "' from " + abs + ": " + s.message());
  }
  return *keys.Find(config.key_id);
}

int Run(const AgentConfig& config) {
  firewatch::LogFormat format = firewatch::LogFormat::kText;
  (void)firewatch::ParseLogFormat(config.log_format, format);  // validated by the loader
  if (!InitAgentLogging(config.log_level, "firewatch-agent", format)) {
    std::cerr << "firewatch-agent: unknown log level '" << config.log_level
              << "' (use trace, debug, info, warn or error)\n";
    return kExitConfig;
  }
  auto secret = LoadKey(config);
  if (!secret.ok()) {
    LogError("{}", secret.status().message());
    return kExitConfig;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished HTTP client must not kill the agent

  uv_loop_t loop;
  if (int rc = uv_loop_init(&loop); rc != 0) {
    LogError("uv_loop_init: {}", uv_strerror(rc));
    return kExitSoftware;
  }
  int exit_code = 0;
  bool abandoned = false;
  {
    SeededRandom random(SeededRandom::SeedFromDevice());
    CheckScheduler::Options check_options;
    check_options.max_concurrent = config.max_concurrent_checks;
    CheckScheduler checks(&loop, firewatch::SystemClock::Instance(), config.checks, check_options);
    if (Status s = checks.Start(); !s.ok()) {
      // Nothing was started (no handle is open): exit as for a config error.
      LogError("cannot start checks: {}", s.message());
      return kExitConfig;
    }
    Agent agent(&loop, config, *secret,
                Agent::Deps{&firewatch::SystemClock::Instance(), &random, &checks});
    if (Status s = agent.Start(); !s.ok()) {
      LogError("cannot start: {}", s.message());
      exit_code = kExitConfig;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    abandoned = agent.abandoned_lookups();
  }
  if (abandoned) return exit_code;  // a getaddrinfo is stuck; the OS reclaims the rest
  if (int rc = uv_loop_close(&loop); rc != 0) {
    LogError("internal error: the event loop did not close cleanly ({})", uv_strerror(rc));
    return kExitSoftware;
  }
  LogInfo("stopped");
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"firewatch-agent: sends signed heartbeats to every firewatch collector.",
               "firewatch-agent"};
  std::string config_path;
  bool check_config = false;
  bool print_default = false;
  app.add_option("-c,--config", config_path,
                 "YAML config file (default: the embedded defaults, see --print-default-config)");
  app.add_flag("--check-config", check_config,
               "validate the config, print OK or every error (file:line), exit 0 or 1");
  app.add_flag("--print-default-config", print_default,
               "print the embedded default config as YAML and exit");
  std::string log_format;
  app.add_option("--log-format", log_format,
                 "log lines on stderr: text or json (overrides agent.log_format)")
      ->check(CLI::IsMember({"text", "json"}));
  app.set_version_flag("-V,--version", "firewatch-agent " + std::string(AgentVersion()));
  CLI11_PARSE(app, argc, argv);

  if (print_default) {
    std::cout << DefaultAgentConfigYaml();
    return 0;
  }
  auto config = LoadConfig(config_path);
  if (check_config) {
    if (!config.ok()) {
      std::cerr << config.status().message() << "\n";
      return kExitConfig;
    }
    if (!std::filesystem::exists(config->key_file)) {
      std::cerr << "note: key file " << config->key_file
                << " does not exist yet; the agent will not start without it\n";
    }
    std::cout << "OK\n";
    return 0;
  }
  if (!config.ok()) {
    std::cerr << "firewatch-agent: invalid configuration:\n" << config.status().message() << "\n";
    return kExitConfig;
  }
  if (!log_format.empty()) config->log_format = log_format;
  return Run(*config);
}
