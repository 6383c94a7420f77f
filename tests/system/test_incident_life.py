"""Pages follow the truth (issue #16), with the real collector, agent, SMTP server and the
Twilio-format fake: a recovery stops escalation at once (group_interval is 5m here and
never reached), everyone paged hears the all-clear, and a flap reopens the incident; an
operator's resolve by hand (issue #11) does the same for a host still DOWN."""
import json
import time

from fwtest import api_call, http_get, wait_for
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


def test_resolved_by_hand_while_down_tells_everyone_paged_and_opens_nothing_until_it_fails_again(
        harness, twilio):
    """docs/routing.md, "Resolved by hand": the operator resolves while the host is still
    DOWN. Escalation stops, alice hears RESOLVED by the operator on both channels (with the
    comment in the email), bob is never paged, the still-DOWN host opens no new incident,
    its recovery is quiet, and its next failure is a new incident paged from step 1."""
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="6s",
                                                    reopen_window="2m")
    collector.start()
    agent = harness.agent_config("web-05", [collector], interval="1s").start()
    collector.wait_state("web-05", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30, what="alice paged by email and SMS")
    first_page = time.monotonic()
    incident_id = incidents(collector)[0]["id"]
    status, body = api_call(collector, "POST", f"/api/v1/incidents/{incident_id.lower()}/resolve",
                            {"comment": "PSU swap in progress, CHG-77"})
    assert status == 200, body
    assert body["id"] == incident_id and body["state"] == "resolved", body
    assert body["resolved_by"] == harness.operator and body["resolve_comment"] == "PSU swap in progress, CHG-77"
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 2, 15, what="alice's RESOLVED on both channels")
    sms = [s["Body"] for s in twilio.sent() if s["Body"].startswith("RESOLVED")]
    assert len(sms) == 1 and sms[0].startswith("RESOLVED web-05 DOWN"), sms
    assert sms[0].endswith(f" by {harness.operator} ({incident_id})"), sms
    mail = [m for m in smtp.messages() if str(m["Subject"]).startswith("[RESOLVED]")][0]
    text = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert f"Resolved by {harness.operator} at " in text and "PSU swap in progress, CHG-77" in text, text
    assert "still failing when resolved" in text, text

    # Refusals: nobody resolves in another's name, comments are bounded, ids must exist,
    # and without a token nothing happens.
    assert api_call(collector, "POST", f"/api/v1/incidents/{incident_id}/resolve", {"by": "mallory"})[0] == 400
    assert api_call(collector, "POST", f"/api/v1/incidents/{incident_id}/resolve", {"comment": "x" * 1025})[0] == 400
    assert api_call(collector, "POST", f"/api/v1/incidents/{incident_id}/resolve", {"comment": "a\nb"})[0] == 400
    assert api_call(collector, "POST", "/api/v1/incidents/NOSUCH/resolve")[0] == 404
    assert api_call(collector, "POST", f"/api/v1/incidents/{incident_id}/resolve", token="")[0] == 401

    # Step 2 (bob) was due 6 s after the first page: nobody may page it, and the source,
    # still DOWN, opens no new incident.
    time.sleep(max(0.0, first_page + 9 - time.monotonic()))  # absence needs the due time to pass
    assert collector.state("web-05") == "DOWN"
    assert inbox.of("bob") == [], "bob was paged for an incident resolved by hand"
    assert [i["id"] for i in incidents(collector)] == [incident_id]
    assert inbox.count("alice", "FIRING") == 2

    agent.start()  # recovers: nothing to say, the incident is closed already
    collector.wait_state("web-05", "UP", timeout=15)
    agent.proc.kill()  # fails again, within reopen_window: a new incident, from step 1
    wait_for(lambda: inbox.count("alice", "FIRING") == 4, 30, what="the new failure paged")
    assert inbox.count("alice", "RESOLVED") == 2, "the recovery after a resolve by hand was announced"
    new = incidents(collector)[0]
    assert new["id"] != incident_id and new["state"] == "open" and new["reopened"] == 0, new
