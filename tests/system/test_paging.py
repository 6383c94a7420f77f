"""Pages that reach people: email through a real SMTP server, SMS through a Twilio-compatible
API, acks that stop escalation, resolves, and nothing lost when SMTP or the collector dies."""
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


def test_killed_agent_pages_by_email_and_sms_ack_stops_escalation_and_resolve_follows(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="8s")).start()
    agent = harness.agent_config("db-01", [collector], interval="1s").start()
    collector.wait_state("db-01", "UP", timeout=10)

    agent.proc.kill()
    killed = time.monotonic()
    wait_for(lambda: len(smtp.messages()) == 1 and len(twilio.sent()) == 1, 30,
             what="one email and one SMS")
    assert time.monotonic() - killed < 30
    mail = smtp.messages()[0]
    assert mail["To"] == "alice@example.com"
    assert "[FIRING]" in mail["Subject"] and "db-01" in mail["Subject"]
    assert mail["Message-ID"] and mail["Date"]
    body = mail.get_payload(decode=True).decode()
    assert "Check the host's power and network." in body  # the runbook from config
    sms = twilio.sent()[0]
    assert sms["To"] == "+15550100001" and sms["From"] == "+15550100000"
    assert sms["Body"].startswith("FIRING db-01 DOWN") and len(sms["Body"]) <= 160
    incident_id = sms["Body"].rsplit(" ", 1)[1]
    assert twilio.errors == []

    status, body = http_post(f"{collector.url}/api/v1/ack/{incident_id}",
                             json.dumps({"by": "alice"}).encode(), "application/json")
    assert status == 200, body
    assert json.loads(body)["state"] == "acked"
    # Step 2 (bob) was due 8 s after the first page: it must not come.
    time.sleep(10)  # the absence of a page can only be observed by waiting past its due time
    assert [m["To"] for m in smtp.messages()] == ["alice@example.com"]
    assert [s["To"] for s in twilio.sent()] == ["+15550100001"]

    agent.start()
    wait_for(lambda: len(twilio.sent()) == 2 and len(smtp.messages()) == 2, 30,
             what="resolve notifications")
    assert twilio.sent()[1]["Body"].startswith("RESOLVED db-01")
    assert "[RESOLVED]" in smtp.messages()[1]["Subject"]
    status, body = http_get(collector.url + "/api/v1/incidents")
    incidents = json.loads(body)["incidents"]
    assert incidents[0]["id"] == incident_id and incidents[0]["state"] == "resolved"


def test_email_waits_for_smtp_and_survives_a_collector_kill(harness, twilio):
    smtp = SmtpServer(harness)  # not started: the SMTP server is down
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    agent = harness.agent_config("db-02", [collector], interval="1s").start()
    collector.wait_state("db-02", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(twilio.sent()) == 1, 30, what="the SMS page")
    # The email is retried meanwhile; kill the collector in the middle of it.
    wait_for(lambda: "page" in collector.proc.output() and "via email" in collector.proc.output(), 15,
             what="a failed email attempt")
    collector.proc.kill()
    smtp.start()
    collector.start()
    wait_for(lambda: len(smtp.messages()) == 1, 30, what="the email after SMTP came back")
    assert smtp.messages()[0]["To"] == "alice@example.com"
    # Exactly once each, across the restart: no duplicate page for the same step.
    time.sleep(3)  # give a duplicate, if any, the time to show up
    assert len(smtp.messages()) == 1
    assert len(twilio.sent()) == 1
