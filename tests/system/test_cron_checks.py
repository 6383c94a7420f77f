"""Scheduled checks (docs/checks.md) with the real collector and real SMTP: a missed ping
pages once, /fail pages at once, a success resolves, a start without a finish within grace
is DOWN, and healthchecks.io's URL forms answer as they do there."""
import json
import time
import uuid

from fwtest import http_get, http_post, wait_for
from paging import SmtpServer, paging_config

BACKUP = str(uuid.uuid4())
REPORT = str(uuid.uuid4())
LONG = str(uuid.uuid4())
PING_KEY = "k" * 8 + "testpingkey123"


def checks_section(period="2s", grace="1s"):
    return f"""checks:
  ping_key: {PING_KEY}
  pings_per_minute: 600
  jobs:
    - {{name: backup, uuid: {BACKUP}, period: {period}, grace: {grace}, labels: {{dc: dc1}}}}
    - {{name: report, uuid: {REPORT}, slug: daily-report, schedule: "@daily", tz: Europe/Berlin, grace: 1h}}
    - {{name: long-job, uuid: {LONG}, period: 1h, grace: 2s}}
"""


def ping(collector, path, body=None):
    if body is None:
        return http_get(collector.url + "/ping/" + path)
    return http_post(collector.url + "/ping/" + path, body, "text/plain")


def check_pages(collector, source):
    return [p["status"] for p in collector.pages() if p["source"] == source]


def test_missed_ping_pages_once_and_a_success_resolves(harness):
    collector = harness.collector_config(extra=checks_section()).start()
    assert ping(collector, BACKUP) == (200, b"OK")
    collector.wait_state("check/backup", "UP", 5)
    # period 2s + grace 1s: DOWN about 3 s after the ping, paged once.
    wait_for(lambda: check_pages(collector, "check/backup") == ["firing"], 15,
             what="one page for the missed ping")
    assert collector.state("check/backup") == "DOWN"
    page = [p for p in collector.pages() if p["source"] == "check/backup"][0]
    assert page["labels"] == {"check": "backup", "dc": "dc1"}, page
    time.sleep(1.5)  # evaluated ~6 times meanwhile: still one page
    assert check_pages(collector, "check/backup") == ["firing"]
    assert ping(collector, BACKUP.upper() + "/0")[0] == 200
    wait_for(lambda: check_pages(collector, "check/backup") == ["firing", "resolved"], 5,
             what="the success to resolve the page")
    assert collector.state("check/backup") == "UP"


def test_fail_pages_at_once_by_email(harness, twilio):
    smtp = SmtpServer(harness).start()
    extra = checks_section(period="1h", grace="1h") + paging_config(
        harness, smtp.port, twilio.port, wait="1h")
    collector = harness.collector_config(extra=extra).start()
    assert ping(collector, BACKUP) == (200, b"OK")
    collector.wait_state("check/backup", "UP", 5)
    started = time.monotonic()
    assert ping(collector, BACKUP + "/fail", b"pg_dump: connection refused") == (200, b"OK")
    wait_for(lambda: len(smtp.messages()) >= 1, 20, what="the failure's email")
    assert time.monotonic() - started < 15
    mail = smtp.messages()[0]
    text = mail.as_string()
    assert "check/backup" in text, text
    assert BACKUP not in text  # the uuid is the credential: never in a page
    assert check_pages(collector, "check/backup") == ["firing"]
    src = collector.source("check%2Fbackup")
    assert src["state"] == "DOWN"
    assert src["ping"]["failure_reported"] is True
    assert src["ping"]["last_message"] == "pg_dump: connection refused"
    # A success resolves.
    assert ping(collector, BACKUP)[0] == 200
    wait_for(lambda: check_pages(collector, "check/backup") == ["firing", "resolved"], 5,
             what="the resolve")


def test_start_without_finish_within_grace_is_down_and_run_time_is_measured(harness):
    collector = harness.collector_config(extra=checks_section()).start()
    rid = str(uuid.uuid4())
    assert ping(collector, f"{LONG}/start?rid={rid}")[0] == 200
    collector.wait_state("check/long-job", "UP", 5)
    wait_for(lambda: collector.state("check/long-job") == "DOWN", 10,
             what="the unfinished run to be DOWN")
    reason = collector.source("check%2Flong-job")["transitions"][0]["reason"]
    assert "not finished within 2.0s" in reason, reason
    assert check_pages(collector, "check/long-job") == ["firing"]
    assert ping(collector, f"{LONG}?rid={rid}")[0] == 200
    wait_for(lambda: check_pages(collector, "check/long-job") == ["firing", "resolved"], 5,
             what="the finish to resolve")
    run = collector.source("check%2Flong-job")["ping"]["last_duration_seconds"]
    assert run >= 2.0, run


def test_healthchecks_url_forms_and_hostile_requests(harness):
    collector = harness.collector_config(extra=checks_section(period="1h", grace="1h")).start()
    # Never pinged: NEW in /api/v1/checks, not a source.
    checks = json.loads(http_get(collector.url + "/api/v1/checks")[1])
    assert {c["name"]: c["state"] for c in checks["checks"]} == {
        "backup": "NEW", "report": "NEW", "long-job": "NEW"}
    assert ping(collector, f"{PING_KEY}/daily-report/start")[0] == 200
    assert ping(collector, f"{PING_KEY}/daily-report", b"rows: 1200") == (200, b"OK")
    assert http_post(collector.url + f"/ping/{REPORT}", None, method="HEAD")[0] == 200
    assert ping(collector, f"{REPORT}/log", b"note")[0] == 200
    assert ping(collector, f"{REPORT}/256")[0] == 400
    assert ping(collector, f"{REPORT}?rid=nope")[0] == 400
    assert ping(collector, str(uuid.uuid4()))[0] == 404
    assert ping(collector, f"{PING_KEY}x/daily-report")[0] == 404
    assert ping(collector, f"{REPORT}/bogus")[0] == 404
    assert http_post(collector.url + f"/ping/{REPORT}", b"x" * (100 * 1024 + 1),
                     "text/plain")[0] == 413
    body = http_get(collector.url + "/api/v1/checks")[1].decode()
    for secret in (BACKUP, REPORT, LONG, PING_KEY):
        assert secret not in body
    checks = {c["name"]: c for c in json.loads(body)["checks"]}
    assert checks["report"]["state"] == "UP"
    assert checks["report"]["ping"]["last_message"] == "note"
    assert checks["report"]["schedule"] == "@daily"
    assert json.loads(body)["pings"]["unknown"] == 3
    # The status page lists the check with its last message, never its uuid.
    page = http_get(collector.url + "/")[1].decode()
    assert "check/report" in page
    assert "last ping: log: note" in page  # the last message, on the status page too
    assert REPORT not in page and REPORT not in collector.proc.output()


def test_cluster_pages_a_missed_check_only_when_no_collector_hears_it(harness, twilio):
    """Three collectors; the job reaches only one of them: a path warning, no page. A
    /fail heard by one collector pages even though another still has the check UP."""
    from fwcluster import Member, write_cluster
    smtp = SmtpServer(harness).start()
    members = [Member(f"site-{s}") for s in "abc"]
    cs = write_cluster(harness, members, f"127.0.0.1:{smtp.port}", f"127.0.0.1:{twilio.port}",
                       tweak=lambda _id, shared: shared + checks_section(period="2s", grace="1s"))
    for c in cs:
        c.start(wait_ready=False)
    for c in cs:
        wait_for(c._ready, 20, what=f"{c.name} /readyz")
    a, b, c = cs

    def peers_up(col):
        status, body = http_get(col.url + "/api/v1/collectors")
        return status == 200 and all(p["state"] == "up" for p in json.loads(body)["collectors"])
    wait_for(lambda: all(peers_up(x) for x in cs), 15, what="every peer up everywhere")
    for col in cs:
        assert ping(col, BACKUP)[0] == 200
    for col in cs:
        col.wait_state("check/backup", "UP", 5)
    # Only b hears the job from now on, for 8 s (pings every 0.5 s, bounded).
    end = time.monotonic() + 8
    while time.monotonic() < end:
        assert ping(b, BACKUP)[0] == 200
        time.sleep(0.5)
    assert a.state("check/backup") == "DOWN" and c.state("check/backup") == "DOWN"
    assert b.state("check/backup") == "UP"
    for col in cs:  # heard by a live collector: a path warning, not a page
        assert check_pages(col, "check/backup") == [], (col.name, col.pages())
    # The job reports a failure to c only: c pages at once although b has it UP.
    assert ping(c, BACKUP + "/fail")[0] == 200
    wait_for(lambda: check_pages(c, "check/backup") == ["firing"], 10,
             what="c to page the reported failure")
    wait_for(lambda: len(smtp.messages()) >= 1, 20, what="the failure's email")
    # A success heard by c resolves it.
    assert ping(c, BACKUP)[0] == 200
    wait_for(lambda: check_pages(c, "check/backup") == ["firing", "resolved"], 10,
             what="c to resolve")


def test_a_check_survives_a_collector_restart(harness):
    collector = harness.collector_config(extra=checks_section(period="1h", grace="1h")).start()
    assert ping(collector, f"{PING_KEY}/daily-report")[0] == 200
    assert ping(collector, BACKUP + "/fail")[0] == 200
    collector.wait_state("check/report", "UP", 5)
    collector.wait_state("check/backup", "DOWN", 5)
    collector.proc.stop()  # SIGTERM: the store is flushed before the collector exits
    collector.start()
    assert collector.state("check/report") == "UP"
    assert collector.state("check/backup") == "DOWN"
    checks = {c["name"]: c for c in json.loads(http_get(collector.url + "/api/v1/checks")[1])["checks"]}
    assert checks["report"]["ping"]["next_due"] is not None  # judged by its schedule again
    assert checks["long-job"]["state"] == "NEW"
    assert ping(collector, BACKUP)[0] == 200  # and pings still work after the restart
    collector.wait_state("check/backup", "UP", 5)
