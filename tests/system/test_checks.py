"""Checks reported in heartbeats page when they turn CRITICAL and resolve when they recover."""
import os
import time

from fwtest import encode_frame, send_udp, wait_for
from paging import SmtpServer, paging_config

CRITICAL, OK = 2, 0


def test_critical_check_pages_and_recovery_resolves(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    boot = os.urandom(16)
    seq = 0

    def beat(state, output):
        nonlocal seq
        seq += 1
        send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "app-01", boot, seq,
                                                  labels={"dc": "dc1"},
                                                  checks=[("disk", state, output)]))

    beat(OK, "42% used")
    wait_for(lambda: collector.state("app-01") == "UP", 5, what="the source")
    beat(CRITICAL, "/var 99% used")
    wait_for(lambda: len(smtp.messages()) == 1 and len(twilio.sent()) == 1, 20,
             what="the check's pages")
    mail = smtp.messages()[0]
    assert "[FIRING]" in mail["Subject"] and "app-01" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()
    assert "check = disk" in body and "severity = critical" in body and "/var 99% used" in body
    assert collector.sources()["app-01"]["checks"][0]["state"] == "CRITICAL"

    # Keep the source alive while the check recovers.
    beat(OK, "40% used")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(twilio.sent()) < 2:
        beat(OK, "40% used")
        time.sleep(0.5)  # heartbeat pacing, as an agent would send them
    assert len(twilio.sent()) == 2, twilio.sent()
    assert twilio.sent()[1]["Body"].startswith("RESOLVED app-01")
