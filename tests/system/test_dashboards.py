"""dashboards/ (issue #11; docs/dashboards.md): the Grafana dashboards and the Prometheus
rules for firewatch itself, checked against real collectors and a real Prometheus.

- Every dashboard is current Grafana JSON: schemaVersion 39, a `datasource` variable that
  every panel, target and variable query uses, no `__inputs`; the provisioning files
  point at them.
- `promtool check rules` and `promtool test rules` pass.
- A scenario that exercises every metric the dashboards and rules read: a cluster of two
  collectors (a third member never starts: its site burned), agents of which some die, one
  stops, one is heard by only one collector, a page that fails (SMS answers 503, then 400)
  and one that is delivered, a SQLite write lock that makes a collector drop a batch, a
  standalone-ish collector cut off from its peer and its sources (isolated) whose socket
  overflows while it is stopped (kernel drops, rejected frames), and a forged sync request.
  A real Prometheus scrapes the collectors every second with the rules loaded; then every
  query of every panel (template variables resolved through Prometheus the way Grafana
  does) and every rule expression is evaluated through the HTTP API over the scenario:
  each must parse and return data. A metric renamed in the collector breaks this test.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.parse

import yaml

from fwcluster import (FAST_CLUSTER, FAST_DETECTION, ClusterAgent, ClusterCollector, Member,
                       firing_sms, wait_source_everywhere, write_cluster,
                       write_key)
from fwtest import (SOURCE_DIR, encode_frame, free_port, http_get, http_post, metric_value,
                    send_udp, wait_for)
from paging import SmtpServer

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
DASHBOARDS = os.path.join(SOURCE_DIR, "dashboards")
GRAFANA_DIR = os.path.join(DASHBOARDS, "grafana")
RULES_DIR = os.path.join(DASHBOARDS, "rules")
RULES = os.path.join(RULES_DIR, "firewatch.rules.yml")
RULES_TEST = os.path.join(RULES_DIR, "firewatch.rules.test.yml")
DS = {"type": "prometheus", "uid": "${datasource}"}

# Rule expressions that return no data in this scenario, and why. Keep it short: every
# other expression must return data at some point of the scenario. These are still
# evaluated (they must parse, and every metric they name must have series), promtool's
# unit tests make each of them fire, and one that starts returning data must leave the list.
NO_DATA_RULES = {
    "FirewatchCollectorsAbsent": "fires only when no collector at all is up; every other "
                                 "query needs live collectors",
    "FirewatchPeerPathWarning": "needs a partial partition (A reaches C, B does not), which "
                                "loopback cannot make; tests/system/test_cluster_netns.py "
                                "covers the metric",
    "FirewatchPageDeliverySlow": "needs first pages that took over 5 minutes",
}

# Grafana's built-in interval variables, as the test expands them (the scenario is a few
# minutes long and scraped every second).
BUILTINS = {"__rate_interval": "1m", "__interval": "1m"}


def dashboards():
    out = {}
    for name in sorted(os.listdir(GRAFANA_DIR)):
        if name.endswith(".json"):
            with open(os.path.join(GRAFANA_DIR, name)) as f:
                out[name] = json.load(f)
    return out


def query_panels(board):
    """Every panel that queries (rows nested or not), in order."""
    for p in board["panels"]:
        if p.get("type") == "row":
            yield from (q for q in p.get("panels", []) if q.get("targets"))
        elif p.get("targets"):
            yield p


def expand(text, values):
    """Grafana's $var / ${var} interpolation with one concrete value per variable."""
    def sub(m):
        name = m.group(1) or m.group(2)
        if name not in values:
            raise AssertionError(f"undefined template variable ${name} in {text!r}")
        return values[name]
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)


LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$", re.S)


def variable_query(var):
    q = var["query"]
    return q["query"] if isinstance(q, dict) else q


# --------------------------------------------------------------------------- static checks

def test_dashboards_are_current_grafana_json_on_a_datasource_variable():
    boards = dashboards()
    assert set(boards) == {"firewatch-fleet.json", "firewatch-cluster.json",
                           "firewatch-paging.json", "firewatch-source.json"}, sorted(boards)
    uids = set()
    for name, b in boards.items():
        where = name
        assert "__inputs" not in b and "__requires" not in b, where
        assert b["schemaVersion"] == 39, where
        assert b["id"] is None and b["uid"] and b["uid"] not in uids, where
        uids.add(b["uid"])
        assert b["title"].startswith("firewatch / "), where
        assert "firewatch" in b["tags"], where
        variables = {v["name"]: v for v in b["templating"]["list"]}
        ds = variables.get("datasource")
        assert ds and ds["type"] == "datasource" and ds["query"] == "prometheus", where
        names = set(variables) | set(BUILTINS)
        for v in b["templating"]["list"]:
            if v["type"] == "query":
                assert v["datasource"] == DS, (where, v["name"])
                assert LABEL_VALUES.match(variable_query(v)), (where, v["name"])
                for ref in re.findall(r"\$\{?(\w+)", variable_query(v)):
                    assert ref in names, (where, v["name"], ref)
        ids = set()
        for p in b["panels"]:
            assert p["id"] not in ids, (where, p["id"])
            ids.add(p["id"])
            pos = p["gridPos"]
            assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, (where, p["title"])
            if p["type"] == "row":
                continue
            assert p["datasource"] == DS, (where, p["title"])
            assert p["targets"], (where, p["title"])
            assert p.get("description"), (where, p["title"])
            refs = [t["refId"] for t in p["targets"]]
            assert len(refs) == len(set(refs)), (where, p["title"])
            for t in p["targets"]:
                assert t["datasource"] == DS, (where, p["title"], t["refId"])
                assert "datasource" not in t["expr"], (where, p["title"])
                for ref in re.findall(r"\$\{?(\w+)", t["expr"]):
                    assert ref in names, (where, p["title"], ref)


def test_provisioning_points_at_the_dashboards_and_a_prometheus_datasource():
    prov = os.path.join(DASHBOARDS, "provisioning")
    with open(os.path.join(prov, "dashboards", "firewatch.yml")) as f:
        dash = yaml.safe_load(f)
    assert dash["apiVersion"] == 1
    [provider] = dash["providers"]
    assert provider["type"] == "file" and provider["options"]["path"], provider
    # The documented install copies dashboards/grafana/*.json to that path.
    assert provider["options"]["path"].rstrip("/").endswith("firewatch"), provider
    with open(os.path.join(prov, "datasources", "firewatch-prometheus.yml")) as f:
        ds = yaml.safe_load(f)
    assert ds["apiVersion"] == 1
    [source] = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"].startswith("http"), source
    with open(os.path.join(SOURCE_DIR, "docs", "dashboards.md")) as f:
        doc = f.read()
    for name in dashboards():
        assert name in doc, f"docs/dashboards.md does not mention {name}"
    with open(RULES) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                anchor = "#" + rule["alert"].lower()
                assert anchor in rule["annotations"]["runbook"], rule["alert"]
                assert f"### {rule['alert']}" in doc, f"docs/dashboards.md lacks {rule['alert']}"


def test_promtool_checks_and_unit_tests_the_rules():
    r = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    r = subprocess.run([PROMTOOL, "test", "rules", os.path.basename(RULES_TEST)],
                       cwd=RULES_DIR, capture_output=True, timeout=120)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and "SUCCESS" in out, out
    # Every alert of the rules file is made to fire by the unit tests.
    with open(RULES) as f:
        alerts = {r["alert"] for g in yaml.safe_load(f)["groups"] for r in g["rules"]}
    with open(RULES_TEST) as f:
        fired = {c["alertname"] for t in yaml.safe_load(f)["tests"]
                 for c in t["alert_rule_test"] if c["exp_alerts"]}
    assert alerts == fired, sorted(alerts ^ fired)


# --------------------------------------------------------------------------- Prometheus

class Prometheus:
    def __init__(self, harness, targets):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(harness.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: firewatch
    static_configs:
      - targets: {json.dumps(targets)}
""")
        self.proc = harness.start(
            [PROMETHEUS, f"--config.file={cfg}",
             f"--storage.tsdb.path={os.path.join(harness.dir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            "prometheus", cwd=harness.dir)
        wait_for(lambda: http_get(self.url + "/-/ready", timeout=1)[0] == 200, 60, interval=0.25,
                 what="Prometheus to be ready")

    def api(self, path, **params):
        """(status, data or error) of a GET /api/v1/<path>; lists in params repeat the key."""
        status, body = http_get(f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params, doseq=True),
                                timeout=10)
        doc = json.loads(body)
        if doc.get("status") != "success":
            return False, f"HTTP {status}: {doc.get('errorType')}: {doc.get('error')}"
        return True, doc["data"]

    def query(self, expr, at=None):
        ok, data = self.api("query", query=expr, **({"time": f"{at:.3f}"} if at else {}))
        assert ok, f"{expr}: {data}"
        return data["result"]

    def query_range(self, expr, start, end, step=1):
        """Evaluated every `step` seconds back from `end` (so `end` itself is a point), not
        before `start`."""
        start = end - step * int((end - start) // step)
        return self.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=step)

    def scraped_after(self, t, count):
        """Whether `count` targets are up with a scrape that started after Unix time t."""
        # timestamp() of a selector, not of `up == 1`: of a computed vector it gives the
        # evaluation time.
        up = self.query('timestamp(up{job="firewatch"}) and up{job="firewatch"} == 1')
        return len(up) == count and all(float(s["value"][1]) > t for s in up)


def has_numbers(data):
    """True when a query result (instant or range) holds at least one sample that is a
    number (NaN is what 0/0 and a quantile of nothing give: no data to show)."""
    for series in data["result"] if isinstance(data, dict) else data:
        samples = series.get("values") or ([series["value"]] if "value" in series else [])
        if any(v[1] not in ("NaN", "+Inf", "-Inf") for v in samples):
            return True
    return False


# --------------------------------------------------------------------------- the scenario

def metric_sum(collectors, name, labels=None):
    """The sum of one series over several collectors' /metrics (absent = 0)."""
    total = 0.0
    for c in collectors:
        v = metric_value(c.metrics(), name, labels)
        total += v or 0.0
    return total


def lonely_collector(harness, name, dc, ghost):
    """A collector in a cluster of its own whose other member never starts: it hears no
    peer (alone), and once its sources die it is isolated. Local paging only; a 1 MiB
    heartbeat socket buffer (a burst overflows it); room for one source (max_sources: 1,
    so a second is refused as source_limit), and a key bound to "far-*" sources
    (used for another source: key_not_allowed)."""
    me = Member(name, dc=dc)
    key = write_key(os.path.join(harness.dir, name + "-cluster.key"))
    far_key = write_key(os.path.join(harness.dir, name + "-far.key"))
    data_dir = os.path.join(harness.dir, name + "-data")
    path = os.path.join(harness.dir, name + ".yml")
    lines = ["collector:", f"  id: {name}", f"  data_dir: {data_dir}",
             f"  http_listen: 127.0.0.1:{me.http_port}", f"  udp_listen: 127.0.0.1:{me.udp_port}",
             "  udp_buffer_mib: 1", "  max_sources: 1",
             "keys:", "  - id: fleet", f"    file: {harness.key_path}",
             "  - id: far", f"    file: {far_key}", '    sources: ["far-*"]',
             "cluster:", f"  key_file: {key}", "  members:"]
    for m in (me, ghost):
        lines += [f"    - id: {m.id}", f"      url: http://{m.host}:{m.http_port}",
                  f"      labels: {{dc: {m.dc}}}"]
    lines += [f"  {k}: {v}" for k, v in FAST_CLUSTER.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n" + FAST_DETECTION)
    return ClusterCollector(harness, me, path, data_dir)


def test_every_dashboard_query_and_rule_expression_returns_data(harness, twilio):
    smtp = SmtpServer(harness).start()
    # Cluster: a (dc1) and b (dc2) run; g (dc3) never starts (its site burned). b runs a
    # slightly different configuration (config digest mismatch).
    members = [Member("a", dc="dc1"), Member("b", dc="dc2"), Member("g", dc="dc3")]

    def tweak(member_id, text):
        if member_id != "b":
            return text
        changed = text.replace("Check the host's power and network.",
                               "Check the host's power, network and PDU.")
        assert changed != text, "fwcluster.shared_config changed: make b's config differ again"
        return changed
    a, b, _g = write_cluster(harness, members, f"127.0.0.1:{smtp.port}",
                             f"127.0.0.1:{twilio.port}", tweak=tweak)
    # b writes what heartbeats change every second (not every 5 s), so that a blocked
    # store queues up batches within this test's patience (FirewatchStoreQueueBacklog).
    with open(b.config_path) as f:
        b_text = f.read()
    with open(b.config_path, "w") as f:
        f.write(b_text.replace("collector:\n", "collector:\n  last_seen_every: 1s\n", 1))
    # c: a cluster of its own whose other member (h) never starts.
    c = lonely_collector(harness, "c", "dc4", Member("h", dc="dc5"))
    for col in (a, b, c):
        col.start()
    # g is a scrape target too: Prometheus sees it down (up == 0), like the peers do.
    targets = [f"127.0.0.1:{m.http_port}" for m in members] + [f"127.0.0.1:{c.http_port}"]
    prom = Prometheus(harness, targets)
    # Prometheus starts scraping a few seconds after it is ready: the scenario's window
    # opens with a scrape of every live collector.
    t_prom = time.time()
    wait_for(lambda: prom.scraped_after(t_prom, 3), 30, interval=0.25,
             what="Prometheus to scrape a, b and c")
    t_start = time.time()

    agents = {}
    for source, dc in (("web-1", "dc1"), ("web-2", "dc2"), ("db-1", "dc1"), ("db-2", "dc2"),
                       ("edge-1", "dc2"), ("stop-1", "dc1")):
        agents[source] = ClusterAgent(harness, source, [a, b], dc).start()
    agents["far-1"] = ClusterAgent(harness, "far-1", [c], "dc4").start()
    wait_for(lambda: a.peer_states().get("b") == "up" and b.peer_states().get("a") == "up", 20,
             interval=0.25, what="a and b to see each other up")
    wait_source_everywhere([a, b], ["web-1", "web-2", "db-1", "db-2", "edge-1", "stop-1"],
                           timeout=20)
    c.wait_state("far-1", "UP", timeout=20)

    # c is full (max_sources: 1, far-1): a new source is refused (source_limit); c's key
    # for "far-*" hosts used for another host is refused (key_not_allowed).
    boot = os.urandom(16)
    with open(os.path.join(harness.dir, "c-far.key")) as f:  # lonely_collector's
        far_key = bytes.fromhex(f.read().strip())
    for seq, (key, key_id, source, reason) in enumerate(
            [(harness.key, "fleet", "intruder-1", "source_limit"),
             (far_key, "far", "web-1", "key_not_allowed")], start=1):
        status, body = http_post(c.url + "/api/v1/heartbeat",
                                 encode_frame(key, key_id, source, boot, seq=seq))
        assert status == 400 and json.loads(body)["reason"] == reason, (status, body)

    # One outage whose SMS fails: 503 (retryable), then 400 (permanent: the SMS page has
    # no other channel, it fails; the email goes out). Meanwhile: far-1 dies (c isolated),
    # stop-1 says goodbye, edge-1 comes back reporting to a only (path warning on b).
    twilio.fail_status = 503
    agents["db-1"].proc.kill()
    agents["far-1"].proc.kill()
    agents["stop-1"].proc.stop(signal.SIGTERM)
    agents["edge-1"].proc.kill()
    agents["edge-1"] = ClusterAgent(harness, "edge-1", [a], "dc2").start()
    wait_for(lambda: metric_sum([a, b], "firewatch_notifications_total",
                                {"channel": "sms", "result": "retryable"}) >= 1,
             30, interval=0.25, what="an SMS attempt answered 503")
    # The page waits in the outbox while it is retried: Prometheus must see that.
    wait_for(lambda: prom.query('sum(firewatch_outbox_items{state=~"pending|held"}) > 0'), 20,
             interval=0.25, what="Prometheus to see the SMS page waiting in the outbox")
    twilio.fail_status = 400
    wait_for(lambda: metric_sum([a, b], "firewatch_notifications_total",
                                {"channel": "sms", "result": "permanent"}) >= 1,
             30, interval=0.25, what="an SMS attempt answered 400")
    twilio.fail_status = None
    wait_for(lambda: metric_sum([a, b], "firewatch_outbox_items", {"state": "failed"}) >= 1,
             20, interval=0.25, what="the SMS page to fail for good")

    # A second outage, paged on both channels.
    agents["db-2"].proc.kill()

    # b cannot write its state for a while: another process holds SQLite's write lock
    # until b has dropped a batch (commit and retry both time out).
    lock = sqlite3.connect(os.path.join(b.data_dir, "collector.db"), timeout=10,
                           isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        wait_for(lambda: (metric_value(b.metrics(), "firewatch_store_batches_dropped_total")
                          or 0) >= 1, 60, interval=0.5, what="b to drop a write batch")
        # Heartbeats' rows wait in b's tracker while its queue is full (2 batches): the
        # backlog alert's second arm (the queue itself no longer grows with them).
        b_at = f'instance="127.0.0.1:{b.http_port}"'
        wait_for(lambda: prom.query(f'firewatch_store_rows_waiting{{{b_at}}} > 0 and '
                                    f'firewatch_store_queue_depth{{{b_at}}} >= 2'),
                 30, interval=0.5, what="Prometheus to see b's writes queue up")
    finally:
        lock.close()

    # c stopped while a burst of junk arrives: its 1 MiB buffer overflows (kernel drops),
    # and what was queued is rejected once it runs again.
    c.proc.send_signal(signal.SIGSTOP)
    try:
        junk = b"not a firewatch frame".ljust(64, b".")
        for _ in range(6000):
            send_udp(c.udp_port, junk)
    finally:
        c.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: (metric_value(c.metrics(), "firewatch_udp_kernel_drops_total") or 0) > 0,
             20, interval=0.25, what="c to count kernel drops")
    # ... and to say so in its log, with the setting to raise (ingest/udp_drop_report.h).
    wait_for(lambda: "because the receive buffer was full (1 MiB" in c.log(), 10,
             interval=0.25, what="c to log the kernel drops")

    # A forged sync request: refused as unknown_peer.
    status, _ = http_post(a.url + "/api/v1/cluster/sync", b"{}", "application/json")
    assert status in (400, 401, 403), status

    # Everything the queries need has happened on the collectors...
    wait_for(lambda: any("db-2" in s["Body"] for s in firing_sms(twilio)), 30, interval=0.25,
             what="the SMS page about db-2")
    wait_for(lambda: metric_sum([a, b], "firewatch_page_delivery_seconds_count",
                                {"channel": "sms"}) >= 1, 20, interval=0.25,
             what="a first page delivered over SMS in the histogram")
    wait_for(lambda: metric_sum([a], "firewatch_cluster_path_warnings", {"collector": "b"}) >= 1,
             30, interval=0.25, what="a path warning about b")
    wait_for(lambda: metric_value(c.metrics(), "firewatch_cluster_isolated",
                                  {"mode": "isolated"}) == 1, 30, interval=0.25,
             what="c to be isolated")
    wait_for(lambda: metric_sum([a], "firewatch_cluster_sync_rejected_total",
                                {"reason": "unknown_peer"}) >= 1, 10, what="the forged sync counted")
    # ... and in Prometheus: a scrape of every live collector after now.
    t_scenario = time.time()
    wait_for(lambda: prom.scraped_after(t_scenario, 3), 30, interval=0.25,
             what="Prometheus to scrape the final state")
    t_end = time.time()

    failures = []
    evaluated = {"dashboard queries": 0, "variable queries": 0, "rules": 0}

    # --- dashboards ------------------------------------------------------------------
    chosen = {"job": "firewatch", "instance": f"127.0.0.1:{a.http_port}", "dc": "dc1",
              "source": "db-1", "channel": "sms"}
    for name, board in dashboards().items():
        values = dict(BUILTINS)
        for var in board["templating"]["list"]:
            if var["type"] == "datasource":
                continue
            selector, label = LABEL_VALUES.match(variable_query(var)).groups()
            selector = expand(selector, values)
            ok, options = prom.api(f"label/{label}/values", **{"match[]": selector},
                                   start=f"{t_start:.3f}", end=f"{t_end:.3f}")
            evaluated["variable queries"] += 1
            if not ok or chosen[var["name"]] not in options:
                failures.append(f"{name} variable {var['name']}: {selector} -> {options}")
            values[var["name"]] = chosen[var["name"]]
        for panel in query_panels(board):
            for t in panel["targets"]:
                expr = expand(t["expr"], values)
                evaluated["dashboard queries"] += 1
                if t.get("instant"):
                    ok, data = prom.api("query", query=expr, time=f"{t_end:.3f}")
                else:
                    ok, data = prom.query_range(expr, t_start, t_end)
                if not ok:
                    failures.append(f"{name} / {panel['title']} / {t['refId']}: {data}\n  {expr}")
                elif not has_numbers(data):
                    failures.append(f"{name} / {panel['title']} / {t['refId']}: no data\n  {expr}")

    # --- rules -----------------------------------------------------------------------
    with open(RULES) as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    for rule in rules:
        name = rule["alert"]
        evaluated["rules"] += 1
        ok, data = prom.query_range(rule["expr"], t_start, t_end)
        if not ok:
            failures.append(f"rule {name}: {data}")
            continue
        if name in NO_DATA_RULES:
            if data["result"]:
                failures.append(f"rule {name} returned data: take it off NO_DATA_RULES")
            for metric in set(re.findall(r"\b(firewatch_\w+|up)\s*\{", rule["expr"])):
                if not prom.query(f'count({metric}{{job="firewatch"}})'):
                    failures.append(f"rule {name}: no series of {metric}")
        elif not data["result"]:
            failures.append(f"rule {name}: never returned data\n  {rule['expr']}")
    assert set(NO_DATA_RULES) <= {r["alert"] for r in rules}

    # Prometheus itself loaded and evaluates every rule without error.
    ok, loaded = prom.api("rules")
    assert ok, loaded
    loaded_rules = [r for g in loaded["groups"] for r in g["rules"]]
    assert len(loaded_rules) == len(rules)
    for r in loaded_rules:
        if r.get("health") != "ok":
            failures.append(f"Prometheus: rule {r['name']} health {r.get('health')}: {r.get('lastError')}")

    print(f"evaluated {evaluated}; no-data rules allowed: {sorted(NO_DATA_RULES)}")
    assert not failures, "\n".join(failures)
    assert evaluated["rules"] == len(rules) and evaluated["dashboard queries"] >= 40
