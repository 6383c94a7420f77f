"""Pages that reach people: email through a real SMTP server, SMS through a Twilio-compatible
API, acks that stop escalation, resolves, nothing lost when SMTP or the collector dies, and a
channel's rate limit holding pages back."""
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

from fwtest import api_call, http_get, http_post, metric_value, wait_for
from paging import TWILIO_INBOUND_URL, SmtpServer, paging_config, twilio_signature
from test_metrics import promtool_check


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
    # The outbox's outcomes reach /metrics within a flush (1 s), in a valid exposition.
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_notifications_total",
                                  {"channel": "sms", "result": "delivered"}) >= 1, 10,
             what="firewatch_notifications_total for the SMS")
    text = collector.metrics()
    assert metric_value(text, "firewatch_incidents", {"state": "open"}) == 1
    assert metric_value(text, "firewatch_outbox_items", {"state": "pending"}) is not None
    rc, out = promtool_check(text)
    assert rc == 0 and out.strip() == "", out

    status, body = api_call(collector, "POST", f"/api/v1/ack/{incident_id}")
    assert status == 200, body
    assert body["state"] == "acked" and body["acked_by"] == harness.operator
    # alice, paged on both channels, hears on both who took it.
    wait_for(lambda: len(smtp.messages()) == 2 and len(twilio.sent()) == 2, 15,
             what="the ack announcement")
    assert "[ACKED]" in smtp.messages()[1]["Subject"]
    assert twilio.sent()[1]["Body"].startswith("ACKED db-01")
    assert f"by {harness.operator}" in twilio.sent()[1]["Body"]
    # Step 2 (bob) was due 8 s after the first page: it must not come.
    time.sleep(10)  # the absence of a page can only be observed by waiting past its due time
    assert [m["To"] for m in smtp.messages()] == ["alice@example.com"] * 2
    assert [s["To"] for s in twilio.sent()] == ["+15550100001"] * 2

    agent.start()
    wait_for(lambda: len(twilio.sent()) == 3 and len(smtp.messages()) == 3, 30,
             what="resolve notifications")
    assert twilio.sent()[2]["Body"].startswith("RESOLVED db-01")
    assert "[RESOLVED]" in smtp.messages()[2]["Subject"]
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


def incident_state(collector, incident_id):
    status, body = http_get(collector.url + "/api/v1/incidents")
    assert status == 200, body
    return {i["id"]: i for i in json.loads(body)["incidents"]}[incident_id]


def test_email_ack_link_get_confirms_only_and_post_acks(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h", ack_secret=True)).start()
    agent = harness.agent_config("db-03", [collector], interval="1s").start()
    collector.wait_state("db-03", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(smtp.messages()) == 1, 30, what="the email page")
    body = smtp.messages()[0].get_payload(decode=True).decode()
    m = re.search(r"^Acknowledge: (http://\S+/ack\?(\S+))", body, re.M)
    assert m, body
    query = m.group(2)
    fields = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
    incident_id = fields["i"]
    assert set(fields) == {"i", "e", "s"}
    link = f"{collector.url}/ack?{query}"  # external_url in the config is not the test's

    # (a) GET shows a confirm page and changes nothing (mail scanners open links).
    for _ in range(2):
        status, page = http_get(link)
        assert status == 200, page
        assert incident_id.encode() in page and b'method="post"' in page
    assert incident_state(collector, incident_id)["state"] == "open"
    # A tampered signature is refused.
    bad = dict(fields, s=fields["s"][:-2] + ("AA" if not fields["s"].endswith("AA") else "BB"))
    status, page = http_post(f"{collector.url}/ack", urllib.parse.urlencode(bad).encode(),
                             "application/x-www-form-urlencoded")
    assert status == 403, page
    assert incident_state(collector, incident_id)["state"] == "open"

    # (b) POST with the same fields acks.
    status, page = http_post(f"{collector.url}/ack",
                             urllib.parse.urlencode(dict(fields, by="carol")).encode(),
                             "application/x-www-form-urlencoded")
    assert status == 200, page
    inc = incident_state(collector, incident_id)
    # The link is the credential; the typed name is marked as such.
    assert inc["state"] == "acked" and inc["acked_by"] == "carol (email link)"


def post_twilio(collector, params, signature):
    req = urllib.request.Request(f"{collector.url}/api/v1/twilio/inbound",
                                 data=urllib.parse.urlencode(params).encode(), method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded",
                                          "X-Twilio-Signature": signature})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


def test_sms_reply_through_signed_twilio_webhook_acks(harness, twilio):
    collector = harness.collector_config(extra=paging_config(harness, free_smtp_port(), twilio.port,
                                                             wait="1h")).start()
    agent = harness.agent_config("db-04", [collector], interval="1s").start()
    collector.wait_state("db-04", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(twilio.sent()) == 1, 30, what="the SMS page")
    incident_id = twilio.sent()[0]["Body"].rsplit(" ", 1)[1]

    params = {"From": "+15550100001", "To": "+15550100000", "Body": f"  ack {incident_id.lower()} ",
              "MessageSid": "SM" + "1" * 32, "AccountSid": "ACtest"}
    # Wrongly signed (another token): refused, nothing acked.
    status, _, body = post_twilio(collector, params, twilio_signature("wrong", TWILIO_INBOUND_URL, params))
    assert status == 403, body
    status, _, body = post_twilio(collector, params, "")
    assert status == 403, body
    assert incident_state(collector, incident_id)["state"] == "open"

    status, ctype, body = post_twilio(collector, params,
                                      twilio_signature("demo-token", TWILIO_INBOUND_URL, params))
    assert status == 200, body
    assert ctype.startswith("text/xml")
    assert body == ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acknowledged '
                    f"{incident_id}</Message></Response>")
    inc = incident_state(collector, incident_id)
    assert inc["state"] == "acked" and inc["acked_by"] == "alice (sms)"


def free_smtp_port():
    from fwtest import free_port
    return free_port()  # nothing listens: email pages just wait in the outbox


def test_channel_rate_limit_holds_pages_over_it(harness, twilio):
    smtp = SmtpServer(harness).start()
    sms_from = '    from: "+15550100000"\n'
    extra = paging_config(harness, smtp.port, twilio.port, wait="1h")
    assert sms_from in extra
    extra = extra.replace(sms_from, sms_from + "    rate_limit: {count: 1, per: 1h}\n")
    collector = harness.collector_config(extra=extra).start()
    agents = [harness.agent_config(s, [collector], interval="1s").start() for s in ("rl-01", "rl-02")]
    for s in ("rl-01", "rl-02"):
        collector.wait_state(s, "UP", timeout=10)
    for a in agents:
        a.proc.kill()
    # Two incidents: email (no channel limit) carries both, SMS only the first; the
    # second SMS is held for the channel's next token (an hour away), not dropped.
    wait_for(lambda: len(smtp.messages()) == 2, 30, what="two emails")
    wait_for(lambda: metric_value(collector.metrics(), "firewatch_outbox_items", {"state": "held"}) == 1,
             10, what="one SMS held by the channel's rate limit")
    assert len(twilio.sent()) == 1, twilio.sent()
