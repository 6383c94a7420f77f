"""An agent's life as a collector sees it: UP, killed -> DOWN, stopped -> STOPPED, back -> UP."""
import signal
import time

from fwtest import wait_for


def test_killed_agent_goes_down_within_20s_on_default_settings(harness):
    collector = harness.collector_config().start()
    agent = harness.agent_config("web-01", [collector], interval="5s").start()
    collector.wait_state("web-01", "UP", timeout=10)
    # Let a few heartbeats establish the rhythm, as in real life.
    wait_for(lambda: collector.sources()["web-01"]["heartbeats"] >= 3, 20, what="3 heartbeats")

    agent.proc.kill()
    killed_at = time.monotonic()
    collector.wait_state("web-01", "DOWN", timeout=20)
    took = time.monotonic() - killed_at
    assert took <= 20, took

    pages = collector.pages()
    assert [p["status"] for p in pages] == ["firing"], pages
    assert pages[0]["source"] == "web-01"
    assert pages[0]["labels"] == {"dc": "dc1", "role": "test"}


def test_sigterm_sends_goodbye_and_source_is_stopped_within_2s(harness):
    collector = harness.collector_config().start()
    agent = harness.agent_config("web-02", [collector], interval="5s").start()
    collector.wait_state("web-02", "UP", timeout=10)

    assert agent.proc.stop(signal.SIGTERM) == 0
    stopped_at = time.monotonic()
    collector.wait_state("web-02", "STOPPED", timeout=2)
    assert time.monotonic() - stopped_at <= 2
    assert collector.source("web-02")["goodbye_reason"] == "SIGTERM"

    # A stopped agent is not a page, however long it stays away.
    assert collector.pages() == []


def test_agent_that_comes_back_turns_up_and_resolves_the_page(harness):
    collector = harness.collector_config().start()
    agent = harness.agent_config("web-03", [collector], interval="1s").start()
    collector.wait_state("web-03", "UP", timeout=10)
    agent.proc.kill()
    collector.wait_state("web-03", "DOWN", timeout=20)

    agent.start()  # a new boot of the same source
    collector.wait_state("web-03", "UP", timeout=15)
    wait_for(lambda: [p["status"] for p in collector.pages()] == ["firing", "resolved"], 5,
             what="firing then resolved pages")
    # Transitions are read back from the store, which writes them on its own thread.
    wait_for(lambda: [t["to"] for t in collector.source("web-03")["transitions"]][:2]
             == ["UP", "DOWN"], 10, what="UP after DOWN in the stored transitions")


def test_heartbeats_fall_back_to_http_when_udp_is_refused(harness):
    collector = harness.collector_config().start()
    # The agent is told a UDP port where nothing listens: ICMP port unreachable, so it
    # must use the collector's HTTP endpoint instead.
    from fwtest import free_port
    import socket
    collector_udp = collector.udp_port
    collector.udp_port = free_port(socket.SOCK_DGRAM)
    agent = harness.agent_config("web-04", [collector], interval="1s").start()
    collector.udp_port = collector_udp
    collector.wait_state("web-04", "UP", timeout=15)
    wait_for(lambda: collector.sources()["web-04"]["last_transport"] == "http", 15,
             what="a heartbeat over HTTP")
    wait_for(lambda: collector.sources()["web-04"]["heartbeats"] >= 4, 15, what="steady HTTP heartbeats")
