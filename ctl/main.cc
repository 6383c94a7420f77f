// firewatchctl: status/sources, incidents, check-config, keygen, token, ack, resolve, forget,
// silence, maintenance, test-page and completion for
// firewatch operators. Calls to a collector send the operator token from --token-file,
// $FIREWATCH_TOKEN or $FIREWATCH_TOKEN_FILE (ctl/http.h).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "http.h"

#ifndef FIREWATCH_VERSION
#define FIREWATCH_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App cli{"firewatchctl: operate firewatch collectors and agents"};
  cli.require_subcommand(1);
  bool version = false;
  cli.add_flag("--version", version, "print the version");
  std::string token_file;
  cli.add_option("--token-file", token_file,
                 "file whose first line is your operator token (default: $FIREWATCH_TOKEN, "
                 "or the file named by $FIREWATCH_TOKEN_FILE)");
  cli.fallthrough();  // --token-file may come after the subcommand too
  cli.footer(
      "Exit codes: 0 done; 1 failed (collector unreachable or refused the request, not found, "
      "a check failed); 2 usage error or unreadable token file. Errors go to stderr; --json "
      "prints the API's answer on stdout.");

  std::string out = "fleet.key";
  bool force = false;
  auto* keygen = cli.add_subcommand("keygen", "generate a heartbeat signing key (hex, 32 bytes)");
  keygen->add_option("-o,--out", out, "key file to write, or - for stdout")->capture_default_str();
  keygen->add_flag("--force", force, "replace an existing file");

  std::string url = "http://127.0.0.1:9760";
  bool json = false;
  bool all = false;
  int timeout_ms = 5000;
  auto* status = cli.add_subcommand("status", "list the sources a collector knows, DOWN first");
  status->alias("sources");
  status->add_option("--collector", url, "collector base URL")->capture_default_str();
  status->add_flag("--json", json, "print the API's JSON (every page's sources in one document)");
  status->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  auto* incidents = cli.add_subcommand(
      "incidents", "list a collector's open and acked incidents: who was paged, who acked");
  incidents->add_flag("--all", all, "also the resolved incidents it still keeps");
  incidents->add_flag("--json", json, "print the API's JSON");
  incidents->add_option("--collector", url, "collector base URL")->capture_default_str();
  incidents->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  std::string path;
  auto* check = cli.add_subcommand("check-config", "validate a collector or agent config file");
  check->add_option("file", path, "YAML config file")->required();

  std::string operator_name;
  std::string operators_file;
  std::string token_out;
  auto* token = cli.add_subcommand("token", "create or revoke operator tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand(
      "create", "make a new operator token; prints it and the line to add to the config");
  token_create->add_option("name", operator_name, "the operator (what acked_by records)")
      ->required();
  token_create->add_option("--operators-file", operators_file,
                           "also add the entry to this operators file (api.operators_file)");
  token_create->add_option("-o,--out", token_out,
                           "write the token to this new file (mode 0600) instead of printing it");
  auto* token_revoke = token->add_subcommand(
      "revoke", "remove an operator's tokens (or one token by token_sha256 prefix)");
  token_revoke
      ->add_option("who", operator_name, "operator name, or 8+ hex digits of a token_sha256")
      ->required();
  token_revoke->add_option("--operators-file", operators_file, "the operators file")->required();

  std::string incident;
  auto* ack = cli.add_subcommand("ack", "acknowledge an incident (stops its escalation)");
  ack->add_option("id", incident, "incident id (from the page or GET /api/v1/incidents)")
      ->required();
  ack->add_option("--collector", url, "collector base URL")->capture_default_str();
  ack->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  std::string resolve_comment;
  auto* resolve = cli.add_subcommand(
      "resolve", "resolve an incident by hand (stops escalation; everyone paged hears RESOLVED)");
  resolve->add_option("id", incident, "incident id (from the page or `firewatchctl incidents`)")
      ->required();
  resolve->add_option("-c,--comment", resolve_comment, "why: what was done, a ticket");
  resolve->add_flag("--json", json, "print the API's JSON");
  resolve->add_option("--collector", url, "collector base URL")->capture_default_str();
  resolve->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  std::string source;
  auto* forget =
      cli.add_subcommand("forget",
                         "remove a source from a collector (memory, store and its peers), e.g. a "
                         "decommissioned host");
  forget->add_option("source", source, "source id (as in `firewatchctl status`)")->required();
  forget->add_option("--collector", url, "collector base URL")->capture_default_str();
  forget->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();

  firewatch::ctl::SilenceAddOptions silence_opts;
  std::string silence_id;
  auto* silence = cli.add_subcommand("silence", "add, list or expire silences on a collector");
  silence->require_subcommand(1);
  auto* silence_add = silence->add_subcommand(
      "add", "mute the pages of alerts matching every MATCHER; prints the silence id");
  silence_add
      ->add_option("matchers", silence_opts.matchers,
                   "label matchers, Alertmanager syntax: source=web-1 dc=~dc1.* team!=db")
      ->required();
  auto* duration =
      silence_add
          ->add_option("-d,--duration", silence_opts.duration, "how long, from now (30m, 2h, 1d)")
          ->capture_default_str();
  silence_add
      ->add_option("--until", silence_opts.until, "end time, RFC 3339 (2026-11-25T20:00:00Z)")
      ->excludes(duration);
  silence_add->add_option("-c,--comment", silence_opts.comment, "why: a ticket, a maintenance")
      ->required();
  silence_add->add_flag(
      "--force", silence_opts.force,
      "allow a broad silence: one that pins no label but alertname to specific values "
      "(alertname=~.+, source=~.+, alertname=SourceDown alone), so it mutes that kind of "
      "alert for every source; refused without it");
  auto* silence_list =
      silence->add_subcommand("list", "list active and pending silences, soonest end first");
  silence_list->add_flag("--all", all, "include expired silences");
  silence_list->add_flag("--json", json, "print the API's JSON");
  auto* silence_expire = silence->add_subcommand("expire", "end a silence now");
  silence_expire->add_option("id", silence_id, "silence id (from `silence add` or `silence list`)")
      ->required();
  for (auto* sub : {silence_add, silence_list, silence_expire}) {
    sub->add_option("--collector", url, "collector base URL")->capture_default_str();
    sub->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();
  }

  firewatch::ctl::MaintenanceAddOptions mw_opts;
  std::string mw_id;
  auto* maintenance =
      cli.add_subcommand("maintenance", "add, list or expire maintenance windows on a collector");
  maintenance->require_subcommand(1);
  auto* mw_add = maintenance->add_subcommand(
      "add", "mute what matches every MATCHER in a window (once, or on a cron schedule); "
             "prints the window id");
  mw_add->add_option("matchers", mw_opts.matchers, "label matchers: source=web-1 dc=dc1")
      ->required();
  mw_add->add_option("--start", mw_opts.start, "first moment, RFC 3339 (default: now)");
  mw_add
      ->add_option("-d,--duration", mw_opts.duration,
                   "how long (once), or how long each occurrence lasts (--cron)")
      ->capture_default_str();
  mw_add->add_option("--until", mw_opts.until, "end of the window or of the series, RFC 3339");
  mw_add->add_option("--cron", mw_opts.cron, "recurring: when each occurrence starts (0 2 * * SUN)");
  mw_add->add_option("--tz", mw_opts.time_zone, "the cron's IANA time zone")->capture_default_str();
  mw_add->add_option("-c,--comment", mw_opts.comment, "why: a ticket, a change")->required();
  mw_add->add_flag("--force", mw_opts.force, "allow a broad window (as silence add --force)");
  auto* mw_list = maintenance->add_subcommand("list", "list current and upcoming windows");
  mw_list->add_flag("--all", all, "include expired windows");
  mw_list->add_flag("--json", json, "print the API's JSON");
  auto* mw_expire = maintenance->add_subcommand("expire", "end a window (a whole series) now");
  mw_expire->add_option("id", mw_id, "window id (from `maintenance add` or `list`)")->required();
  for (auto* sub : {mw_add, mw_list, mw_expire}) {
    sub->add_option("--collector", url, "collector base URL")->capture_default_str();
    sub->add_option("--timeout-ms", timeout_ms, "request timeout")->capture_default_str();
  }

  std::string shell = "bash";
  auto* completion = cli.add_subcommand(
      "completion", "print a shell completion script: source <(firewatchctl completion bash)");
  completion->add_option("shell", shell, "bash (the only one so far)")
      ->check(CLI::IsMember({"bash"}))
      ->capture_default_str();

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
    // CLI11 has an exit code per parse error; scripts get the documented one: 2.
    return cli.exit(e) == 0 ? 0 : 2;
  }
  if (*completion) {
    std::vector<std::string> words;
    for (const auto* sub : cli.get_subcommands({})) {
      words.push_back(sub->get_name());
      for (const auto& alias : sub->get_aliases()) words.push_back(alias);
    }
    std::fputs(firewatch::ctl::BashCompletion(words).c_str(), stdout);
    return 0;
  }
  if (*keygen) return firewatch::ctl::Keygen(out, force);
  if (*token_create) return firewatch::ctl::TokenCreate(operator_name, operators_file, token_out);
  if (*token_revoke) return firewatch::ctl::TokenRevoke(operator_name, operators_file);
  auto api_token = firewatch::ctl::ResolveApiToken(token_file);
  if (!api_token.ok()) {
    std::fprintf(stderr, "firewatchctl: %s\n", api_token.status().message().c_str());
    return 2;
  }
  firewatch::ctl::SetApiToken(*api_token);
  if (*status) return firewatch::ctl::Status(url, json, timeout_ms);
  if (*incidents) return firewatch::ctl::Incidents(url, all, json, timeout_ms);
  if (*check) return firewatch::ctl::CheckConfig(path);
  if (*ack) return firewatch::ctl::Ack(url, incident, timeout_ms);
  if (*resolve) return firewatch::ctl::Resolve(url, incident, resolve_comment, json, timeout_ms);
  if (*forget) return firewatch::ctl::Forget(url, source, timeout_ms);
  if (*test_page) return firewatch::ctl::TestPage(config_path, channel, contact);
  if (*silence_add) {
    silence_opts.collector_url = url;
    silence_opts.timeout_ms = timeout_ms;
    return firewatch::ctl::SilenceAdd(silence_opts);
  }
  if (*silence_list) return firewatch::ctl::SilenceList(url, all, json, timeout_ms);
  if (*silence_expire) return firewatch::ctl::SilenceExpire(url, silence_id, timeout_ms);
  if (*mw_add) {
    mw_opts.collector_url = url;
    mw_opts.timeout_ms = timeout_ms;
    return firewatch::ctl::MaintenanceAdd(mw_opts);
  }
  if (*mw_list) return firewatch::ctl::MaintenanceList(url, all, json, timeout_ms);
  if (*mw_expire) return firewatch::ctl::MaintenanceExpire(url, mw_id, timeout_ms);
  return 2;
}
