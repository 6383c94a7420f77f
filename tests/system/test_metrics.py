"""Metrics that Prometheus tooling accepts: promtool, and a real Prometheus scraping us."""
import json
import os
import subprocess
import urllib.parse

from fwtest import free_port, http_get, wait_for

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"


def promtool_check(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    return r.returncode, (r.stdout + r.stderr).decode()


def test_collector_and_agent_metrics_pass_promtool(harness):
    collector = harness.collector_config().start()
    agent = harness.agent_config("m-01", [collector], interval="1s").start()
    collector.wait_state("m-01", "UP", timeout=10)
    rc, out = promtool_check(collector.metrics())
    assert rc == 0, out
    assert out.strip() == "", out  # no lint warnings either
    status, body = wait_for(lambda: (lambda r: r if r[0] == 200 else None)(
        http_get(f"http://127.0.0.1:{agent.http_port}/metrics")), 10, what="agent /metrics")
    rc, out = promtool_check(body.decode())
    assert rc == 0 and out.strip() == "", out


def test_real_prometheus_scrapes_the_collector(harness):
    collector = harness.collector_config().start()
    harness.agent_config("m-02", [collector], interval="1s").start()
    collector.wait_state("m-02", "UP", timeout=10)
    prom_port = free_port()
    cfg = os.path.join(harness.dir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: firewatch
    static_configs:
      - targets: ["127.0.0.1:{collector.http_port}"]
""")
    harness.start([PROMETHEUS, f"--config.file={cfg}",
                   f"--storage.tsdb.path={os.path.join(harness.dir, 'tsdb')}",
                   f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus")

    def query(q):
        url = f"http://127.0.0.1:{prom_port}/api/v1/query?query=" + urllib.parse.quote(q)
        status, body = http_get(url, timeout=2)
        if status != 200:
            return None
        result = json.loads(body)["data"]["result"]
        return result or None

    up = wait_for(lambda: query('up{job="firewatch"} == 1'), 60, interval=0.5,
                  what="Prometheus to scrape the collector successfully")
    assert up
    sources = wait_for(lambda: query('firewatch_sources{state="UP"} == 1'), 30, interval=0.5,
                       what="firewatch_sources in Prometheus")
    assert sources[0]["metric"]["state"] == "UP"
    per_source = wait_for(lambda: query('firewatch_source_up{source="m-02"}'), 30, interval=0.5,
                          what="per-source series")
    assert per_source[0]["value"][1] == "1"
