"""Chaos, bounded (issue #9): hosts die and recover while the collector is killed
(SIGKILL and SIGTERM) around detection, delivery and recovery, with SMTP or Twilio hung or
refusing in some rounds. No page may be lost, late, sent to the backup (bob) or doubled
without a crash mid-send to explain it. The harness and its invariants: chaos.py; the
long run (>= 200 kill points): bench/chaos; how to read the summary: docs/outbox.md,
"Chaos test".

FIREWATCH_CHAOS_SEED picks another random sequence (the seed is printed; a failure is
replayed by running with the same seed), FIREWATCH_CHAOS_KILLS another number of kill
points. Logs, configs, the Maildir and chaos-report.json stay in pytest's tmp dir.
"""
import os
import signal
import time

import chaos

SEED = int(os.environ.get("FIREWATCH_CHAOS_SEED", "20261202"))
KILLS = int(os.environ.get("FIREWATCH_CHAOS_KILLS", "20"))


def test_no_page_lost_late_or_doubled_across_collector_kills(harness, twilio):
    print(f"chaos seed {SEED} (FIREWATCH_CHAOS_SEED), {KILLS} kill points (FIREWATCH_CHAOS_KILLS)",
          flush=True)
    # The time budget keeps a broken build within ctest's timeout: rounds stop starting
    # after it, the checks still run on every round done.
    report = chaos.run(harness, twilio, seed=SEED, kills=KILLS, max_seconds=360)
    print(report.text())
    assert not report.violations, f"seed {SEED}\n" + report.text()
    assert len(report.c.kills) >= min(KILLS, 10), report.summary()


def test_sms_accepted_just_before_a_crash_still_gets_its_resolved(harness, twilio):
    """Pinned from the chaos runs (a RESOLVED SMS lost in 3 of about 40 `send-sms` kills):
    Twilio accepts the FIRING SMS and the collector is SIGKILLed before it records that
    (the outbox's `interrupted` send: outcome unknown); Twilio answers 500 for a few seconds
    after the restart and the host recovers meanwhile, so the incident resolves before the
    SMS is sent again. Alice has the FIRING SMS, so she must get the RESOLVED SMS too."""
    c = chaos.Chaos(harness, twilio, seed=SEED, kills=0)
    try:
        c.start()
        c.round = 1
        c.hold_sms("FIRING web-1 ")
        (o,) = c.kill_agents(["web-1"])
        assert c.wait(lambda: twilio.held.is_set(), timeout=30), "no FIRING SMS"
        c.crash("send-sms", sig=signal.SIGKILL,
                before_restart=lambda: c.sinks.start_fault("twilio_500", 4))
        c.start_agent("web-1")
        o.t_restart = time.time()
        assert c.wait(lambda: c.states().get("web-1") == "UP", timeout=30)
        o.t_up = time.time()
        c.await_pages("RESOLVED", [o], lambda: c.moving_deadline(o.t_up, chaos.RESOLVE_DEADLINE_S), ())
        c.settle()
        report = c.analyse()
    finally:
        c.sinks.close()
    print(report.text())
    assert not report.violations, report.text()
