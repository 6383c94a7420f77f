"""No page lost across restarts (issue #9), with the real collector, agent, SMTP server and
Twilio-format fake.

1. Fault injection: the collector kills itself (FIREWATCH_CRASH_AT, docs/outbox.md "Crash
   points") at each step between a DOWN transition and its page being on disk; restarted
   without the variable, it must page alice on both channels, and the recovery must reach
   her too.
2. The restart that used to swallow the next outage: a host recovers, the collector is
   stopped (SIGKILL or SIGTERM) right after, before its route group's timer ran; after the
   restart the incident is resolved (all-clear sent), bob is never paged, and the host's
   next outage is a new incident that pages.
3. An operator's ack or resolve by hand cut off by a kill right after it was written: the
   restart cancels the pending escalation (bob is never paged) and tells alice."""
import json
import signal
import time

import pytest

from fwtest import api_call, http_get, metric_value, wait_for
from incident_life import start_paging_collector

POINTS = ["transition", "routed", "incident_written", "enqueued"]


def incidents(collector):
    status, body = http_get(collector.url + "/api/v1/incidents")
    assert status == 200, body
    return json.loads(body)["incidents"]


@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_each_step_still_pages_after_restart(harness, twilio, point):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="1h",
                                                    group_interval="1m")
    collector.start(env={"FIREWATCH_CRASH_AT": point})
    agent = harness.agent_config("db-01", [collector], interval="1s").start()
    collector.wait_state("db-01", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: not collector.proc.alive(), 30, what=f"the collector to crash at {point}")
    assert collector.proc.popen.returncode == -signal.SIGKILL
    assert f"FIREWATCH_CRASH_AT={point}" in collector.proc.output()
    assert inbox.of("alice") == [], "a page went out before the crash point"

    collector.start()
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30,
             what=f"alice paged on both channels after a crash at {point}")
    agent.start()
    wait_for(lambda: inbox.count("alice", "RESOLVED") == 2, 20, what="the all-clear")
    assert inbox.count("alice", "FIRING") == 2  # exactly once per channel
    assert inbox.of("bob") == []


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_a_restart_right_after_a_recovery_loses_no_page(harness, twilio, stop):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="10s",
                                                    group_interval="1m")
    collector.start()
    agent = harness.agent_config("db-02", [collector], interval="1s").start()
    collector.wait_state("db-02", "UP", timeout=10)

    agent.proc.kill()
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30, what="the first page")
    first_page = time.monotonic()
    first = incidents(collector)[0]["id"]
    agent.start()
    collector.wait_state("db-02", "UP", timeout=10)
    collector.proc.stop(stop)  # within the group's 1m interval, right after the recovery
    collector.start()
    wait_for(lambda: inbox.channels("alice", "RESOLVED") == {"email", "sms"}, 20,
             what="the all-clear after the restart, on both channels")
    # A kill while the all-clear was being sent may repeat it once (at-least-once).
    assert inbox.count("alice", "RESOLVED") <= 3, inbox.of("alice")
    assert incidents(collector)[0]["state"] == "resolved"

    # Past step 2's due time: the backup must not be paged for a healthy host.
    time.sleep(max(0.0, first_page + 13 - time.monotonic()))  # step 2 due 10 s after the page
    assert inbox.of("bob") == [], "bob was paged for a host that had recovered"

    agent.proc.kill()
    wait_for(lambda: inbox.count("alice", "FIRING") == 4, 30,
             what="the next outage to page alice again on both channels")
    latest = incidents(collector)[0]
    assert latest["id"] != first and latest["state"] == "open"


@pytest.mark.parametrize("action,point,told", [("ack", "ack_written", "ACKED"),
                                               ("resolve", "resolve_written", "RESOLVED")])
def test_an_ack_or_resolve_cut_off_by_a_kill_is_finished_after_restart(harness, twilio, action,
                                                                         point, told):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="4s",
                                                    group_interval="1m")
    collector.start(env={"FIREWATCH_CRASH_AT": point})
    agent = harness.agent_config("db-03", [collector], interval="1s").start()
    collector.wait_state("db-03", "UP", timeout=10)
    agent.proc.kill()  # stays down: only the operator closes the incident
    wait_for(lambda: inbox.count("alice", "FIRING") == 2, 30, what="alice's first page")
    incident_id = incidents(collector)[0]["id"]
    try:
        path = {"ack": f"/api/v1/ack/{incident_id}",
                "resolve": f"/api/v1/incidents/{incident_id}/resolve"}[action]
        api_call(collector, "POST", path)
    except OSError:
        pass  # the collector died answering: the point of the test
    wait_for(lambda: not collector.proc.alive(), 30, what=f"the collector to crash at {point}")
    assert collector.proc.popen.returncode == -signal.SIGKILL

    collector.start()
    wait_for(lambda: inbox.channels("alice", told) == {"email", "sms"}, 30,
             what=f"alice told {told} after the restart, on both channels")

    def outbox_idle():
        text = collector.metrics()
        return all(metric_value(text, "firewatch_outbox_items", {"state": s}) == 0
                   for s in ("pending", "sending", "held"))
    # Bob's step was due 4 s after alice's page: had it survived the kill it would be sent
    # before the outbox runs empty.
    wait_for(outbox_idle, 30, what="the outbox to have nothing left to send")
    assert inbox.of("bob") == [], "the next step paged for an incident an operator closed"
    assert incidents(collector)[0]["state"] == {"ack": "acked", "resolve": "resolved"}[action]
