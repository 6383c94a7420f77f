"""A collector killed with SIGKILL and restarted remembers every source and its history."""
import time

from fwtest import wait_for


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
