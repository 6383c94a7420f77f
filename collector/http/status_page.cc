#include "http/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include "firewatch/random_id.h"
#include "firewatch/text/rfc3339.h"
#include "firewatch/text/url.h"
#include "tracker/check_book.h"

namespace firewatch::collector {

namespace {

// Inline CSS. No url(), no @import: nothing leaves the page.
constexpr std::string_view kStyle = R"css(
:root{color-scheme:light dark;--down:#c62828;--late:#ef6c00;--up:#2e7d32;--stopped:#616161;--unknown:#6a1b9a;--line:#8884}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:1rem 1.5rem}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.2rem 1rem}
h1{font-size:1.3rem;margin:0}
.meta{opacity:.75}
.stale{background:var(--down);color:#fff;padding:.1rem .5rem;border-radius:3px}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
.count{border:1px solid var(--line);border-left-width:6px;border-radius:4px;padding:.3rem .8rem;min-width:5rem}
.count b{display:block;font-size:1.4rem}
.count.s-DOWN{border-left-color:var(--down)}.count.s-LATE{border-left-color:var(--late)}
.count.s-UP{border-left-color:var(--up)}.count.s-STOPPED{border-left-color:var(--stopped)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.state{display:inline-block;color:#fff;border-radius:3px;padding:0 .4rem;font-weight:600}
.state.s-DOWN{background:var(--down)}.state.s-LATE{background:var(--late)}
.state.s-UP{background:var(--up)}.state.s-STOPPED{background:var(--stopped)}
tr.row-DOWN{background:#c6282818}tr.row-LATE{background:#ef6c0014}
.label{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 .3rem;margin:0 .2rem .2rem 0;font-size:12px}
.check{display:inline-block;margin:0 .4rem .2rem 0}
.check b{font-weight:600}
.c-OK b{color:var(--up)}.c-WARNING b{color:var(--late)}.c-CRITICAL b{color:var(--down)}.c-UNKNOWN b{color:var(--unknown)}
.out{opacity:.8;font-size:12px}
.reason{opacity:.8;font-size:12px;margin-left:.3rem}
.checks-stale{font-style:italic;color:var(--late)}
.num{text-align:right;font-variant-numeric:tabular-nums}
[hidden]{display:none!important}
.banner{display:block;background:var(--down);color:#fff;padding:.4rem .8rem;border-radius:4px;font-weight:600;margin:.5rem 0}
tr.group th{background:#8881;font-weight:600}
.tools{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
.tools input,.tools select,button{font:inherit;padding:.15rem .4rem}
section h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.i-open{color:var(--down);font-weight:600}.i-acked{color:var(--late);font-weight:600}.i-resolved{color:var(--up)}
#action-result,#silence-result{opacity:.85}
#action-result.error,#silence-result.error{opacity:1;color:var(--down);font-weight:600}
td.actions button{margin:0 .3rem .2rem 0}
)css";

// Inline script: refreshes from api/v1/sources (the rows) and api/v1/status (the counts)
// every 5 s. Untrusted strings only ever go through textContent or setAttribute; class
// names are built from an allow-list.
constexpr std::string_view kScript = R"js(
(function () {
  "use strict";
  var STATES = ["DOWN", "LATE", "UP", "STOPPED"];
  var CHECKS = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];
  var lastOk = Date.now();
  var DOMAIN = "dc";  // the failure-domain label sources are grouped by
  var STALE_CHECKS = "the agent's last heartbeat named a full check state this collector " +
      "did not get: these are the last checks it got";
  var lastSources = null;
  function token(value, allowed, fallback) {
    return allowed.indexOf(value) >= 0 ? value : fallback;
  }
  function rank(s) {
    if (s.state === "DOWN") return 0;
    if (s.state === "LATE") return 1;
    if (s.state === "STOPPED") return 4;
    var crit = false, warn = false;
    (s.checks || []).forEach(function (c) {
      if (c.state === "CRITICAL") crit = true; else if (c.state !== "OK") warn = true;
    });
    return crit ? 2 : (warn ? 3 : 5);
  }
  function ago(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function row(s) {
    var state = token(s.state, STATES, "UP");
    var tr = el("tr", "row-" + state);
    tr.appendChild(el("td", "id", s.source_id));
    var st = el("td");
    st.appendChild(el("span", "state s-" + state, s.state));
    if (s.goodbye_reason) st.appendChild(el("span", "reason", s.goodbye_reason));
    if (s.in_maintenance) st.appendChild(el("span", "reason maint", "in maintenance"));
    if (s.ping) {  // a scheduled check: its last ping and message (docs/checks.md)
      st.appendChild(el("span", "reason ping", "last ping: " + s.ping.last_kind +
          (s.ping.last_message ? ": " + String(s.ping.last_message).slice(0, 200) : "")));
    }
    tr.appendChild(st);
    var labels = el("td");
    Object.keys(s.labels || {}).forEach(function (k) {
      labels.appendChild(el("span", "label", k + "=" + s.labels[k]));
    });
    tr.appendChild(labels);
    var seen = el("td", "num", ago(s.last_seen_ago_seconds * 1000) + " ago");
    seen.setAttribute("title", s.last_seen);
    tr.appendChild(seen);
    tr.appendChild(el("td", "num", typeof s.phi === "number" ? s.phi.toFixed(1) : "-"));
    var checks = el("td");
    (s.checks || []).forEach(function (c) {
      var cs = token(c.state, CHECKS, "UNKNOWN");
      var span = el("span", "check c-" + cs);
      var title = cs + ": " + c.output;
      if (c.since) title += "\nsince " + c.since;
      if (c.flapping) title += "\nflapping: its alert is held";
      (c.history || []).forEach(function (h) {
        title += "\n" + h.at + " " + h.from + " -> " + h.to;
      });
      span.setAttribute("title", title);
      span.appendChild(el("b", null, c.name));
      if (c.flapping) span.appendChild(el("span", "out", " (flapping)"));
      if (cs !== "OK" && c.output) span.appendChild(el("span", "out", " " + c.output));
      checks.appendChild(span);
    });
    if (s.checks_stale) {  // kept, not guessed at, until the next full state (docs/agent.md)
      var stale = el("span", "reason checks-stale", "checks stale");
      stale.setAttribute("title", STALE_CHECKS);
      checks.appendChild(stale);
    }
    tr.appendChild(checks);
    return tr;
  }
  function domainOf(s) {
    var v = (s.labels || {})[DOMAIN];
    return typeof v === "string" && v !== "" ? v : "";
  }
  function cmp(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }
  function matches(s, query, filter) {
    if (filter === "notup" && s.state === "UP" && rank(s) === 5) return false;
    if (STATES.indexOf(filter) >= 0 && s.state !== filter) return false;
    if (!query) return true;
    var text = s.source_id;
    Object.keys(s.labels || {}).forEach(function (k) { text += " " + k + "=" + s.labels[k]; });
    return text.toLowerCase().indexOf(query) >= 0;
  }
  // Failure domains, the one with the worst source first; in each, what is not UP first.
  function groups(sources) {
    var by = {};
    sources.forEach(function (s) {
      var d = domainOf(s);
      (by[d] = by[d] || []).push(s);
    });
    var list = Object.keys(by).map(function (d) {
      var members = by[d].slice().sort(function (a, b) {
        return rank(a) - rank(b) || cmp(a.source_id, b.source_id);
      });
      return {name: d, sources: members, worst: rank(members[0])};
    });
    list.sort(function (a, b) { return a.worst - b.worst || cmp(a.name, b.name); });
    return list;
  }
  function groupRow(g) {
    var n = {DOWN: 0, LATE: 0};
    g.sources.forEach(function (s) { if (n[s.state] !== undefined) n[s.state] += 1; });
    var text = (g.name ? DOMAIN + "=" + g.name : "no " + DOMAIN + " label") + " \u00b7 " +
        g.sources.length + " source(s)";
    if (n.DOWN) text += " \u00b7 " + n.DOWN + " DOWN";
    if (n.LATE) text += " \u00b7 " + n.LATE + " LATE";
    var tr = el("tr", "group");
    var th = el("th", null, text);
    th.setAttribute("colspan", "6");
    tr.appendChild(th);
    tr.setAttribute("data-domain", g.name);
    return tr;
  }
  function render(data) {
    lastSources = data;
    var all = data.sources || [];
    var query = (document.getElementById("filter").value || "").trim().toLowerCase();
    var filter = document.getElementById("state-filter").value;
    var counts = {DOWN: 0, LATE: 0, UP: 0, STOPPED: 0};
    STATES.forEach(function (k) { counts[k] = (data.counts || {})[k] || 0; });
    var total = typeof data.total === "number" ? data.total : all.length;
    var shown = all.filter(function (s) { return matches(s, query, filter); });
    var body = el("tbody");
    body.id = "rows";
    groups(shown).forEach(function (g) {
      body.appendChild(groupRow(g));
      g.sources.forEach(function (s) { body.appendChild(row(s)); });
    });
    var old = document.getElementById("rows");
    old.parentNode.replaceChild(body, old);
    STATES.forEach(function (k) { document.getElementById("count-" + k).textContent = counts[k]; });
    document.getElementById("count-total").textContent = total;
    document.getElementById("empty").hidden = total > 0;
    document.getElementById("shown").textContent =
        shown.length === total ? "" : "showing " + shown.length + " of " + total;
    var notUp = all.length - data.upRows;
    document.getElementById("notup-cut").textContent = data.notUpMatched > notUp
        ? "showing the first " + notUp + " of " + data.notUpMatched +
          " sources that are not UP (GET api/v1/sources?state=DOWN lists them all)" : "";
    document.getElementById("updated").textContent = "updated " + data.generated_at;
    document.getElementById("stale").hidden = true;
    document.body.setAttribute("data-rendered", "js");
  }
  // The rows the server rendered (status_page.h): what is not UP, then this page of UP
  // sources (data-after: the ?after= cursor the server took); the counts from api/v1/status.
  var TABLE = document.getElementById("source-table");
  var AFTER = TABLE.getAttribute("data-after");  // the cursor the server used, if any
  function fetchJson(path) {
    return fetch(path, {cache: "no-store"}).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function refresh() {
    Promise.all([
      fetchJson("api/v1/sources?state=DOWN,LATE,STOPPED&limit=" +
                TABLE.getAttribute("data-notup-limit")),
      fetchJson("api/v1/sources?state=UP&limit=" + TABLE.getAttribute("data-up-limit") +
                (AFTER ? "&after=" + encodeURIComponent(AFTER) : "")),
      fetchJson("api/v1/status")
    ]).then(function (r) {
      lastOk = Date.now();
      render({sources: (r[0].sources || []).concat(r[1].sources || []),
              generated_at: r[1].generated_at, counts: r[2].sources.by_state,
              total: r[2].sources.tracked, notUpMatched: r[0].matched || 0,
              upRows: (r[1].sources || []).length});
    }).catch(function (e) {
      var stale = document.getElementById("stale");
      stale.textContent = "STALE: this collector has not answered for " +
          ago(Date.now() - lastOk) + " (" + e.message + "); showing the last data it gave";
      stale.hidden = false;
    });
  }
  // ---- incidents and silences (only when alerting is configured: else the API is 404)
  function getJson(path) {
    return fetch(path, {cache: "no-store"}).then(function (r) {
      if (r.status === 404) return null;
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }
  function operatorToken() {
    var t = document.getElementById("token").value.trim();
    try { if (t) sessionStorage.setItem("firewatch-token", t); } catch (e) { /* private mode */ }
    return t;
  }
  // Every change goes through here: JSON, the pasted operator token as the Authorization
  // header (never in a URL), and the outcome written plainly into `resultId`.
  function act(method, path, body, what, past, resultId, done) {
    var headers = {"Content-Type": "application/json"};
    var t = operatorToken();
    if (t) headers.Authorization = "Bearer " + t;
    var result = document.getElementById(resultId);
    result.className = "";
    result.textContent = what + "\u2026";
    var req = {method: method, headers: headers, cache: "no-store"};
    if (body !== null) req.body = JSON.stringify(body);  // DELETE takes none
    fetch(path, req).then(function (r) {
      return r.text().then(function (text) {
        if (r.ok) {
          result.textContent = past;
        } else {
          var msg = text;
          try { msg = JSON.parse(text).error || text; } catch (e) { /* not JSON */ }
          result.className = "error";
          result.textContent = what + " refused: HTTP " + r.status + ": " + msg.slice(0, 300) +
              (r.status === 401 ? " (paste an operator token above: firewatchctl token create)" : "");
        }
        done(r.ok);
      });
    }).catch(function (e) {
      result.className = "error";
      result.textContent = what + " failed: " + e.message;
    });
  }
  function ack(id) {
    // Who acked: the token's operator.
    act("POST", "api/v1/ack/" + encodeURIComponent(id), {}, "acknowledge " + id,
        "acknowledged " + id, "action-result", refreshIncidents);
  }
  function resolve(id) {
    var comment = document.getElementById("comment").value.trim();
    act("POST", "api/v1/incidents/" + encodeURIComponent(id) + "/resolve",
        comment ? {comment: comment} : {}, "resolve " + id, "resolved " + id, "action-result",
        refreshIncidents);
  }
  var DURATIONS = {"30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400, "8h": 28800, "1d": 86400};
  function addSilence() {
    var source = document.getElementById("silence-source").value.trim();
    var alert = document.getElementById("silence-alert").value;
    var seconds = DURATIONS[document.getElementById("silence-duration").value] || 3600;
    var comment = document.getElementById("comment").value.trim();
    var result = document.getElementById("silence-result");
    if (!source || !comment) {
      result.className = "error";
      result.textContent = "a silence needs a source and a comment (why: a ticket, a maintenance)";
      return;
    }
    var matchers = [{name: "source", value: source, isRegex: false, isEqual: true}];
    if (alert) matchers.push({name: "alertname", value: alert, isRegex: false, isEqual: true});
    var now = Date.now();
    act("POST", "api/v1/silences", {
      matchers: matchers, comment: comment,
      // A start in the past becomes the collector's now; the end follows this clock.
      startsAt: new Date(now - 60000).toISOString(),
      endsAt: new Date(now + seconds * 1000).toISOString()
    }, "silence " + source + (alert ? " " + alert : ""), "silenced " + source, "silence-result",
        refreshSilences);
  }
  function expireSilence(id) {
    act("DELETE", "api/v1/silences/" + encodeURIComponent(id), null, "expire silence " + id,
        "expired silence " + id, "silence-result", refreshSilences);
  }
  function button(cls, text, id, onClick) {
    var b = el("button", cls, text);
    b.setAttribute("type", "button");
    b.setAttribute("data-id", id);
    b.addEventListener("click", onClick);
    return b;
  }
  function incidentRow(inc, now) {
    var state = token(inc.state, ["open", "acked", "resolved"], "open");
    var tr = el("tr", "incident");
    tr.setAttribute("data-incident", inc.id);
    tr.appendChild(el("td", "id", inc.id));
    var st = el("td");
    st.appendChild(el("span", "i-" + state, state));
    if (inc.acked_by) st.appendChild(el("span", "reason", "acked by " + inc.acked_by));
    if (inc.resolved_by) {
      st.appendChild(el("span", "reason", "resolved by " + inc.resolved_by +
                                          (inc.resolve_comment ? ": " + inc.resolve_comment : "")));
    }
    if (inc.reopened) st.appendChild(el("span", "reason", "reopened " + inc.reopened + "\u00d7 (flapping)"));
    tr.appendChild(st);
    var what = [];
    (inc.alerts || []).forEach(function (a) {
      var l = a.labels || {};
      var name = l.source || l.collector || l.alertname || "alert";
      what.push(name + (a.status === "resolved" ? " (recovered)" : ""));
    });
    tr.appendChild(el("td", null, what.join(", ")));
    tr.appendChild(el("td", "num", ago(now - inc.started_at_ms) + " ago"));
    var step = -1, who = {};
    (inc.paged || []).forEach(function (p) {
      step = Math.max(step, p.step);
      (who[p.contact] = who[p.contact] || []).push(p.channel);
    });
    tr.appendChild(el("td", "num", step < 0 ? "-" : String(step + 1)));
    tr.appendChild(el("td", null, Object.keys(who).map(function (c) {
      return c + " (" + who[c].join(", ") + ")";
    }).join("; ") || "nobody yet"));
    var actions = el("td", "actions");
    if (state === "open") {
      actions.appendChild(button("ack", "ack", inc.id, function () { ack(inc.id); }));
    }
    if (state !== "resolved") {
      actions.appendChild(button("resolve", "resolve", inc.id, function () { resolve(inc.id); }));
      var src = "";
      (inc.alerts || []).forEach(function (a) { if (!src && a.labels) src = a.labels.source || ""; });
      if (src) {
        actions.appendChild(button("silence", "silence\u2026", inc.id, function () {
          document.getElementById("silence-source").value = src;
          document.getElementById("silence-source").focus();
        }));
      }
    }
    tr.appendChild(actions);
    return tr;
  }
  function refreshIncidents() {
    getJson("api/v1/incidents").then(function (data) {
      var section = document.getElementById("incidents");
      if (data === null) { section.hidden = true; return; }
      section.hidden = false;
      var now = Date.now();
      var list = (data.incidents || []).filter(function (i) {
        return i.state !== "resolved" || now - (i.resolved_at_ms || 0) < 3600 * 1000;
      });
      var body = el("tbody");
      body.id = "incident-rows";
      list.forEach(function (i) { body.appendChild(incidentRow(i, now)); });
      var old = document.getElementById("incident-rows");
      old.parentNode.replaceChild(body, old);
      document.getElementById("no-incidents").hidden = list.length > 0;
    }).catch(function () { /* the sources refresh reports a dead collector */ });
  }
  // Matchers as in Alertmanager: name="v", name!="v", name=~"re" (without quotes).
  function matcherText(matchers) {
    return (matchers || []).map(function (x) {
      return x.name + (x.isEqual === false ? "!" : "") + (x.isRegex ? "=~" : "=") + x.value;
    }).join(", ");
  }
  function refreshSilences() {
    getJson("api/v1/silences").then(function (data) {
      var section = document.getElementById("silences");
      if (data === null) { section.hidden = true; return; }
      var now = Date.now();
      var active = (data || []).filter(function (s) {  // active and pending
        return Date.parse(s.endsAt) > now;
      });
      section.hidden = false;
      var list = el("ul");
      list.id = "silence-list";
      active.forEach(function (s) {
        var m = matcherText(s.matchers);
        var li = el("li", "silence", (Date.parse(s.startsAt) > now ? "(from " + s.startsAt + ") " : "") +
                    "{" + m + "} until " + s.endsAt + " by " + s.createdBy +
                    (s.comment ? ": " + s.comment : "") + " ");
        li.setAttribute("data-silence", s.id);
        li.appendChild(button("expire", "expire", s.id, function () { expireSilence(s.id); }));
        list.appendChild(li);
      });
      var old = document.getElementById("silence-list");
      old.parentNode.replaceChild(list, old);
      document.getElementById("no-silences").hidden = active.length > 0;
    }).catch(function () {});
  }
  // Maintenance windows: active, pending and between occurrences (expired ones hidden).
  function refreshMaintenance() {
    getJson("api/v1/maintenance").then(function (data) {
      var section = document.getElementById("maintenance");
      if (data === null) { section.hidden = true; return; }
      var shown = (data || []).filter(function (w) {
        return w.status && w.status.state !== "expired";
      });
      section.hidden = false;
      var list = el("ul");
      list.id = "maintenance-list";
      shown.forEach(function (w) {
        var m = matcherText(w.matchers);
        var occ = w.status.occurrence;
        var when = occ ? (w.status.state === "active" ? " until " + occ.endsAt
                                                      : " next " + occ.startsAt) : "";
        var rec = w.recurrence ? " (" + w.recurrence.cron + " " + w.recurrence.timeZone + ", " +
                  w.recurrence.durationSeconds + "s each)" : "";
        var li = el("li", "maint", w.status.state + ": {" + m + "}" + when + rec + " by " +
                    w.createdBy + (w.comment ? ": " + w.comment : "") + " ");
        li.setAttribute("data-maintenance", w.id);
        li.appendChild(button("expire", "expire", w.id, function () {
          act("DELETE", "api/v1/maintenance/" + encodeURIComponent(w.id), null,
              "expire maintenance " + w.id, "expired maintenance " + w.id, "silence-result",
              refreshMaintenance);
        }));
        list.appendChild(li);
      });
      var old = document.getElementById("maintenance-list");
      old.parentNode.replaceChild(list, old);
      document.getElementById("no-maintenance").hidden = shown.length > 0;
    }).catch(function () {});
  }
  try {
    var saved = sessionStorage.getItem("firewatch-token");
    if (saved) document.getElementById("token").value = saved;
  } catch (e) { /* private mode */ }
  document.getElementById("silence-add").addEventListener("click", addSilence);
  ["filter", "state-filter"].forEach(function (id) {
    document.getElementById(id).addEventListener("input", function () {
      if (lastSources) render(lastSources);
    });
  });
  refresh();
  refreshIncidents();
  refreshSilences();
  setInterval(refresh, 5000);
  setInterval(refreshIncidents, 5000);
  setInterval(refreshSilences, 15000);
  refreshMaintenance();
  setInterval(refreshMaintenance, 15000);
})();
)js";

// The failure-domain label the sources table is grouped by (the script's DOMAIN).
constexpr const char* kDomainLabel = "dc";
// The title of a row's "checks stale" mark; the script's STALE_CHECKS says the same.
constexpr std::string_view kStaleChecksTitle =
    "the agent's last heartbeat named a full check state this collector did not get: these "
    "are the last checks it got";

constexpr SourceState kCountOrder[] = {SourceState::kDown, SourceState::kLate, SourceState::kUp,
                                       SourceState::kStopped};

std::string_view CheckName(protocol::CheckState s) { return protocol::CheckStateName(s); }

std::string PhiText(double phi) {
  if (!std::isfinite(phi)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", phi);
  return buf;
}

const CheckRecord* RecordOf(const SourceSnapshot& s, const std::string& name) {
  if (!s.check_book) return nullptr;
  for (const auto& r : *s.check_book) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

bool IsFlapping(const SourceSnapshot& s, const std::string& name) {
  const CheckRecord* r = RecordOf(s, name);
  return r != nullptr && r->flapping;
}

// "CRITICAL: <output>", since when, and its last changes (tracker/check_book.h); the JS
// row() builds the same from the API.
std::string CheckTitle(const SourceSnapshot& s, const protocol::CheckResult& c) {
  std::string t = std::string(CheckName(c.state)) + ": " + c.output;
  const CheckRecord* r = RecordOf(s, c.name);
  if (r == nullptr) return t;
  if (r->since_ms > 0) t += "\nsince " + text::FormatRfc3339(r->since_ms);
  if (r->flapping) t += "\nflapping: its alert is held";
  size_t shown = 0;
  for (auto it = r->history.rbegin(); it != r->history.rend() && shown < 5; ++it, ++shown) {
    t += "\n" + text::FormatRfc3339(it->at_ms) + " " + std::string(CheckName(it->from)) + " -> " +
         std::string(CheckName(it->to));
  }
  return t;
}

void RenderRow(std::string& out, const SourceSnapshot& s, int64_t now_ms) {
  const std::string state(SourceStateName(s.state));
  out += "<tr class=\"row-" + state + "\"><td class=\"id\">" + HtmlEscape(s.source_id) + "</td>";
  out += "<td><span class=\"state s-" + state + "\">" + state + "</span>";
  if (!s.goodbye_reason.empty()) {
    out += "<span class=\"reason\">" + HtmlEscape(s.goodbye_reason) + "</span>";
  }
  if (s.ping) {  // a scheduled check: its last ping and message (docs/checks.md)
    std::string text = "last ping: " + s.ping->last_kind;
    if (!s.ping->last_message.empty()) text += ": " + s.ping->last_message.substr(0, 200);
    out += "<span class=\"reason ping\">" + HtmlEscape(text) + "</span>";
  }
  out += "</td><td>";
  for (const auto& [k, v] : s.labels) {
    out += "<span class=\"label\">" + HtmlEscape(k) + "=" + HtmlEscape(v) + "</span>";
  }
  out += "</td><td class=\"num\" title=\"" + text::FormatRfc3339(s.last_seen_ms) + "\">" +
         FormatAgo(now_ms - s.last_seen_ms) + " ago</td>";
  out += "<td class=\"num\">" + PhiText(s.phi) + "</td><td>";
  for (const auto& c : s.checks) {
    const std::string cs(CheckName(c.state));
    out += "<span class=\"check c-" + cs + "\" title=\"" + HtmlEscape(CheckTitle(s, c)) +
           "\"><b>" + HtmlEscape(c.name) + "</b>";
    if (IsFlapping(s, c.name)) out += "<span class=\"out\"> (flapping)</span>";
    if (c.state != protocol::CheckState::kOk && !c.output.empty()) {
      out += "<span class=\"out\"> " + HtmlEscape(c.output) + "</span>";
    }
    out += "</span>";
  }
  if (s.checks_stale) {  // kept, not guessed at, until the next full state (docs/agent.md)
    out += "<span class=\"reason checks-stale\" title=\"" + HtmlEscape(kStaleChecksTitle) +
           "\">checks stale</span>";
  }
  out += "</td></tr>\n";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\0': out += "\xEF\xBF\xBD"; break;  // U+FFFD; NUL is not allowed in HTML text
      default: out.push_back(c);
    }
  }
  return out;
}

int SeverityRank(const SourceSnapshot& s) {
  switch (s.state) {
    case SourceState::kDown: return 0;
    case SourceState::kLate: return 1;
    case SourceState::kStopped: return 4;
    case SourceState::kUp: break;
  }
  bool crit = false;
  bool warn = false;
  for (const auto& c : s.checks) {
    if (c.state == protocol::CheckState::kCritical) {
      crit = true;
    } else if (c.state != protocol::CheckState::kOk) {
      warn = true;
    }
  }
  return crit ? 2 : (warn ? 3 : 5);
}

std::string FormatAgo(int64_t ms) {
  const int64_t s = std::max<int64_t>(0, ms / 1000);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string((s % 3600) / 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string((s % 86400) / 3600) + "h";
}

namespace {
void RenderClusterPanel(std::string& out, const ClusterPanel& c) {
  out += "<section id=\"cluster\"><h2>collectors</h2>";
  if (c.isolated) {
    out += "<p class=\"s-DOWN\" id=\"isolated\"><b>ISOLATED:</b> this collector reaches no peer "
           "and does not hear most of its sources; per-host pages are held.</p>";
  } else if (c.alone) {
    out += "<p class=\"s-LATE\" id=\"alone\"><b>ALONE:</b> this collector reaches no peer.</p>";
  }
  out += "<table><thead><tr><th>collector</th><th>state</th><th class=\"num\">last sync</th>"
         "<th>config</th><th class=\"num\">cannot hear</th></tr></thead><tbody>";
  for (const auto& r : c.collectors) {
    const std::string state = r.state == "up" ? "UP" : r.state == "down" ? "DOWN" : "LATE";
    out += "<tr class=\"peer\" data-peer=\"" + HtmlEscape(r.id) + "\"><td>" + HtmlEscape(r.id) +
           (r.self ? " (this one)" : "") + "</td><td class=\"s-" + state + "\">" +
           HtmlEscape(r.state) +
           (r.unreachable_from.empty()
                ? ""
                : " <span class=\"path-warning\">(path warning: not reached from " +
                      HtmlEscape(r.unreachable_from) + ")</span>") +
           "</td><td class=\"num\">" +
           (r.self ? "" : r.last_sync_age_ms < 0 ? "never" : FormatAgo(r.last_sync_age_ms) + " ago") +
           "</td><td" + (r.config_matches ? ">same" : " class=\"s-DOWN config-mismatch\">DIFFERENT") +
           "</td><td class=\"num\">" + std::to_string(r.unheard_sources) + "</td></tr>";
  }
  out += "</tbody></table>";
  if (c.path_warnings_total > 0) {
    out += "<p id=\"path-warnings\">" + std::to_string(c.path_warnings_total) +
           " path warning(s): heard by some collectors, not by others.</p><ul>";
    for (const auto& [source, who] : c.path_warnings) {
      out += "<li>" + HtmlEscape(source) + ": not heard by " + HtmlEscape(who) + "</li>";
    }
    out += "</ul>";
  }
  out += "</section>\n";
}
}  // namespace

std::string RenderStatusPage(const StatusPageModel& model, std::string_view nonce) {
  std::vector<const SourceSnapshot*> rows;
  rows.reserve(model.sources.size());
  StatusPageModel::Counts counted;
  for (const auto& s : model.sources) {
    rows.push_back(&s);
    counted.by_state[static_cast<int>(s.state)]++;
    ++counted.total;
  }
  const StatusPageModel::Counts& counts = model.counts ? *model.counts : counted;
  // Grouped by failure domain (the dc label), the domain with the worst source first; in
  // each, what is not UP first. The script groups the same way.
  auto domain_of = [](const SourceSnapshot& s) -> std::string {
    for (const auto& [k, v] : s.labels) {
      if (k == kDomainLabel) return v;
    }
    return "";
  };
  std::map<std::string, int> worst;  // domain -> best (lowest) rank in it
  struct Tally {
    size_t members = 0, down = 0, late = 0;
  };
  std::map<std::string, Tally> tally;  // domain -> its rows (the group header)
  for (const SourceSnapshot* s : rows) {
    const std::string d = domain_of(*s);
    auto [it, inserted] = worst.emplace(d, SeverityRank(*s));
    if (!inserted) it->second = std::min(it->second, SeverityRank(*s));
    Tally& t = tally[d];
    ++t.members;
    t.down += s->state == SourceState::kDown;
    t.late += s->state == SourceState::kLate;
  }
  std::sort(rows.begin(), rows.end(), [&](const SourceSnapshot* a, const SourceSnapshot* b) {
    const std::string da = domain_of(*a), db = domain_of(*b);
    if (da != db) {
      const int wa = worst[da], wb = worst[db];
      return wa != wb ? wa < wb : da < db;
    }
    int ra = SeverityRank(*a);
    int rb = SeverityRank(*b);
    return ra != rb ? ra < rb : a->source_id < b->source_id;
  });

  const std::string id = HtmlEscape(model.collector_id);
  const std::string n = HtmlEscape(nonce);
  std::string out;
  out.reserve(4096 + rows.size() * 400);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
         "<title>firewatch \xC2\xB7 " + id + "</title>\n<style nonce=\"" + n + "\">";
  out += kStyle;
  out += "</style></head>\n<body data-rendered=\"server\">\n<header><h1>firewatch collector "
         "<span id=\"collector\">" + id + "</span></h1><span class=\"meta\">version " +
         HtmlEscape(model.version) + " \xC2\xB7 <span id=\"updated\">rendered " +
         text::FormatRfc3339(model.now_ms) +
         "</span></span></header>\n<div id=\"stale\" class=\"banner\" hidden></div>\n"
         "<section class=\"counts\">";
  for (SourceState st : kCountOrder) {
    const std::string name(SourceStateName(st));
    out += "<div class=\"count s-" + name + "\"><b id=\"count-" + name + "\">" +
           std::to_string(counts.by_state[static_cast<int>(st)]) + "</b>" + name + "</div>";
  }
  out += "<div class=\"count\"><b id=\"count-total\">" + std::to_string(counts.total) +
         "</b>total</div></section>\n";
  if (model.cluster && model.cluster->isolated) {
    out += "<div class=\"banner\" id=\"isolated-banner\">ISOLATED: this collector reaches no "
           "peer and does not hear most of its sources. It suspects its own network first; "
           "per-host pages are held. Check the other collectors' status pages.</div>\n";
  }
  // Limits refusing new sources and the like (api.h LimitWarnings): one banner each.
  for (const auto& w : model.warnings) {
    out += "<div class=\"banner warning\">WARNING: " + HtmlEscape(w) + "</div>\n";
  }
  out +=
      "<section id=\"incidents\" hidden><h2>incidents</h2>"
      "<div class=\"tools\"><input id=\"token\" type=\"password\" autocomplete=\"off\" "
      "placeholder=\"operator token (to ack, resolve, silence)\" "
      "aria-label=\"operator token\"> <input id=\"comment\" type=\"text\" maxlength=\"1024\" "
      "placeholder=\"comment (resolve, silence)\" aria-label=\"comment\"> "
      "<span id=\"action-result\" role=\"status\"></span></div>"
      "<table><thead><tr><th>incident</th><th>state</th><th>what</th>"
      "<th class=\"num\">started</th><th class=\"num\">step</th><th>paged</th><th></th>"
      "</tr></thead><tbody id=\"incident-rows\"></tbody></table>"
      "<p id=\"no-incidents\">No open incidents.</p></section>\n"
      "<section id=\"silences\" hidden><h2>silences</h2><ul id=\"silence-list\"></ul>"
      "<p id=\"no-silences\">No active silences.</p>"
      "<div class=\"tools\"><input id=\"silence-source\" type=\"text\" "
      "placeholder=\"source id\" aria-label=\"source to silence\"> "
      "<select id=\"silence-alert\" aria-label=\"alert to silence\">"
      "<option value=\"\">every alert</option><option value=\"SourceDown\">SourceDown</option>"
      "<option value=\"CheckFailing\">CheckFailing</option></select> "
      "<select id=\"silence-duration\" aria-label=\"for how long\"><option>30m</option>"
      "<option selected>1h</option><option>2h</option><option>4h</option><option>8h</option>"
      "<option>1d</option></select> <button id=\"silence-add\" type=\"button\">silence</button> "
      "<span id=\"silence-result\" role=\"status\"></span></div></section>\n"
      "<section id=\"maintenance\" hidden><h2>maintenance</h2><ul id=\"maintenance-list\"></ul>"
      "<p id=\"no-maintenance\">No current or upcoming maintenance (firewatchctl "
      "maintenance add).</p></section>\n";
  if (model.cluster) RenderClusterPanel(out, *model.cluster);
  out += "<section id=\"sources\"><h2>sources</h2><div class=\"tools\">"
         "<input id=\"filter\" type=\"search\" placeholder=\"search id or label=value\" "
         "aria-label=\"search sources\"> <select id=\"state-filter\" aria-label=\"state\">"
         "<option value=\"all\">all states</option><option value=\"notup\">not healthy</option>"
         "<option value=\"DOWN\">DOWN</option><option value=\"LATE\">LATE</option>"
         "<option value=\"UP\">UP</option><option value=\"STOPPED\">STOPPED</option></select> "
         "<span id=\"shown\"></span></div>\n";
  out += "<table id=\"source-table\" data-notup-limit=\"" +
         std::to_string(kStatusPageNotUpLimit) + "\" data-up-limit=\"" +
         std::to_string(kStatusPageUpLimit) + "\" data-after=\"" + HtmlEscape(model.up_after) +
         "\"><thead><tr><th>source</th><th>state</th><th>labels</th>"
         "<th class=\"num\">last seen</th><th class=\"num\">phi</th><th>checks</th></tr></thead>\n"
         "<tbody id=\"rows\">\n";
  std::optional<std::string> current_domain;
  for (const SourceSnapshot* s : rows) {
    const std::string d = domain_of(*s);
    if (!current_domain || *current_domain != d) {
      current_domain = d;
      const auto [members, down, late] = tally[d];
      out += "<tr class=\"group\" data-domain=\"" + HtmlEscape(d) + "\"><th colspan=\"6\">" +
             (d.empty() ? std::string("no ") + kDomainLabel + " label"
                        : std::string(kDomainLabel) + "=" + HtmlEscape(d)) +
             " \xC2\xB7 " + std::to_string(members) + " source(s)" +
             (down ? " \xC2\xB7 " + std::to_string(down) + " DOWN" : "") +
             (late ? " \xC2\xB7 " + std::to_string(late) + " LATE" : "") + "</th></tr>\n";
    }
    RenderRow(out, *s, model.now_ms);
  }
  out += "</tbody></table>";
  // Paging: what is not UP comes first (all of it up to the cap), UP sources a page
  // at a time.
  out += "<p id=\"pager\"><span id=\"notup-cut\">";
  size_t not_up_rows = 0;
  for (const SourceSnapshot* s : rows) not_up_rows += s->state != SourceState::kUp;
  if (model.not_up_matched > not_up_rows) {
    out += "showing the first " + std::to_string(not_up_rows) + " of " +
           std::to_string(model.not_up_matched) +
           " sources that are not UP (GET api/v1/sources?state=DOWN lists them all)";
  }
  out += "</span>";
  if (!model.up_after.empty()) out += " <a id=\"up-first\" href=\"?\">first UP sources</a>";
  if (!model.up_next.empty()) {
    out += " <a id=\"up-next\" href=\"?after=" + HtmlEscape(text::UrlEncode(model.up_next)) +
           "\">next " + std::to_string(kStatusPageUpLimit) + " UP sources</a>";
  }
  out += "</p></section>\n<p id=\"empty\"";
  if (counts.total > 0) out += " hidden";
  out += ">No sources have been heard yet.</p>\n"
         "<noscript><p>Automatic refresh needs JavaScript; reload to update.</p></noscript>\n"
         "<script nonce=\"" + n + "\">";
  out += kScript;
  out += "</script>\n</body></html>\n";
  return out;
}

std::string StatusPageCsp(std::string_view nonce) {
  const std::string n(nonce);
  return "default-src 'none'; style-src 'nonce-" + n + "'; script-src 'nonce-" + n +
         "'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

std::string NewNonce() {
  return RandomHex(16);
}

}  // namespace firewatch::collector
