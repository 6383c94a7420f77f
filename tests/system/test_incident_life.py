"""Pages follow the truth (issue #16), with the real collector, agent, SMTP server and the
Twilio-format fake: a recovery stops escalation at once (group_interval is 5m here and
never reached), everyone paged hears the all-clear, and a flap reopens the incident."""
import json
import time

from fwtest import http_get, wait_for
from incident_life import start_paging_collector


def incidents(collector):
    status, body = http_get(collector.url + "/api/v1/incidents")
    assert status == 200, body
    return json.loads(body)["incidents"]


def test_recovery_between_step_one_and_two_never_pages_step_two(harness, twilio):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="15s")
    collector.start()
    agent = harness.agent_config("web-01", [collector], interval="1s").start()
    collector.wait_state("web-01", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30, what="alice paged by email and SMS")
    first_page = time.monotonic()
    agent.start()
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 2, 12,
             what="alice's all-clear on both channels, long before group_interval (5m)")
    assert incidents(collector)[0]["state"] == "resolved"
    # Step 2 was due 15 s after the first page: wait past it; bob must hear nothing.
    time.sleep(max(0.0, first_page + 18 - time.monotonic()))  # absence needs the due time to pass
    assert inbox.of("bob") == [], "bob was paged for a host that had recovered"
    assert inbox.of("alice") == [("FIRING", "email"), ("FIRING", "sms"),
                                 ("RESOLVED", "email"), ("RESOLVED", "sms")]


def test_with_two_steps_paged_both_contacts_get_the_all_clear(harness, twilio):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="3s")
    collector.start()
    agent = harness.agent_config("web-02", [collector], interval="1s").start()
    collector.wait_state("web-02", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: inbox.count("bob", "FIRING") == 2, 40, what="step 2 (bob) paged")
    agent.start()
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 2 and inbox.count("bob", "RESOLVED") == 2,
             15, what="the all-clear to alice and bob on both channels")
    assert inbox.count("alice", "FIRING") == 2 and inbox.count("bob", "FIRING") == 2


def test_a_flap_reopens_the_incident_without_paging_step_one_again(harness, twilio):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="1h",
                                                    reopen_window="2m")
    collector.start()
    agent = harness.agent_config("web-03", [collector], interval="1s").start()
    collector.wait_state("web-03", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30, what="alice paged")
    incident_id = incidents(collector)[0]["id"]
    agent.start()
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 2, 15, what="the first all-clear")
    agent.proc.kill()
    wait_for(lambda: incidents(collector)[0]["state"] == "open", 30, what="the incident to reopen")
    inc = incidents(collector)[0]
    assert inc["id"] == incident_id and inc["reopened"] == 1, inc
    assert len(incidents(collector)) == 1
    agent.start()
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 4, 15, what="the second all-clear")
    # Step 1 was paged once for the whole flapping incident.
    assert inbox.count("alice", "FIRING") == 2
    assert inbox.of("bob") == []
