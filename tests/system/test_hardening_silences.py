"""Silences cannot take paging down (#10), against the real collector: hostile regexes are
refused (or evaluated in bounded time) and a killed agent still pages after them; a silence
that would mute every alert needs "force"; every size and count has a clear 4xx naming its
limit; a bad silence planted in incidents.db is skipped at start and paging works."""
import json
import os
import sqlite3
import subprocess
import time
import urllib.request

from fwtest import CTL, bearer, http_get, http_post, metric_value, wait_for
from paging import SmtpServer, paging_config

NESTED = "(" * 24000 + "a" + ")" * 24000           # std::regex overflowed its stack on this
BOMB = "(.*)*" * 20 + "X"                           # exponential for a backtracking engine


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def silence(matchers, comment="maintenance", created_by=None, **extra):
    """A silence body; matchers as (name, value, is_regex[, is_equal])."""
    now = time.time()
    body = {
        "matchers": [{"name": m[0], "value": m[1], "isRegex": m[2],
                      "isEqual": m[3] if len(m) > 3 else True} for m in matchers],
        "startsAt": iso(now - 5), "endsAt": iso(now + 3600),
        "comment": comment,
    }
    if created_by is not None:  # left out, the collector records the token's operator
        body["createdBy"] = created_by
    body.update(extra)
    return body


def post(collector, body, timeout=10):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, answer = http_post(collector.url + "/api/v1/silences", raw, "application/json",
                               timeout=timeout, headers=bearer(collector.h.operator_token))
    return status, answer.decode(errors="replace")


def expire(collector, silence_id):
    req = urllib.request.Request(f"{collector.url}/api/v1/silences/{silence_id}", method="DELETE",
                                 headers=bearer(collector.h.operator_token))
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def kill_agent_and_expect_page(harness, collector, twilio, source, labels=None):
    """The end-to-end proof that paging still works: an agent goes UP, is killed, and
    alice gets the SMS."""
    before = len(twilio.sent())
    agent = harness.agent_config(source, [collector], interval="1s", labels=labels).start()
    collector.wait_state(source, "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(twilio.sent()) > before, 30, what=f"the page for {source}")
    assert twilio.sent()[before]["Body"].startswith(f"FIRING {source} DOWN"), twilio.sent()


def start_collector(harness, twilio):
    smtp = SmtpServer(harness).start()
    return harness.collector_config(
        extra=paging_config(harness, smtp.port, twilio.port, wait="1h")).start()


def test_hostile_regexes_are_refused_or_bounded_and_paging_still_works(harness, twilio):
    collector = start_collector(harness, twilio)

    started = time.monotonic()
    status, body = post(collector, silence([("source", NESTED, True)]))
    assert status == 400 and "the limit is 1024" in body, (status, body[:300])
    assert collector.proc.alive()

    # The backtracking bomb is broad (nothing pinned): refused without force...
    status, body = post(collector, silence([("note", BOMB, True)]))
    assert status == 400 and "is broad" in body, (status, body[:300])
    # ...and when forced, accepted and evaluated in linear time against every alert.
    status, body = post(collector, silence([("note", BOMB, True)], force=True))
    assert status == 200, body
    assert time.monotonic() - started < 10
    # Regex syntax only a backtracking engine has is refused, naming RE2's reason.
    status, body = post(collector, silence([("source", "(?=web)web-1", True)]))
    assert status == 400 and "invalid regex" in body, body

    # The agent's `note` label is what the bomb is matched against on the alerting thread.
    kill_agent_and_expect_page(harness, collector, twilio, "db-03",
                               labels={"dc": "dc1", "note": "a" * 100})
    assert collector.proc.alive()


def test_a_silence_that_mutes_everything_needs_force(harness, twilio):
    collector = start_collector(harness, twilio)
    for matchers in ([("alertname", ".+", True)],
                     [("alertname", "", False, False)],            # alertname!=""
                     [("alertname", ".*", True)],
                     [("alertname", "SourceDown", False)],          # every host-down page
                     [("source", ".+", True), ("dc", "dc2", False, False)]):
        status, body = post(collector, silence(matchers))
        assert status == 400 and "is broad" in body and '\\"force\\": true' in body, (matchers, body)
    assert json.loads(http_get(collector.url + "/api/v1/silences")[1]) == []

    # Narrow ones are fine, with or without alertname.
    status, body = post(collector, silence([("alertname", "SourceDown", False),
                                            ("dc", "dc9", False)]))
    assert status == 200, body

    # firewatchctl checks the same rule before sending, and --force sends "force": true.
    url = ["--collector", collector.url, "--token-file", harness.operator_token_file]
    r = subprocess.run([CTL, "silence", "add", "alertname=~.+", "--comment", "all", *url],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "is broad" in r.stderr and "--force" in r.stderr, r.stderr
    r = subprocess.run([CTL, "silence", "add", "alertname=~.+", "--comment", "decommissioning",
                        "--force", "--duration", "10m", *url],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    forced_id = r.stdout.strip()
    listed = {s["id"]: s for s in json.loads(http_get(collector.url + "/api/v1/silences")[1])}
    assert listed[forced_id].get("force") is True
    expire(collector, forced_id)

    # With the forced silence expired, nothing broad is left: a killed agent pages.
    kill_agent_and_expect_page(harness, collector, twilio, "web-7")


def test_limits_are_clear_client_errors(harness, twilio):
    collector = start_collector(harness, twilio)
    one = ("source", "web-1", False)

    status, body = post(collector, b"{" + b" " * (64 * 1024) + b"}")
    assert status == 413 and "65536 bytes" in body, (status, body)
    status, body = post(collector, silence([("source", "web-" + "x" * 1021, True)]))
    assert status == 400 and "regex is 1025 bytes; the limit is 1024" in body, body
    status, body = post(collector, silence([("source", "w" * 1025, False)]))
    assert status == 400 and "value is 1025 bytes; the limit is 1024" in body, body
    status, body = post(collector, silence([one] * 33))
    assert status == 400 and "33 matchers; the limit is 32" in body, body
    status, body = post(collector, silence([one], comment="c" * 1025))
    assert status == 400 and "comment: 1025 bytes; the limit is 1024" in body, body
    # createdBy is the token's operator: another name (a long one too) is refused.
    status, body = post(collector, silence([one], created_by="a" * 257))
    assert status == 400 and "createdBy" in body, body
    status, body = post(collector, silence([one], endsAt="9999-01-01T00:00:00Z"))
    assert status == 400 and "endsAt" in body, body
    status, body = post(collector, silence([("source", r"\pL{50}\pL{50}", True)]))
    assert status == 400 and "too complex" in body, body

    # 1000 active or pending silences at most; the next one is refused until one ends.
    ids = []
    for i in range(1000):
        status, body = post(collector, silence([("source", f"host-{i}", False)]))
        assert status == 200, (i, body)
        ids.append(json.loads(body)["silenceID"])
    status, body = post(collector, silence([("source", "host-1000", False)]))
    assert status == 400 and "1000 active or pending silences already" in body, body
    expire(collector, ids[0])
    status, body = post(collector, silence([("source", "host-1000", False)]))
    assert status == 200, body
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_silences",
                                  {"state": "active"}) == 1000, 10, what="1000 active silences")
    assert collector.proc.alive()


def test_bad_stored_silences_are_skipped_at_start_and_paging_works(harness, twilio):
    collector = start_collector(harness, twilio)
    status, body = post(collector, silence([("source", "web-1", False)], comment="kept"))
    assert status == 200, body
    kept_id = json.loads(body)["silenceID"]
    collector.proc.stop()

    good = json.loads(http_get_stored(collector, kept_id))
    rows = {
        "nested": dict(good, id="nested", matchers=[
            {"name": "source", "value": NESTED, "isRegex": True, "isEqual": True}]),
        "bomb": dict(good, id="bomb", matchers=[
            {"name": "source", "value": BOMB, "isRegex": True, "isEqual": True}]),
        "broad": dict(good, id="broad", matchers=[
            {"name": "alertname", "value": ".*", "isRegex": True, "isEqual": True}]),
    }
    db = sqlite3.connect(os.path.join(collector.data_dir, "incidents.db"))
    with db:
        for row_id, body in rows.items():
            db.execute("INSERT INTO silences(id, body) VALUES(?, ?)", (row_id, json.dumps(body)))
        db.execute("INSERT INTO silences(id, body) VALUES('garbage', '{not json')")
    db.close()

    started = time.monotonic()
    collector.start()
    assert time.monotonic() - started < 20
    listed = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert [s["id"] for s in listed] == [kept_id]
    log = collector.proc.output()
    for row_id in ("nested", "bomb", "broad", "garbage"):
        assert f"skipping stored silence '{row_id}'" in log, log[-3000:]
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_silences_refused_total",
                                  {"origin": "store"}) == 4, 10, what="the store refusals counted")
    kill_agent_and_expect_page(harness, collector, twilio, "db-04")


def http_get_stored(collector, silence_id):
    """The stored JSON of one silence, read from incidents.db (the collector is stopped)."""
    db = sqlite3.connect(os.path.join(collector.data_dir, "incidents.db"))
    try:
        (body,) = db.execute("SELECT body FROM silences WHERE id = ?", (silence_id,)).fetchone()
        return body
    finally:
        db.close()

