"""Posting firewatch's own alerts to a real Alertmanager (docs/watching.md, "Posting
firewatch's alerts to Alertmanager"), in mirror mode: a host that goes DOWN is paged by
email (SMTP on loopback) AND shows up in Alertmanager's GET /api/v2/alerts with its
labels; its recovery resolves it there. With Alertmanager stopped, the health probe stops
vouching, the posts are held and counted, and the page still goes out directly; when
Alertmanager is back, what was held reaches it at once."""
import json
import os
import time

from fwtest import free_port, http_get, metric_value, wait_for
from paging import SmtpServer, paging_config
from test_watchdog import ALERTMANAGER, start_alertmanager


class Alertmanager:
    """A real Alertmanager with a route to a receiver that sends nothing."""

    def __init__(self, harness):
        self.h = harness
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cfg = os.path.join(harness.dir, "alertmanager.yml")
        with open(self.cfg, "w") as f:
            f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        self.proc = None

    def start(self):
        self.proc = start_alertmanager(self.h, self.cfg, self.port)
        return self

    def alerts(self):
        """The alerts Alertmanager serves now (resolved ones are not listed)."""
        try:
            status, body = http_get(self.url + "/api/v2/alerts", timeout=2)
        except OSError:
            return []
        assert status == 200, body
        return json.loads(body)

    def alert_for(self, source):
        found = [a for a in self.alerts() if a["labels"].get("source") == source]
        return found[0] if found else None


def posts(collector, result):
    return metric_value(collector.metrics(), "firewatch_alertmanager_posts_total",
                        {"result": result}) or 0


def emails_about(smtp, source):
    return [m for m in smtp.messages() if source in m["Subject"]]


def test_incidents_mirrored_to_real_alertmanager_and_paged_directly_when_it_is_down(harness, twilio):
    assert os.access(ALERTMANAGER, os.X_OK), f"{ALERTMANAGER} missing: ./scripts/setup installs it"
    am = Alertmanager(harness).start()
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h") + f"""probes:
  - name: alertmanager
    http: {am.url}/-/healthy
    interval: 1s
    timeout: 800ms
alertmanager_post:
  urls: [{am.url}]
  mode: mirror
  health_probe: alertmanager
  resend_interval: 2s
  timeout: 1s
""").start()
    agents = {s: harness.agent_config(s, [collector], interval="1s",
                                      labels={"dc": "pangyo", "role": "db"}).start()
              for s in ("db-01", "db-02")}
    for s in agents:
        collector.wait_state(s, "UP", timeout=10)
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_alertmanager_healthy") == 1,
             10, what="the health probe to vouch for Alertmanager")

    # DOWN: paged directly by email AND visible in Alertmanager, with the right labels.
    agents["db-01"].proc.kill()
    wait_for(lambda: am.alert_for("db-01") is not None, 30, what="db-01 in Alertmanager")
    alert = am.alert_for("db-01")
    assert alert["labels"]["alertname"] == "SourceDown", alert
    assert alert["labels"]["dc"] == "pangyo" and alert["labels"]["role"] == "db", alert
    assert alert["status"]["state"] == "active", alert
    assert alert["annotations"]["summary"] == "db-01 is DOWN", alert
    assert alert["generatorURL"] == "http://127.0.0.1:1/api/v1/sources/db-01", alert
    wait_for(lambda: len(emails_about(smtp, "db-01")) == 1, 30, what="the email page for db-01")
    assert "[FIRING]" in emails_about(smtp, "db-01")[0]["Subject"]
    # Re-posted every resend_interval, endsAt kept ahead of now (4 x resend_interval).
    ok_before = posts(collector, "ok")
    wait_for(lambda: posts(collector, "ok") >= ok_before + 2, 10, what="two resends")
    assert am.alert_for("db-01") is not None

    # Recovery: resolved in Alertmanager (no longer served), and by email.
    agents["db-01"] = harness.agent_config("db-01", [collector], interval="1s",
                                           labels={"dc": "pangyo", "role": "db"}).start()
    collector.wait_state("db-01", "UP", timeout=15)
    wait_for(lambda: am.alert_for("db-01") is None, 15, what="db-01 resolved in Alertmanager")
    wait_for(lambda: len(emails_about(smtp, "db-01")) == 2, 30, what="the resolve email")
    assert posts(collector, "rejected") == 0

    # Alertmanager stops: the probe stops vouching, posts are held and counted, and the
    # page still goes out directly.
    am.proc.stop()
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_alertmanager_healthy") == 0,
             10, what="Alertmanager unhealthy")
    held_before = posts(collector, "unhealthy")
    agents["db-02"].proc.kill()
    wait_for(lambda: len(emails_about(smtp, "db-02")) == 1, 30, what="the direct page for db-02")
    wait_for(lambda: posts(collector, "unhealthy") > held_before, 10, what="held posts counted")

    # Alertmanager back: the held alert reaches it at once (well within a resend).
    am.start()
    back = time.monotonic()
    wait_for(lambda: am.alert_for("db-02") is not None, 15, what="db-02 in Alertmanager")
    print(f"Alertmanager back -> held alert posted in {time.monotonic() - back:.1f}s")
    assert am.alert_for("db-01") is None  # its resolve is re-posted too, not a stale firing
    assert posts(collector, "rejected") == 0
