"""Issue #10, the ingest side: attacks by someone who holds a heartbeat key (a compromised
agent host), each against the real collector (docs/security.md):

- a key bound to some hosts cannot speak for another (key_not_allowed);
- a forged frame with a new boot id and a future timestamp does not lock the real agent out;
- a goodbye from another boot does not make the source STOPPED;
- a frame declaring a huge interval (to stretch the DOWN backstop) is refused;
- timestamps like INT64_MIN and INT64_MAX are clock skew, not an overflow, and a heartbeat
  carrying a goodbye reason is malformed;
- a flood of new source ids stops at the cap (and at the per-key rate), is counted, is
  told to the operator once, and the collector stays healthy;
- `firewatchctl forget` removes a source from memory, the store, and a peer collector.

Frames come from fwtest.encode_frame, the independent encoder written from protocol.md.
"""
import hashlib
import hmac
import json
import os
import socket
import subprocess
import time

from fwtest import (CTL, encode_frame, free_port, http_get, http_post, metric_value, send_udp,
                    wait_for)


def rejected(collector, reason, transport="udp"):
    return metric_value(collector.metrics(), "firewatch_frames_rejected_total",
                        {"reason": reason, "transport": transport}) or 0


def now_ms():
    return int(time.time() * 1000)


def write_key(path):
    key = os.urandom(32)
    with open(path, "w") as f:
        f.write(key.hex() + "\n")
    os.chmod(path, 0o600)
    return key


def state_for(collector, source, seconds, every=0.25):
    """Every state `source` had on `collector` over the next `seconds` (polled)."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen.append(collector.state(source))
        time.sleep(every)
    return seen


def test_a_bound_key_cannot_speak_for_another_host(harness):
    web_key = write_key(os.path.join(harness.dir, "web.key"))
    collector = harness.collector_config()
    with open(collector.config_path) as f:
        text = f.read()
    with open(collector.config_path, "w") as f:  # a second key, bound, in the keys list
        f.write(text.replace("keys:\n", f"""keys:
  - id: web
    file: {os.path.join(harness.dir, "web.key")}
    sources: ["web-*", "lb-1"]
""", 1))
    collector.start()
    boot = os.urandom(16)
    send_udp(collector.udp_port, encode_frame(web_key, "web", "web-01", boot, seq=1))
    send_udp(collector.udp_port, encode_frame(web_key, "web", "lb-1", boot, seq=1))
    # The web hosts' key, used for the database host: refused, counted, never tracked.
    send_udp(collector.udp_port, encode_frame(web_key, "web", "db-01", boot, seq=1))
    wait_for(lambda: rejected(collector, "key_not_allowed") == 1, 5, what="key_not_allowed counted")
    wait_for(lambda: {"web-01", "lb-1"} <= set(collector.sources()), 5, what="the bound hosts")
    status, body = http_post(collector.url + "/api/v1/heartbeat",
                             encode_frame(web_key, "web", "db-01", boot, seq=2))
    assert status == 400 and json.loads(body)["reason"] == "key_not_allowed", body
    assert rejected(collector, "key_not_allowed", "http") == 1
    assert "db-01" not in collector.sources()
    # The unbound fleet key still speaks for any host (the shared fleet key's meaning).
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "db-01", boot, seq=3))
    wait_for(lambda: "db-01" in collector.sources(), 5, what="db-01 under the fleet key")
    assert "key_not_allowed" in collector.proc.output()


def test_forged_future_boot_does_not_lock_the_real_agent_out(harness):
    collector = harness.collector_config().start()
    harness.agent_config("real-01", [collector], interval="1s", use_http=False).start()
    collector.wait_state("real-01", "UP", timeout=10)
    wait_for(lambda: collector.sources()["real-01"]["heartbeats"] >= 3, 10, what="a few heartbeats")
    version = collector.sources()["real-01"]["agent_version"]

    # Before #10 a new boot with a later timestamp took over at once, and the real agent's
    # frames (its boot, earlier timestamps) were "replayed" until its clock caught up:
    # with 100 s ahead, it went DOWN. Now 100 s ahead is outside the window (5 s) ...
    forged = os.urandom(16)
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "real-01", forged, seq=1,
                                              ts_ms=now_ms() + 100_000, version="forged"))
    wait_for(lambda: rejected(collector, "clock_skew") == 1, 5, what="the far-future frame refused")
    # ... and forgeries inside it, new boot ids every time, are only "another boot".
    for i in range(12):
        send_udp(collector.udp_port, encode_frame(
            harness.key, "fleet", "real-01", os.urandom(16) if i % 2 else forged, seq=10 + i,
            ts_ms=now_ms() + 4_500, interval_ms=3_600_000, labels={"dc": "forged"},
            version="forged"))
        time.sleep(0.5)
    states = state_for(collector, "real-01", 6)
    assert set(states) == {"UP"}, states
    assert rejected(collector, "replayed") == 0, "the real agent's frames were refused"
    src = collector.sources()["real-01"]
    assert src["agent_version"] == version, "a forged boot described the source"
    assert src["labels"].get("dc") != "forged"
    assert src["interval_seconds"] == 1


def test_goodbye_from_another_boot_does_not_stop_the_source(harness):
    collector = harness.collector_config().start()
    harness.agent_config("real-02", [collector], interval="1s", use_http=False).start()
    collector.wait_state("real-02", "UP", timeout=10)
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "real-02", os.urandom(16),
                                              seq=1, goodbye="SIGTERM"))
    wait_for(lambda: rejected(collector, "goodbye_not_current") == 1, 5,
             what="the foreign goodbye refused")
    status, body = http_post(collector.url + "/api/v1/heartbeat",
                             encode_frame(harness.key, "fleet", "real-02", os.urandom(16), seq=1,
                                          goodbye="SIGTERM"))
    assert status == 400 and json.loads(body)["reason"] == "goodbye_not_current", body
    states = state_for(collector, "real-02", 3)
    assert set(states) == {"UP"}, states


def test_huge_interval_is_refused(harness):
    collector = harness.collector_config().start()
    boot = os.urandom(16)
    # 2^32-1 ms is 49 days: DOWN only after 3 x that. Refused before it is tracked.
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "stretch-1", boot, seq=1,
                                              interval_ms=2**32 - 1))
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "stretch-1", boot, seq=2,
                                              interval_ms=3 * 3_600_000))
    wait_for(lambda: rejected(collector, "bad_interval") == 2, 5, what="bad_interval counted")
    assert "stretch-1" not in collector.sources()
    # An existing source cannot stretch its own either.
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "stretch-1", boot, seq=3))
    wait_for(lambda: "stretch-1" in collector.sources(), 5, what="a sane frame")
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "stretch-1", boot, seq=4,
                                              interval_ms=2**31))
    wait_for(lambda: rejected(collector, "bad_interval") == 3, 5, what="the third refusal")
    assert collector.sources()["stretch-1"]["interval_seconds"] == 1


def test_extreme_timestamps_and_a_heartbeat_with_a_goodbye_reason_are_refused(harness):
    collector = harness.collector_config().start()
    boot = os.urandom(16)
    for i, ts in enumerate((-2**63, 2**63 - 1, 0, -1), 1):
        send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "skewed-1", boot, seq=i,
                                                  ts_ms=ts))
    wait_for(lambda: rejected(collector, "clock_skew") == 4, 5, what="clock_skew counted")
    assert "skewed-1" not in collector.sources()
    # A goodbye's reason in a frame whose type says heartbeat (re-signed: a key holder).
    frame = bytearray(encode_frame(harness.key, "fleet", "reason-1", boot, seq=1, goodbye="bye")[:-32])
    frame[3] = 1
    frame = bytes(frame) + hmac.new(harness.key, bytes(frame), hashlib.sha256).digest()
    send_udp(collector.udp_port, frame)
    wait_for(lambda: rejected(collector, "malformed") == 1, 5, what="malformed counted")
    assert "reason-1" not in collector.sources()
    # The collector is fine: the same sources with sane frames are tracked.
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "skewed-1", boot, seq=9))
    wait_for(lambda: "skewed-1" in collector.sources(), 5, what="a sane frame after the bad ones")
    assert http_get(collector.url + "/healthz")[0] == 200


def configured(harness, collector_lines):
    """A collector (not started) whose `collector:` section has `collector_lines` too."""
    collector = harness.collector_config()
    with open(collector.config_path) as f:
        text = f.read()
    with open(collector.config_path, "w") as f:
        f.write(text.replace("keys:\n", collector_lines + "keys:\n", 1))
    return collector


def test_flood_of_new_sources_stops_at_the_cap_and_is_told_once(harness):
    collector = configured(harness, "  max_sources: 20\n  new_sources_per_key_per_minute: 0\n").start()
    harness.agent_config("keeper", [collector], interval="1s", use_http=False).start()
    collector.wait_state("keeper", "UP", timeout=10)

    boot = os.urandom(16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(300):
            s.sendto(encode_frame(harness.key, "fleet", f"flood-{i:04d}", boot, seq=1),
                     ("127.0.0.1", collector.udp_port))
            if i % 50 == 49:
                time.sleep(0.05)  # stay within the socket buffer
    wait_for(lambda: rejected(collector, "source_limit") == 281, 10,
             what="every frame past the cap counted")
    assert len(collector.sources()) == 20
    assert http_get(collector.url + "/healthz")[0] == 200
    status, body = http_get(collector.url + "/api/v1/status")
    st = json.loads(body)
    assert st["limits"]["at_capacity"] is True and st["limits"]["max_sources"] == 20, st
    assert any("source cap reached" in w for w in st["warnings"]), st
    assert "source cap reached" in http_get(collector.url + "/")[1].decode()
    assert metric_value(collector.metrics(), "firewatch_source_limit_reached",
                        {"limit": "max_sources"}) == 1
    # Known sources still count: the agent that was there first stays UP.
    assert set(state_for(collector, "keeper", 2)) == {"UP"}
    # A second wave later is refused the same way, and the operator was told once.
    for i in range(300, 350):
        send_udp(collector.udp_port, encode_frame(harness.key, "fleet", f"flood-{i:04d}", boot, seq=1))
    wait_for(lambda: rejected(collector, "source_limit") == 331, 10, what="the second wave")
    time.sleep(1.5)  # the flush that would report it again
    log = collector.proc.output()
    assert log.count("source cap reached") == 1, log
    assert log.count("source_limit") == 1, "refusals at the cap are told once, not per frame"
    assert collector.pages() == [], "nobody is paged about it"


def test_new_sources_per_key_per_minute(harness):
    collector = configured(harness, "  new_sources_per_key_per_minute: 10\n").start()
    boot = os.urandom(16)
    for i in range(30):
        send_udp(collector.udp_port, encode_frame(harness.key, "fleet", f"burst-{i:02d}", boot, seq=1))
    wait_for(lambda: rejected(collector, "new_source_rate") == 20, 10, what="the excess refused")
    assert len(collector.sources()) == 10
    st = json.loads(http_get(collector.url + "/api/v1/status")[1])
    assert st["limits"]["rate_limited_keys"] == ["fleet"], st
    wait_for(lambda: collector.proc.output().count("adds new sources faster") == 1, 5,
             what="the operator told once")


def forget(harness, collector, source):
    """`firewatchctl forget` as the harness operator."""
    return subprocess.run([CTL, "forget", source, "--collector", collector.url,
                           "--token-file", harness.operator_token_file],
                          capture_output=True, text=True, timeout=30)


def test_forget_removes_a_source_from_memory_and_store(harness):
    collector = harness.collector_config(extra="""detection:
  backstop_intervals: 2
  backstop_grace: 1s
""").start()
    boot = os.urandom(16)
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "decommissioned", boot, seq=1))
    send_udp(collector.udp_port, encode_frame(harness.key, "fleet", "kept", boot, seq=1))
    wait_for(lambda: {"decommissioned", "kept"} <= set(collector.sources()), 5, what="both sources")
    collector.wait_state("decommissioned", "DOWN", timeout=15)
    wait_for(lambda: any(p["source"] == "decommissioned" and p["status"] == "firing"
                         for p in collector.pages()), 5, what="its DOWN page")

    # Operators only: without a token nothing is forgotten.
    anonymous = subprocess.run([CTL, "forget", "decommissioned", "--collector", collector.url],
                               capture_output=True, text=True, timeout=30,
                               env={k: v for k, v in os.environ.items() if not k.startswith("FIREWATCH_TOKEN")})
    assert anonymous.returncode == 1 and "401" in anonymous.stderr, anonymous
    assert "decommissioned" in collector.sources()
    out = forget(harness, collector, "decommissioned")
    assert out.returncode == 0, out
    assert "forgot decommissioned" in out.stdout
    assert "decommissioned" not in collector.sources()
    assert http_get(collector.url + "/api/v1/sources/decommissioned")[0] == 404
    # Its page resolves (nobody will hear it again), and it is counted.
    wait_for(lambda: any(p["source"] == "decommissioned" and p["status"] == "resolved"
                         and "forgotten" in p["reason"] for p in collector.pages()), 5,
             what="the resolving page")
    assert metric_value(collector.metrics(), "firewatch_sources_forgotten_total",
                        {"how": "operator"}) == 1
    # Unknown now: exit 1 with the API's message.
    again = forget(harness, collector, "decommissioned")
    assert again.returncode == 1 and "unknown source" in again.stderr, again
    # Gone from the store too: a restart does not bring it back.
    collector.proc.stop()
    collector.start()
    assert "decommissioned" not in collector.sources()
    assert "kept" in collector.sources()


def cluster_pair(harness):
    """Two collectors in one cluster on loopback, without alerting (same file but for the
    `collector:` section, so their config digests match)."""
    cluster_key = os.path.join(harness.dir, "cluster.key")
    write_key(cluster_key)
    ports = {m: (free_port(), free_port(socket.SOCK_DGRAM)) for m in ("a", "b")}
    members = "".join(f"""    - id: {m}
      url: http://127.0.0.1:{http_port}
""" for m, (http_port, _) in ports.items())
    cluster = f"""cluster:
  key_file: {cluster_key}
  members:
{members}  sync_interval: 500ms
  peer_timeout: 3s
  full_sync_every: 10s
  alone_hold: 5s
"""
    collectors = [harness.collector_config(name=m, http_port=h, udp_port=u, extra=cluster)
                  for m, (h, u) in ports.items()]
    for c in collectors:
        c.start(wait_ready=False)
    for c in collectors:
        wait_for(c._ready, 20, what=f"{c.name} /readyz")
    return collectors


def test_forget_reaches_the_peer_and_sync_does_not_bring_it_back(harness):
    a, b = cluster_pair(harness)
    boot = os.urandom(16)
    for c in (a, b):
        send_udp(c.udp_port, encode_frame(harness.key, "fleet", "old-host", boot, seq=1))
        send_udp(c.udp_port, encode_frame(harness.key, "fleet", "other", boot, seq=1))
    for c in (a, b):
        wait_for(lambda c=c: {"old-host", "other"} <= set(c.sources()), 5,
                 what=f"both sources on {c.name}")
    out = forget(harness, a, "old-host")
    assert out.returncode == 0, out
    # b forgets it too (a tombstone in the next sync), and only it.
    wait_for(lambda: "old-host" not in b.sources(), 10, what="the tombstone applied on b")
    assert "other" in b.sources()
    assert metric_value(b.metrics(), "firewatch_sources_forgotten_total", {"how": "peer"}) == 1
    assert metric_value(a.metrics(), "firewatch_sources_forgotten_total", {"how": "operator"}) == 1
    # Neither direction of the following syncs (deltas and full tables) brings it back.
    time.sleep(3)
    assert "old-host" not in a.sources() and "old-host" not in b.sources()
    peers = {c["id"]: c for c in json.loads(http_get(a.url + "/api/v1/collectors")[1])["collectors"]}
    assert peers["b"]["state"] == "up", peers
