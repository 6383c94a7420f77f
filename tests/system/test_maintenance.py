"""Maintenance windows (docs/routing.md, "Maintenance windows"): a window over a source
mutes its pages while the tracker keeps tracking it, the API and the status page say it
is in maintenance, and a source still DOWN when the window ends pages then (nothing is
lost). Windows survive a restart; `firewatchctl maintenance` adds, lists and expires them."""
import json
import os
import subprocess
import time

from fwcluster import (ClusterAgent, describe, firing_emails, firing_sms, sleep_until,
                       wait_all_peers_up, wait_source_everywhere)
from fwtest import CTL, api_call, free_port, http_get, wait_for
from paging import SmtpServer, paging_config
from test_cluster import DEDUP_WINDOW, start_cluster
from test_silences import ctl


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def source_matcher(source):
    return [{"name": "source", "value": source, "isRegex": False, "isEqual": True}]


def test_window_mutes_then_a_source_still_down_pages(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    agent = harness.agent_config("db-03", [collector], interval="1s").start()
    collector.wait_state("db-03", "UP", timeout=10)

    window_s = 25
    ends = int(time.time()) + window_s  # whole seconds, as endsAt says
    status, body = api_call(collector, "POST", "/api/v1/maintenance", {
        "matchers": source_matcher("db-03"), "endsAt": rfc3339(ends),
        "comment": "db-03 disk swap, CHG-9"})
    assert status == 200, body
    window_id = body["maintenanceID"]

    # Clear 4xx for what a window must not be.
    status, body = api_call(collector, "POST", "/api/v1/maintenance", {
        "matchers": source_matcher("db-03"), "comment": "x",
        "recurrence": {"cron": "0 25 * * *", "durationSeconds": 60}})
    assert status == 400 and "recurrence.cron" in body["error"], body
    status, body = api_call(collector, "POST", "/api/v1/maintenance", {
        "matchers": source_matcher("db-03"), "comment": "x",
        "recurrence": {"cron": "@daily", "timeZone": "Mars/Olympus", "durationSeconds": 60}})
    assert status == 400 and "unknown time zone" in body["error"], body
    status, body = api_call(collector, "POST", "/api/v1/maintenance", {
        "id": window_id, "matchers": source_matcher("db-03"), "endsAt": rfc3339(ends),
        "comment": "x"})
    assert status == 400 and "id" in body["error"], body
    status, body = api_call(collector, "POST", "/api/v1/maintenance", {
        "matchers": [{"name": "alertname", "value": "SourceDown", "isRegex": False}],
        "endsAt": rfc3339(ends), "comment": "everything"})
    assert status == 400 and "broad" in body["error"], body
    status, _ = api_call(collector, "POST", "/api/v1/maintenance", {
        "matchers": source_matcher("db-03"), "endsAt": rfc3339(ends), "comment": "x"}, token="")
    assert status == 401

    agent.proc.kill()
    collector.wait_state("db-03", "DOWN", timeout=15)
    assert time.time() < ends - 6, "DOWN came too late to check the window; raise window_s"
    # Tracked and shown as in maintenance, by the source API and the window list.
    source = json.loads(http_get(collector.url + "/api/v1/sources/db-03")[1])
    assert source["state"] == "DOWN" and source["in_maintenance"] == [window_id], source
    listed = json.loads(http_get(collector.url + "/api/v1/maintenance")[1])
    assert [(w["id"], w["status"]["state"]) for w in listed] == [(window_id, "active")]
    assert listed[0]["createdBy"] == harness.operator
    page = http_get(collector.url + "/")[1].decode()
    assert 'id="maintenance"' in page and "in maintenance" in page
    # Two group intervals (2 s each): a page, had the window not muted it, would be out.
    time.sleep(4)
    assert twilio.sent() == [] and smtp.messages() == []

    # The window ends by itself; the source is still DOWN: it pages now.
    wait_for(lambda: len(twilio.sent()) == 1, window_s + 20, what="the page after the window")
    assert twilio.sent()[0]["Body"].startswith("FIRING db-03 DOWN")
    assert time.time() >= ends
    source = json.loads(http_get(collector.url + "/api/v1/sources/db-03")[1])
    assert "in_maintenance" not in source
    listed = json.loads(http_get(collector.url + "/api/v1/maintenance")[1])
    assert listed[0]["status"]["state"] == "expired"


def test_firewatchctl_maintenance_round_trip_and_restart(harness):
    collector = harness.collector_config(extra=paging_config(harness, free_port(), free_port()))
    collector.start()
    url = ["--collector", collector.url]

    def as_operator(*args):
        return ctl(*args, token_file=harness.operator_token_file)

    code, _, err = ctl("maintenance", "add", "dc=pangyo", "--comment", "x", *url)
    assert code == 1 and "answered 401" in err, err
    # Checked before any request.
    code, _, err = as_operator("maintenance", "add", "dc=pangyo", "--cron", "0 2 * * SUN",
                               "--tz", "Mars/Olympus", "--comment", "x", *url)
    assert code == 2 and "unknown time zone" in err, err

    # A one-off window that would already be over (from --start, not from now).
    code, _, err = as_operator("maintenance", "add", "source=db-03", "--start",
                               "2026-11-25T18:00:00Z", "--duration", "2h", "--comment", "x", *url)
    assert code == 2 and "ended already" in err, err
    # A whole token file (with its comment lines) pasted into $FIREWATCH_TOKEN: refused with
    # the fix, before any request (the collector could only answer 400 to that header).
    with open(harness.operator_token_file) as f:
        whole = "# comment\n" + f.read()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWATCH_TOKEN")}
    env["FIREWATCH_TOKEN"] = whole
    r = subprocess.run([CTL, "maintenance", "list", *url], capture_output=True, text=True,
                       timeout=30, env=env)
    assert r.returncode == 2 and "--token-file" in r.stderr, r.stderr

    code, out, err = as_operator("maintenance", "add", "dc=pangyo", "--cron", "0 2 * * SUN",
                                 "--tz", "Asia/Seoul", "--duration", "2h",
                                 "--comment", "weekly patch night", *url)
    assert code == 0, err
    weekly = out.strip()
    code, out, err = as_operator("maintenance", "add", "source=db-03", "--duration", "30m",
                                 "--comment", "disk swap", *url)
    assert code == 0, err
    once = out.strip()

    code, out, err = as_operator("maintenance", "list", *url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ID", "STATE"], out
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert "0 2 * * SUN Asia/Seoul" in by_id[weekly] and "patch night" in by_id[weekly], out
    assert "active" in by_id[once] and "once" in by_id[once], out

    # Persisted in incidents.db: a restart keeps both.
    collector.proc.kill()
    collector.start()
    code, out, _ = as_operator("maintenance", "list", "--json", *url)
    windows = {w["id"]: w for w in json.loads(out)}
    assert set(windows) == {weekly, once}
    assert windows[weekly]["recurrence"] == {"cron": "0 2 * * SUN", "timeZone": "Asia/Seoul",
                                             "durationSeconds": 7200}
    assert windows[weekly]["status"]["state"] in ("waiting", "active")

    code, out, err = as_operator("maintenance", "expire", weekly, *url)
    assert code == 0 and out.strip() == f"expired {weekly}", (out, err)
    code, out, _ = as_operator("maintenance", "list", *url)
    assert weekly not in out and once in out
    code, out, _ = as_operator("maintenance", "list", "--all", *url)
    assert weekly in out and "expired" in out
    code, _, err = as_operator("maintenance", "expire", weekly, *url)
    assert code == 1 and "answered 400" in err, err
    code, _, err = as_operator("maintenance", "expire", "no-such-id", *url)
    assert code == 1 and "answered 404" in err, err


def test_window_made_on_one_collector_mutes_all_and_its_expiry_too(harness, twilio):
    """Replicated like silences: a recurring window created on site-b reaches site-a and
    site-c (nobody pages), and its expiry on site-c reaches all (the page goes out once)."""
    smtp = SmtpServer(harness).start()
    a, b, c = start_cluster(harness, smtp, twilio)
    agent = ClusterAgent(harness, "db-03", [a, b, c], dc="site-a").start()
    wait_all_peers_up([a, b, c], timeout=10)
    wait_source_everywhere([a, b, c], ["db-03"], "UP", timeout=15)

    # Every minute for an hour: active from the minute it was made on.
    status, body = api_call(b, "POST", "/api/v1/maintenance", {
        "matchers": source_matcher("db-03"), "comment": "db-03 patching",
        "startsAt": rfc3339(time.time() - 120),
        "recurrence": {"cron": "* * * * *", "timeZone": "Europe/Riga", "durationSeconds": 3600}})
    assert status == 200, body
    window_id = body["maintenanceID"]

    def state_on(x):
        listed = {w["id"]: w for w in json.loads(http_get(x.url + "/api/v1/maintenance")[1])}
        return listed[window_id]["status"]["state"] if window_id in listed else None
    wait_for(lambda: all(state_on(x) == "active" for x in (a, c)), 5, interval=0.25,
             what="the window made on site-b to reach site-a and site-c")

    agent.proc.kill()
    wait_source_everywhere([a, b, c], ["db-03"], "DOWN", timeout=20)
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    assert firing_emails(smtp) == [] and firing_sms(twilio) == [], describe(smtp, twilio, [a, b, c])

    status, body = api_call(c, "DELETE", f"/api/v1/maintenance/{window_id}")
    assert status == 200, body
    wait_for(lambda: all(state_on(x) == "expired" for x in (a, b)), 5, interval=0.25,
             what="the expiry made on site-c to reach site-a and site-b")
    wait_for(lambda: firing_sms(twilio) and firing_emails(smtp), 20, interval=0.25,
             what="the page once the window was expired on site-c")
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    dump = describe(smtp, twilio, [a, b, c])
    assert [s["To"] for s in firing_sms(twilio)] == ["+15550100001"], dump
