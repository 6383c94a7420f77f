// The collector's status page (GET /): one self-contained HTML document -- inline CSS and
// a small inline script, no external assets, no CDN, so it works with no internet and no
// Grafana (DESIGN principle 5).
//
// The page is rendered completely on the server (useful with JavaScript disabled); the
// script then re-fetches the same rows from `api/v1/sources` every 5 s and rebuilds the
// table, and marks the page stale when the collector stops answering. It never lists
// every source (a collector may track a million): the sources that are not UP first, up
// to kStatusPageNotUpLimit, then one page of kStatusPageUpLimit UP sources, with a link
// to the next page (`?after=<cursor>`, the API's cursor); the counts cover every source. With alerting it lists incidents and
// silences and acts on them (ack, resolve, silence a source, expire a silence) through
// the operator API, with the operator token the user pasted into the page: kept in the
// tab's sessionStorage, sent only as the Authorization header (never in a URL), so the
// API's CSRF rules (http/access.h) hold for the page as for any other client. Refusals
// are shown as the API gave them.
//
// Everything that comes from agents (source ids, label keys and values, check names and
// output, agent versions, goodbye reasons) is untrusted: the server side passes it through
// HtmlEscape, the script only ever assigns it with textContent / setAttribute (never
// innerHTML). The page carries a per-response nonce; serve it with the
// Content-Security-Policy from StatusPageCsp so that even an escaping bug cannot run
// injected script.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "tracker/source.h"

namespace firewatch::collector {

// The cluster panel (docs/cluster.md): peers, path warnings, config digest mismatches.
struct ClusterPanel {
  struct Row {
    std::string id;
    bool self = false;
    std::string state;           // up / down / unknown
    int64_t last_sync_age_ms = -1;
    bool config_matches = true;
    uint64_t unheard_sources = 0;
    std::string unreachable_from;  // path warning: "a, c" cannot reach it, others can
  };
  bool isolated = false;
  bool alone = false;
  std::vector<Row> collectors;
  std::vector<std::pair<std::string, std::string>> path_warnings;  // source, "a, b"
  uint64_t path_warnings_total = 0;
};

inline constexpr size_t kStatusPageNotUpLimit = 1000;
inline constexpr size_t kStatusPageUpLimit = 500;

struct StatusPageModel {
  std::optional<ClusterPanel> cluster;  // set when the collector has peers
  std::string collector_id;
  std::string version;
  int64_t now_ms = 0;                   // collector wall clock, Unix ms
  std::vector<SourceSnapshot> sources;  // any order; the page sorts (see SeverityRank)
  // Every source tracked, per state (index: SourceState) and in all; unset: the page
  // counts `sources`.
  struct Counts {
    uint64_t by_state[kSourceStateCount] = {};
    uint64_t total = 0;
  };
  std::optional<Counts> counts;
  uint64_t not_up_matched = 0;  // sources not UP; more than the rows hold: "first N of M"
  std::string up_next;          // cursor of the next page of UP sources; "" = none
  std::string up_after;  // this page's cursor (the script refreshes the same page); "" = first
  // Conditions an operator must know about, shown above the table (for example "source
  // cap reached"): plain text, escaped when rendered.
  std::vector<std::string> warnings;
};

// Escapes & < > " ' for use in HTML text and quoted attribute values.
std::string HtmlEscape(std::string_view text);

// Display order of the table: DOWN, LATE, UP with a CRITICAL check, UP with a WARNING
// (or UNKNOWN) check, STOPPED, UP; ties by source id. The script uses the same order.
int SeverityRank(const SourceSnapshot& s);

// "4s", "3m 12s", "5h 2m", "2d 7h"; negative durations count as 0.
std::string FormatAgo(int64_t ms);

// The whole page. `nonce` (base64/hex text, no quotes) goes on the <style> and <script>
// tags and must match the CSP header.
std::string RenderStatusPage(const StatusPageModel& model, std::string_view nonce);

// The Content-Security-Policy header value for a page rendered with `nonce`: nothing may
// load from elsewhere; only the nonced style and script run; fetch only to this origin.
std::string StatusPageCsp(std::string_view nonce);

// A fresh random nonce (128 bits from firewatch/random_id.h, hex).
std::string NewNonce();

}  // namespace firewatch::collector
