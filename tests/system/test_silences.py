"""Silences mute pages for matching alerts until they expire or are deleted, and survive
a collector restart."""
import json
import time

import pytest

from fwtest import http_get, http_post, wait_for
from paging import FakeTwilio, SmtpServer, paging_config


@pytest.fixture
def twilio():
    t = FakeTwilio("ACtest", "demo-token")
    yield t
    t.close()


def test_silence_mutes_until_expired_and_survives_restart(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    now = time.time()
    silence = {
        "matchers": [{"name": "source", "value": "db-03", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "createdBy": "alice",
        "comment": "db-03 maintenance",
    }
    status, body = http_post(collector.url + "/api/v1/silences", json.dumps(silence).encode(),
                             "application/json")
    assert status == 200, body
    silence_id = json.loads(body)["silenceID"]
    bad = dict(silence, createdBy="")
    status, body = http_post(collector.url + "/api/v1/silences", json.dumps(bad).encode(),
                             "application/json")
    assert status == 400 and b"createdBy" in body

    agent = harness.agent_config("db-03", [collector], interval="1s").start()
    collector.wait_state("db-03", "UP", timeout=10)
    agent.proc.kill()
    collector.wait_state("db-03", "DOWN", timeout=20)
    time.sleep(4)  # two group intervals: a page, if the silence failed, would be out by now
    assert twilio.sent() == [] and smtp.messages() == []

    collector.proc.kill()
    collector.start()
    listed = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert [s["id"] for s in listed] == [silence_id]
    assert listed[0]["comment"] == "db-03 maintenance"

    req = __import__("urllib.request").request.Request(
        f"{collector.url}/api/v1/silences/{silence_id}", method="DELETE")
    with __import__("urllib.request").request.urlopen(req, timeout=5) as r:
        assert r.status == 200
    wait_for(lambda: len(twilio.sent()) == 1, 20, what="the page once the silence expired")
    assert twilio.sent()[0]["Body"].startswith("FIRING db-03 DOWN")
