"""Watching the primary monitoring stack with the real thing (docs/watching.md): a real
Prometheus evaluates a vector(1) Watchdog rule and sends it to a real Alertmanager, whose
webhook receiver (authorization from http_config) posts it to the collector. Stopping
Alertmanager, then Prometheus, pages once each within two watchdog intervals plus
detection; bringing them back resolves. The collector's probes watch the same Prometheus
and Alertmanager health endpoints, and a TCP probe of a closed port is DOWN."""
import json
import os
import socket
import subprocess
import time

import pytest

from fwtest import COLLECTOR, free_port, http_get, http_post, metric_value, wait_for

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"

# Alertmanager re-sends the Watchdog every repeat_interval, checked each group_interval:
# with 1s/2s it arrives about every 3 s (docs/watching.md, "Choosing the interval").
WATCHDOG_INTERVAL = 3
# Detection on the defaults: DOWN after about two intervals of silence (phi), at the latest
# interval x 3 + 2 s (backstop).
DETECTION = WATCHDOG_INTERVAL * 3 + 2
SLACK = 4  # evaluation ticks, a loaded 2-core CI machine


def start_alertmanager(harness, config_file, port):
    """A real Alertmanager on 127.0.0.1:port (no gossip), ready when this returns."""
    proc = harness.start(
        [ALERTMANAGER, f"--config.file={config_file}",
         f"--storage.path={os.path.join(harness.dir, 'am-data')}",
         f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="],  # no gossip port
        "alertmanager", cwd=harness.dir)
    wait_for(lambda: http_get(f"http://127.0.0.1:{port}/-/ready", timeout=1)[0] == 200, 30,
             interval=0.25, what="Alertmanager to be ready")
    return proc


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


class Stack:
    """Prometheus -> Alertmanager -> the collector's watchdog endpoint, on free ports."""

    def __init__(self, harness, token_file):
        self.h = harness
        self.prom_port, self.am_port = free_port(), free_port()
        self.prom_url = f"http://127.0.0.1:{self.prom_port}"
        self.am_url = f"http://127.0.0.1:{self.am_port}"
        self.token_file = token_file
        self.prom = self.am = None

    def configure(self, collector_port):
        d = self.h.dir
        rules = write(os.path.join(d, "watchdog-rules.yml"), """groups:
  - name: meta
    interval: 1s
    rules:
      - alert: Watchdog
        expr: vector(1)
        labels: {severity: none}
        annotations:
          summary: An alert that always fires, so that the whole alerting pipeline is known to work.
""")
        self.prom_cfg = write(os.path.join(d, "prometheus.yml"), f"""global:
  evaluation_interval: 1s
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:{self.am_port}']
""")
        # The receiver exactly as docs/watching.md shows it, with test timers.
        self.am_cfg = write(os.path.join(d, "alertmanager.yml"), f"""route:
  receiver: firewatch-watchdog
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: firewatch-watchdog
    webhook_configs:
      - url: http://127.0.0.1:{collector_port}/api/v1/watchdog/main
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials_file: {self.token_file}
""")

    def start_prometheus(self):
        self.prom = self.h.start(
            [PROMETHEUS, f"--config.file={self.prom_cfg}",
             f"--storage.tsdb.path={os.path.join(self.h.dir, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{self.prom_port}",
             "--rules.alert.resend-delay=1s"],
            "prometheus", cwd=self.h.dir)
        wait_for(lambda: http_get(self.prom_url + "/-/ready", timeout=1)[0] == 200, 60,
                 interval=0.25, what="Prometheus to be ready")

    def start_alertmanager(self):
        self.am = start_alertmanager(self.h, self.am_cfg, self.am_port)


def watchdog_pages(collector, source="watchdog/main"):
    return [p for p in collector.pages() if p["source"] == source]


def statuses(pages):
    return [p["status"] for p in pages]


@pytest.fixture
def closed_port():
    """A loopback port bound but never listening: connects are refused while it is held."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    yield s.getsockname()[1]
    s.close()


def test_real_prometheus_and_alertmanager_watchdog_and_probes(harness, closed_port):
    for binary in (PROMETHEUS, ALERTMANAGER):
        assert os.access(binary, os.X_OK), f"{binary} missing: ./scripts/setup installs it"
    token = "fwwd_" + os.urandom(24).hex()
    token_file = write(os.path.join(harness.dir, "watchdog.token"), token + "\n", 0o600)
    stack = Stack(harness, token_file)
    collector = harness.collector_config(extra=f"""watchdogs:
  - name: main
    token_file: {token_file}
    interval: {WATCHDOG_INTERVAL}s
    labels: {{team: ops}}
probes:
  - name: prometheus
    http: {stack.prom_url}/-/healthy
    expect_body: Healthy
    interval: 1s
    timeout: 800ms
  - name: alertmanager
    http: {stack.am_url}/-/healthy
    interval: 1s
    timeout: 800ms
  - name: closed
    tcp: 127.0.0.1:{closed_port}
    interval: 1s
    timeout: 800ms
""")
    stack.configure(collector.http_port)
    collector.start()
    stack.start_alertmanager()
    stack.start_prometheus()

    # Deliveries arrive, authenticated by the real Alertmanager's http_config.
    wait_for(lambda: (collector.sources().get("watchdog/main") or {}).get("heartbeats", 0) >= 3,
             40, what="3 Watchdog deliveries")
    assert collector.state("watchdog/main") == "UP"
    for probe in ("prometheus", "alertmanager"):
        collector.wait_state(f"probe/{probe}", "UP", timeout=10)
    collector.wait_state("probe/closed", "DOWN", timeout=15)
    assert watchdog_pages(collector) == []
    closed = watchdog_pages(collector, "probe/closed")
    assert statuses(closed) == ["firing"], closed

    # Alertmanager stops: one page within two watchdog intervals plus detection.
    stack.am.stop()
    stopped = time.monotonic()
    collector.wait_state("watchdog/main", "DOWN", timeout=2 * WATCHDOG_INTERVAL + DETECTION + SLACK)
    took = time.monotonic() - stopped
    pages = watchdog_pages(collector)
    assert statuses(pages) == ["firing"], pages
    assert "Prometheus -> Alertmanager -> notifications is broken" in pages[0]["summary"], pages
    assert pages[0]["labels"]["team"] == "ops" and pages[0]["labels"]["kind"] == "watchdog"
    collector.wait_state("probe/alertmanager", "DOWN", timeout=15)
    assert collector.state("probe/prometheus") == "UP"
    print(f"Alertmanager stopped -> watchdog DOWN in {took:.1f}s")

    # Back: resolved.
    stack.start_alertmanager()
    collector.wait_state("watchdog/main", "UP", timeout=30)
    wait_for(lambda: statuses(watchdog_pages(collector)) == ["firing", "resolved"], 5,
             what="the watchdog page resolved")
    collector.wait_state("probe/alertmanager", "UP", timeout=15)

    # Prometheus stops instead: Alertmanager resolves the Watchdog once its endsAt passes
    # (4 x the 1 s resend delay) and deliveries stop; the same page.
    wait_for(lambda: collector.sources()["watchdog/main"]["heartbeats"] >= 1, 5)
    stack.prom.stop()
    stopped = time.monotonic()
    collector.wait_state("watchdog/main", "DOWN",
                         timeout=4 + 2 * WATCHDOG_INTERVAL + DETECTION + SLACK)
    took = time.monotonic() - stopped
    assert statuses(watchdog_pages(collector)) == ["firing", "resolved", "firing"]
    collector.wait_state("probe/prometheus", "DOWN", timeout=15)
    print(f"Prometheus stopped -> watchdog DOWN in {took:.1f}s")

    stack.start_prometheus()
    collector.wait_state("watchdog/main", "UP", timeout=40)
    wait_for(lambda: statuses(watchdog_pages(collector)) == ["firing", "resolved", "firing",
                                                              "resolved"], 5,
             what="the second watchdog page resolved")
    collector.wait_state("probe/prometheus", "UP", timeout=15)

    metrics = collector.metrics()
    accepted = metric_value(metrics, "firewatch_watchdog_deliveries_total",
                            {"watchdog": "main", "result": "accepted"})
    assert accepted and accepted >= 6, accepted
    assert metric_value(metrics, "firewatch_watchdog_deliveries_total",
                        {"watchdog": "main", "result": "bad_token"}) == 0
    assert metric_value(metrics, "firewatch_probe_up", {"probe": "closed"}) == 0
    assert metric_value(metrics, "firewatch_probe_up", {"probe": "prometheus"}) == 1


def test_watchdog_endpoint_refuses_unknown_unauthenticated_and_malformed(harness):
    token = "fwwd_" + os.urandom(24).hex()
    token_file = write(os.path.join(harness.dir, "watchdog.token"), token + "\n", 0o600)
    collector = harness.collector_config(extra=f"""watchdogs:
  - name: main
    token_file: {token_file}
    interval: 1m
""").start()
    url = collector.url + "/api/v1/watchdog/"
    firing = json.dumps({"version": "4", "status": "firing", "receiver": "x",
                         "alerts": [{"status": "firing", "labels": {"alertname": "Watchdog"}}]}).encode()
    auth = {"Authorization": "Bearer " + token}
    assert http_post(url + "nope", firing, "application/json", headers=auth)[0] == 404
    assert http_post(url + "main", firing, "application/json")[0] == 401
    assert http_post(url + "main", firing, "application/json",
                     headers={"Authorization": "Bearer " + token[:-1] + "x"})[0] == 403
    assert http_post(url + "main", b"{\"version\": \"4\"", "application/json", headers=auth)[0] == 400
    assert http_post(url + "main", b" " * (256 * 1024 + 1), "application/json", headers=auth)[0] == 413
    # A heartbeat frame may not claim the watchdog's source: only the token keeps it alive.
    assert collector.sources()["watchdog/main"]["heartbeats"] == 0
    status, body = http_post(url + "main?token=" + token, firing, "application/json")
    assert status == 200 and json.loads(body)["heartbeat"] is True, body
    assert collector.sources()["watchdog/main"]["heartbeats"] == 1
    one = collector.source("watchdog%2Fmain")  # the id's '/' travels %-encoded
    assert one and one["labels"]["kind"] == "watchdog", one
    m = collector.metrics()
    promtool = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=m.encode(),
                              capture_output=True, timeout=30)
    assert promtool.returncode == 0 and not (promtool.stdout + promtool.stderr).strip(), promtool
    for labels, want in ((("-", "unknown_watchdog"), 1), (("main", "no_token"), 1),
                         (("main", "bad_token"), 1), (("main", "malformed"), 1),
                         (("-", "too_large"), 1), (("main", "accepted"), 1)):
        got = metric_value(m, "firewatch_watchdog_deliveries_total",
                           {"watchdog": labels[0], "result": labels[1]})
        assert got == want, (labels, got)


def test_a_probe_failing_from_one_collector_is_a_path_warning_and_from_all_a_page(harness,
                                                                                closed_port):
    """Two collectors in a cluster probe "target": from site-a it answers, from site-b it
    does not (b's probe points at a closed port: a different config is only a digest
    warning). That is a path warning on b, not a page; once it fails from a too, it is
    DOWN everywhere and pages."""
    from fwcluster import FAST_CLUSTER, FAST_DETECTION, write_key
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    open_port = listener.getsockname()[1]
    key = write_key(os.path.join(harness.dir, "cluster.key"))
    ports = {"site-a": free_port(), "site-b": free_port()}
    members = "".join(f"    - id: {n}\n      url: http://127.0.0.1:{p}\n" for n, p in ports.items())
    timers = "".join(f"  {k}: {v}\n" for k, v in FAST_CLUSTER.items())
    collectors = {}
    for name, port in ((n, closed_port if n == "site-b" else open_port) for n in ports):
        collectors[name] = harness.collector_config(name=name, http_port=ports[name], extra=f"""{FAST_DETECTION}cluster:
  key_file: {key}
  members:
{members}{timers}probes:
  - name: target
    tcp: 127.0.0.1:{port}
    interval: 1s
    timeout: 500ms
""").start()
    a, b = collectors["site-a"], collectors["site-b"]
    try:
        wait_for(lambda: all(p["state"] == "up" for x in (a, b)
                             for p in http_json(x, "/api/v1/collectors")["collectors"]), 15,
                 what="both collectors up")
        a.wait_state("probe/target", "UP", timeout=10)
        b.wait_state("probe/target", "DOWN", timeout=15)  # locally: b cannot reach it
        wait_for(lambda: [w for w in http_json(b, "/api/v1/collectors")["path_warnings"]
                          if w["source"] == "probe/target" and w["unheard_by"] == ["site-b"]],
                 10, what="a path warning about probe/target on site-b")
        time.sleep(2)  # a page would have been written by now (no hold in a cluster verdict)
        assert watchdog_pages(a, "probe/target") == [] and watchdog_pages(b, "probe/target") == []

        listener.close()  # now it fails from site-a too
        a.wait_state("probe/target", "DOWN", timeout=15)
        wait_for(lambda: statuses(watchdog_pages(a, "probe/target")) == ["firing"], 10,
                 what="the probe page on site-a")
        page = watchdog_pages(a, "probe/target")[0]
        assert page["labels"]["kind"] == "probe" and "health probe" in page["summary"], page
    finally:
        listener.close()


def http_json(collector, path):
    status, body = http_get(collector.url + path)
    assert status == 200, body
    return json.loads(body)


def test_check_config_reads_watchdog_tokens(harness):
    """--check-config fails naming the token file when it is missing or unsafe, and the
    collector refuses to start on it: a watchdog nobody can authenticate to never pages
    silently."""
    missing = os.path.join(harness.dir, "missing.token")
    collector = harness.collector_config(extra=f"""watchdogs:
  - name: main
    token_file: {missing}
""")
    r = subprocess.run([COLLECTOR, "--config", collector.config_path, "--check-config"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and missing in r.stderr.decode(), r
    write(missing, "0123456789abcdef0123\n", 0o666)  # writable by others: refused
    r = subprocess.run([COLLECTOR, "--config", collector.config_path, "--check-config"],
                       capture_output=True, timeout=30)
    assert r.returncode == 1 and missing in r.stderr.decode(), r
    os.chmod(missing, 0o600)
    r = subprocess.run([COLLECTOR, "--config", collector.config_path, "--check-config"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r
