"""A collector killed with SIGKILL and restarted remembers every source and its history."""
import os
import sqlite3
import time

from fwtest import metric_value, wait_for


def test_collector_kill9_restart_keeps_sources_and_history(harness):
    collector = harness.collector_config().start()
    agents = [harness.agent_config(f"host-{i}", [collector], interval="1s").start() for i in range(3)]
    for a in agents:
        collector.wait_state(a.source_id, "UP", timeout=10)
    # host-2 goes away for good; host-0 stops cleanly.
    agents[2].proc.kill()
    collector.wait_state("host-2", "DOWN", timeout=20)
    agents[0].proc.stop()
    collector.wait_state("host-0", "STOPPED", timeout=5)
    before = collector.sources()
    # The transitions are persisted at once; last_seen updates are batched each second.
    wait_for(lambda: len(collector.source("host-2")["transitions"]) >= 2, 5, what="history persisted")

    collector.proc.kill()
    collector.start()
    after = collector.sources()
    assert set(after) == {"host-0", "host-1", "host-2"}
    for sid in after:
        assert after[sid]["first_seen"] == before[sid]["first_seen"], sid
    assert after["host-2"]["state"] == "DOWN"
    assert after["host-0"]["state"] == "STOPPED"
    history = [t["to"] for t in collector.source("host-2")["transitions"]]  # newest first
    assert history[0] == "DOWN" and history[-1] == "UP" and len(history) >= 2, history
    # host-1 kept beating through the restart: still UP, and not "new" again.
    collector.wait_state("host-1", "UP", timeout=5)
    assert "new source host-1" not in collector.proc.output().split("restored")[-1]
    wait_for(lambda: collector.sources()["host-1"]["heartbeats"] > before["host-1"]["heartbeats"], 10,
             what="heartbeats counted on from before the restart")
    # No page storm for sources that were fine.
    assert [p["source"] for p in collector.pages()] == ["host-2"]



def test_last_seen_batches_lose_at_most_one_period_and_no_false_down(harness):
    """collector.last_seen_every: heartbeats reach collector.db in batches, not one write
    per heartbeat; a kill -9 loses at most about one batch of them, never a transition,
    and the restarted collector judges nobody DOWN who kept sending (docs/storage.md,
    "When rows are written")."""
    period = 3.0
    collector = harness.collector_config()
    with open(collector.config_path) as f:
        text = f.read()
    with open(collector.config_path, "w") as f:
        f.write(text.replace("collector:\n", f"collector:\n  last_seen_every: {int(period)}s\n", 1))
    collector.start()
    agents = [harness.agent_config(f"host-{i}", [collector], interval="1s").start() for i in range(3)]
    for a in agents:
        collector.wait_state(a.source_id, "UP", timeout=10)
    agents[2].proc.kill()
    collector.wait_state("host-2", "DOWN", timeout=20)

    # Batches, not a write per heartbeat: while nothing changes state, the store commits
    # about one batch per period although two sources send every second.
    def committed():
        return metric_value(collector.metrics(), "firewatch_store_batches_committed_total")
    c0, t0 = committed(), time.monotonic()
    wait_for(lambda: time.monotonic() - t0 >= 3 * period, 4 * period + 5, what="three periods")
    c1, elapsed = committed(), time.monotonic() - t0
    assert c1 - c0 <= elapsed / period + 1.5, (c0, c1, elapsed)
    assert c1 - c0 >= 1, "heartbeats are still written, in batches"

    before = collector.sources()
    collector.proc.kill()
    db = sqlite3.connect(os.path.join(collector.data_dir, "collector.db"))
    stored = {sid: (beats, state) for sid, beats, state in
              db.execute("SELECT source_id, heartbeats, state FROM sources")}
    downs = db.execute("SELECT count(*) FROM transitions WHERE source_id = 'host-2' AND to_state = ?",
                       ("DOWN",)).fetchone()[0]
    db.close()
    # At most one period (3 heartbeats at 1 s) plus the time between reading the API and
    # the kill are lost; the DOWN transition is there.
    for sid in ("host-0", "host-1"):
        assert stored[sid][0] >= before[sid]["heartbeats"] - (period + 2), (sid, stored, before[sid])
    assert stored["host-2"][1] == "DOWN" and downs == 1, (stored, downs)

    collector.start()
    # The sources that kept sending stay UP through a whole detection window (backstop:
    # 3 intervals + 2 s grace = 5 s) after the restart; the dead one is still DOWN.
    t_ready = time.monotonic()
    while time.monotonic() - t_ready < 7:
        now = collector.sources()
        assert now["host-0"]["state"] == "UP" and now["host-1"]["state"] == "UP", now
        assert now["host-2"]["state"] == "DOWN", now
        time.sleep(0.5)
    assert [p["source"] for p in collector.pages()] == ["host-2"]


def test_a_check_that_starts_failing_is_on_disk_at_once(harness):
    """A check's alert-state change is written with its source's row at once, not with
    the last-seen batch: after a kill -9 the restored check is the failing one, so the
    restart cannot resolve its page as recovered (docs/storage.md, "When rows are
    written"). last_seen_every is 5 minutes here: only the immediate write can put it on
    disk before the kill."""
    import socket

    collector = harness.collector_config()
    with open(collector.config_path) as f:
        text = f.read()
    with open(collector.config_path, "w") as f:
        f.write(text.replace("collector:\n", "collector:\n  last_seen_every: 5m\n", 1))
    collector.start()
    service = socket.socket()
    service.bind(("127.0.0.1", 0))
    service.listen()
    port = service.getsockname()[1]
    try:
        harness.agent_config("db-01", [collector], interval="1s", extra=f"""checks:
  - {{name: postgres, type: tcp, address: "127.0.0.1:{port}", interval: 1s, timeout: 500ms}}
""").start()

        def postgres():
            s = collector.sources().get("db-01")
            return {c["name"]: c["state"] for c in s["checks"]}.get("postgres") if s else None
        wait_for(lambda: postgres() == "OK", 15, what="the tcp check to be OK")
    finally:
        service.close()
    wait_for(lambda: postgres() == "CRITICAL", 15, what="the tcp check to fail")
    collector.proc.kill()
    db = sqlite3.connect(os.path.join(collector.data_dir, "collector.db"))
    (checks,) = db.execute("SELECT checks FROM sources WHERE source_id = 'db-01'").fetchone()
    db.close()
    assert "postgres=CRITICAL" in checks, checks
