"""Forged, replayed and garbage frames are refused and counted; the real agent stays UP."""
import os
import socket

from fwtest import encode_frame, http_post, metric_value, send_udp, wait_for


def rejected(collector, reason, transport):
    return metric_value(collector.metrics(), "firewatch_frames_rejected_total",
                        {"reason": reason, "transport": transport}) or 0


def test_bad_frames_are_rejected_and_counted_while_agent_stays_up(harness):
    collector = harness.collector_config().start()
    harness.agent_config("real-01", [collector], interval="1s").start()
    collector.wait_state("real-01", "UP", timeout=10)

    boot = os.urandom(16)
    good = encode_frame(harness.key, "fleet", "probe-01", boot, seq=1)
    send_udp(collector.udp_port, good)
    wait_for(lambda: collector.state("probe-01") == "UP", 5, what="the independently encoded frame")

    # Replay: the same datagram again, several times.
    for _ in range(3):
        send_udp(collector.udp_port, good)
    # Forged: right format, wrong key material.
    send_udp(collector.udp_port, encode_frame(os.urandom(32), "fleet", "real-01", os.urandom(16), seq=99))
    # Unknown key id.
    send_udp(collector.udp_port, encode_frame(harness.key, "nobody", "real-01", boot, seq=2))
    # Timestamp an hour in the future.
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "probe-01", boot, seq=5,
                                              ts_ms=int(__import__("time").time() * 1000) + 3_600_000))
    # Garbage, truncated and oversize datagrams.
    send_udp(collector.udp_port, b"GET / HTTP/1.0\r\n\r\n")
    send_udp(collector.udp_port, good[:40])
    send_udp(collector.udp_port, b"FW" + bytes([1, 1]) + b"\xff" * 1400)
    for _ in range(200):
        send_udp(collector.udp_port, os.urandom(64))

    wait_for(lambda: rejected(collector, "replayed", "udp") == 3, 5, what="3 replays counted")
    wait_for(lambda: rejected(collector, "bad_mac", "udp") == 1, 5, what="forgery counted")
    assert rejected(collector, "unknown_key", "udp") == 1
    assert rejected(collector, "clock_skew", "udp") == 1
    assert rejected(collector, "truncated", "udp") == 1
    assert rejected(collector, "oversize", "udp") == 1
    wait_for(lambda: rejected(collector, "bad_magic", "udp") >= 200, 5, what="garbage counted")

    # The forgery did not touch the real source, and the collector still works.
    sources = collector.sources()
    assert sources["real-01"]["state"] == "UP"
    assert set(sources) == {"real-01", "probe-01"}
    assert collector.proc.alive()
    # Rejections are logged, but rate-limited: 200 garbage datagrams are not 200 lines.
    log = collector.proc.output()
    assert 1 <= log.count("bad_magic") <= 3, log


def test_http_heartbeat_endpoint_accepts_frames_and_refuses_bad_ones(harness):
    collector = harness.collector_config().start()
    url = collector.url + "/api/v1/heartbeat"
    boot = os.urandom(16)
    frame = encode_frame(harness.key, "fleet", "http-01", boot, seq=1)
    assert http_post(url, frame)[0] == 204
    assert collector.state("http-01") == "UP"
    status, body = http_post(url, frame)
    assert status == 400 and b"replayed" in body
    status, body = http_post(url, b"\x00" * 10)
    assert status == 400 and b"bad_magic" in body
    # Over HTTP a frame may be larger than a datagram (a full check state, protocol
    # version 2): up to the u16 length; what is over it is refused from its length.
    assert http_post(url, b"FW" + b"\x00" * 70000)[0] == 413
    status, body = http_post(url, b"FW" + b"\x00" * 5000)
    assert status == 400 and b"bad_version" in body, (status, body)
    assert rejected(collector, "oversize", "http") == 1
    assert rejected(collector, "replayed", "http") == 1
