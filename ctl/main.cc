// firewatchctl: status, check-config, keygen, ack and test-page for firewatch operators.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "commands.h"

#ifndef FIREWATCH_VERSION
#define FIREWATCH_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App cli{"firewatchctl: operate firewatch collectors and agents"};
  cli.require_subcommand(1);
  bool version = false;
  cli.add_flag("--version", version, "print the version");

  std::string out = "fleet.key";
  bool force = false;
  auto* keygen = cli.add_subcommand("keygen", "generate a heartbeat signing key (hex, 32 bytes)");
  keygen->add_option("-o,--out", out, "key file to write, or - for stdout")->capture_default_str();
  keygen->add_flag("--force", force, "replace an existing file");

  std::string url = "http://127.0.0.1:9760";
  bool json = false;
  int timeout_ms = 5000;
  auto* status = cli.add_subcommand("status", "list the sources a collector knows, DOWN first");
  status->add_option("--collector", url, "collector base URL")->capture_default_str();
  status->add_flag("--json", json, "print the API's JSON");
  status->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  std::string path;
  auto* check = cli.add_subcommand("check-config", "validate a collector or agent config file");
  check->add_option("file", path, "YAML config file")->required();

  std::string incident;
  std::string by;
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') by = user;
  else by = "firewatchctl";
  auto* ack = cli.add_subcommand("ack", "acknowledge an incident (stops its escalation)");
  ack->add_option("id", incident, "incident id (from the page or GET /api/v1/incidents)")
      ->required();
  ack->add_option("--collector", url, "collector base URL")->capture_default_str();
  ack->add_option("--by", by, "who acknowledges (default: $USER)")->capture_default_str();
  ack->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  std::string config_path;
  std::string channel;
  std::string contact;
  auto* test_page = cli.add_subcommand(
      "test-page", "send one test page through a channel of a collector config, directly");
  test_page->add_option("--config", config_path, "collector YAML config file")->required();
  test_page->add_option("--channel", channel, "channel name (channels[].name)")->required();
  test_page->add_option("--contact", contact, "contact to page (default: the first contact)");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    if (version) {
      std::printf("firewatchctl %s\n", FIREWATCH_VERSION);
      return 0;
    }
    return cli.exit(e);
  }
  if (*keygen) return firewatch::ctl::Keygen(out, force);
  if (*status) return firewatch::ctl::Status(url, json, timeout_ms);
  if (*check) return firewatch::ctl::CheckConfig(path);
  if (*ack) return firewatch::ctl::Ack(url, incident, by, timeout_ms);
  if (*test_page) return firewatch::ctl::TestPage(config_path, channel, contact);
  return 2;
}
