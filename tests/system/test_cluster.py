"""Three collectors on loopback that cross-check one another (docs/cluster.md): they sync,
refuse unsigned or oversized sync requests, report differing configs, page once between
them, agree before paging a lost collector, and stop escalating everywhere when someone
acks, resolves or silences on any one of them.

Timing (fwcluster.FAST_CLUSTER): sync every 1 s, peer_timeout 3 s. The member of rank r
holds back a page nobody logged for r x 3 s, so after the first copy of a page arrives a
duplicate from the last member would show up within ~6 s (+ a sync): DEDUP_WINDOW.
"""
import json
import re
import socket
import time
import urllib.error
import urllib.request

import pytest

from fwcluster import (PEER_TIMEOUT_S, SYNC_PATH, ClusterAgent, Member, describe, emails, firing_emails,
                       firing_sms, read_key, sign_sync, sleep_until, wait_all_peers_up,
                       wait_source_everywhere, write_cluster)
from fwtest import api_call, http_get, http_post, metric_value, wait_for
from paging import FakeTwilio, SmtpServer

DEDUP_WINDOW = 2 * PEER_TIMEOUT_S + 4


@pytest.fixture
def twilio():
    t = FakeTwilio("ACtest", "demo-token")
    yield t
    t.close()


def start_cluster(harness, smtp, twilio, tweak=None, **config):
    members = [Member(f"site-{s}") for s in "abc"]
    collectors = write_cluster(harness, members, f"127.0.0.1:{smtp.port}",
                               f"127.0.0.1:{twilio.port}", tweak=tweak, **config)
    for c in collectors:
        c.start(wait_ready=False)
    for c in collectors:
        wait_for(c._ready, 20, what=f"{c.name} /readyz")
    return collectors


def metric_sum(text, name, labels=None):
    """Sum of every sample of `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head != name and not head.startswith(name + "{"):
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
        if all(got.get(k) == v for k, v in (labels or {}).items()):
            total += float(value)
    return total


def sync_post(collector, body, headers, timeout=5):
    """POST to the sync endpoint with exactly these headers: (status, headers, body)."""
    req = urllib.request.Request(collector.url + SYNC_PATH, data=body, method="POST",
                                 headers=dict({"Content-Type": "application/json"}, **headers))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def declared_oversize_post(collector, length, headers):
    """Sends only the head of a POST declaring `length` body bytes; returns the status the
    server answers with before any body is sent."""
    with socket.create_connection((collector.host, collector.http_port), timeout=5) as s:
        head = [f"POST {SYNC_PATH} HTTP/1.1", f"Host: {collector.host}",
                "Content-Type: application/json", f"Content-Length: {length}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def signed_headers(key, peer, body, ts_ms=None):
    ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
    return {"X-Firewatch-Peer": peer, "X-Firewatch-Timestamp": str(ts_ms),
            "X-Firewatch-Signature": sign_sync(key, peer, ts_ms, body)}


def test_three_collectors_sync_and_refuse_unsigned_sync_requests(harness, twilio):
    smtp = SmtpServer(harness)  # not needed running: nothing pages here
    started = time.monotonic()
    a, b, c = start_cluster(harness, smtp, twilio)
    wait_all_peers_up([a, b, c], timeout=10)
    assert time.monotonic() - started < 15
    # Each has also completed an exchange of its own with each peer (a peer that pushed
    # to us first is up before our first push to it succeeded).
    wait_for(lambda: all(p["syncs_ok"] >= 1 for x in (a, b, c) for p in x.peers().values()), 5,
             what="every collector's own sync with every peer")

    views = {x.name: x.collectors() for x in (a, b, c)}
    digests = {v["config_digest"] for v in views.values()}
    assert len(digests) == 1 and len(digests.pop()) == 64, views
    for name, v in views.items():
        assert v["self"] == name and v["alone"] is False and v["isolated"] is False, v
        assert [m["id"] for m in v["collectors"]] == ["site-a", "site-b", "site-c"], v
        assert [m["rank"] for m in v["collectors"]] == [0, 1, 2], v
        for m in v["collectors"]:
            assert m["labels"] == {"dc": m["id"]}, v
            if not m["self"]:
                assert m["config_matches"] is True and m["state"] == "up", v
                assert m["syncs_ok"] >= 1, v
                # Our copy of its (empty) table, and the bytes both ways.
                assert m["sources"] == 0, v
                assert m["sync_bytes_sent"] > 0 and m["sync_bytes_received"] > 0, v
                # Loopback, nothing to carry: an exchange takes milliseconds.
                assert 0 <= m["last_exchange_ms"] < 1000, v
    assert views["site-a"]["collectors"][1]["url"] == b.url
    # The counters are exported with the metrics once a second: the exchanges seen above
    # may be newer than the last export.
    def sync_bytes_counted():
        text = a.metrics()
        return all(metric_sum(text, "firewatch_cluster_sync_bytes_total",
                              {"peer": peer, "direction": direction}) > 0
                   for peer in ("site-b", "site-c") for direction in ("sent", "received")) \
            and all(metric_sum(text, "firewatch_cluster_sync_exchange_seconds_total",
                               {"peer": peer}) > 0 for peer in ("site-b", "site-c"))
    wait_for(sync_bytes_counted, 5, what="sync bytes in both directions for both peers")

    key = read_key(f"{harness.dir}/cluster.key")
    payload = documented_payload("site-b", views["site-a"]["config_digest"])
    before = a.metrics()
    now = int(time.time() * 1000)
    wrong_key = bytes(32)
    tampered = payload.replace(b'"seq": 1', b'"seq": 2')
    cases = [
        ("no headers", {}, payload, 401),
        ("no signature", {"X-Firewatch-Peer": "site-b", "X-Firewatch-Timestamp": str(now)}, payload, 401),
        ("wrong key", signed_headers(wrong_key, "site-b", payload), payload, 401),
        ("tampered body", signed_headers(key, "site-b", payload), tampered, 401),
        ("unknown peer", signed_headers(key, "site-z", payload), payload, 401),
        ("stale", signed_headers(key, "site-b", payload, now - 3600 * 1000), payload, 401),
        ("malformed", signed_headers(key, "site-b", b"{not json"), b"{not json", 400),
    ]
    for what, headers, body, expected in cases:
        status, _, got = sync_post(a, body, headers)
        assert status == expected, f"{what}: {status} {got[:200]!r}"

    # Over 16 MiB: refused from the declared length, before the body is read.
    status = declared_oversize_post(a, 17 << 20, {"X-Firewatch-Peer": "site-b",
                                                   "X-Firewatch-Timestamp": str(now)})
    assert status == 413, status

    def counted():
        text = a.metrics()
        delta = {r: metric_sum(text, "firewatch_cluster_sync_rejected_total", {"reason": r})
                 - metric_sum(before, "firewatch_cluster_sync_rejected_total", {"reason": r})
                 for r in ("bad_signature", "unknown_peer", "stale", "malformed", "too_large")}
        total = (metric_sum(text, "firewatch_cluster_sync_rejected_total")
                 - metric_sum(before, "firewatch_cluster_sync_rejected_total"))
        return (total >= len(cases) and delta["bad_signature"] >= 3 and delta["unknown_peer"] >= 1
                and delta["stale"] >= 1 and delta["malformed"] >= 1
                and delta["too_large"] >= 1) and delta
    wait_for(counted, 5, what="firewatch_cluster_sync_rejected_total{reason} to count every refusal")
    # Refused requests changed nothing: the real peers are still in sync.
    wait_all_peers_up([a, b, c], timeout=10)


def documented_payload(sender, config_digest):
    """An empty-handed sync payload exactly as docs/cluster.md ("Sync") shows it."""
    return json.dumps({
        "v": 1, "from": sender, "boot": "0123456789abcdef", "seq": 1, "config_digest": config_digest,
        "peers": {"site-a": "up", "site-c": "up"},
        "sources": {"full": True, "version": 0, "digest": "0000000000000000", "entries": {}},
        "incidents": [], "log": [], "silences": [], "need_full": False}).encode()


def test_signed_sync_request_in_the_documented_format_is_answered_signed(harness, twilio):
    """The wire format of docs/cluster.md, written independently of the C++: a correctly
    signed request is answered 200 and the answer is signed by the responder."""
    a, b, c = start_cluster(harness, SmtpServer(harness), twilio)
    wait_all_peers_up([a, b, c], timeout=10)
    key = read_key(f"{harness.dir}/cluster.key")
    digest = a.collectors()["config_digest"]
    payload = documented_payload("site-b", digest)
    request_headers = signed_headers(key, "site-b", payload)
    status, headers, body = sync_post(a, payload, request_headers)
    assert status == 200, body[:300]
    headers = {k.lower(): v for k, v in headers.items()}
    assert headers["x-firewatch-peer"] == "site-a"
    # The answer is signed over the request it answers (docs/cluster.md, "Replay").
    assert headers["x-firewatch-signature"] == sign_sync(
        key, "site-a", int(headers["x-firewatch-timestamp"]), body,
        answers=request_headers["X-Firewatch-Signature"])
    answer = json.loads(body)
    assert answer["v"] == 1 and answer["from"] == "site-a" and answer["config_digest"] == digest
    assert set(answer["peers"]) == {"site-b", "site-c"}
    for k in ("boot", "seq", "sources", "incidents", "log", "silences", "need_full"):
        assert k in answer, answer
    wait_all_peers_up([a, b, c], timeout=10)


def test_config_that_differs_is_reported_within_seconds(harness, twilio):
    smtp = SmtpServer(harness)

    def tweak(member_id, text):  # site-c has another phone number for bob
        if member_id != "site-c":
            return text
        assert '"+15550100002"' in text
        return text.replace('"+15550100002"', '"+15550100009"')
    started = time.monotonic()
    a, b, c = start_cluster(harness, smtp, twilio, tweak=tweak)

    def reported():
        pa, pb, pc = a.peers(), b.peers(), c.peers()
        return (pa["site-c"]["config_matches"] is False and pa["site-b"]["config_matches"] is True
                and pb["site-c"]["config_matches"] is False and pb["site-a"]["config_matches"] is True
                and pc["site-a"]["config_matches"] is False and pc["site-b"]["config_matches"] is False)
    wait_for(reported, 10, interval=0.25, what="config_matches false for site-c (and on site-c)")
    assert time.monotonic() - started < 15
    assert a.collectors()["config_digest"] == b.collectors()["config_digest"] != c.collectors()["config_digest"]

    def metric_says():
        ta, tc = a.metrics(), c.metrics()
        return (metric_value(ta, "firewatch_cluster_config_mismatch", {"peer": "site-c"}) == 1
                and metric_value(ta, "firewatch_cluster_config_mismatch", {"peer": "site-b"}) == 0
                and metric_value(tc, "firewatch_cluster_config_mismatch", {"peer": "site-a"}) == 1
                and metric_value(tc, "firewatch_cluster_config_mismatch", {"peer": "site-b"}) == 1)
    wait_for(metric_says, 5, what="firewatch_cluster_config_mismatch{peer}")
    # ... and the log says so (once per change, so a steady mismatch does not flood it).
    wait_for(lambda: [l for l in a.log().splitlines() if "site-c" in l and "config" in l.lower()],
             5, what="a log line on site-a naming site-c's different config")
    time.sleep(3)  # a few more syncs with the same mismatch
    lines = [l for l in a.log().splitlines() if "site-c" in l and "config" in l.lower()]
    assert len(lines) <= 2, lines


def test_killed_agent_pages_each_contact_once_across_three_collectors(harness, twilio):
    smtp = SmtpServer(harness).start()
    cs = start_cluster(harness, smtp, twilio, first_targets="[schedule:primary, bob]", wait="1h")
    agent = ClusterAgent(harness, "db-01", cs, dc="site-a").start()
    ClusterAgent(harness, "web-01", cs, dc="site-b").start()  # stays up
    wait_all_peers_up(cs, timeout=10)
    wait_source_everywhere(cs, ["db-01", "web-01"], "UP", timeout=15)

    agent.proc.kill()
    killed = time.monotonic()

    def both():
        return ({p.to for p in firing_emails(smtp)} == {"alice@example.com", "bob@example.com"}
                and {s["To"] for s in firing_sms(twilio)} == {"+15550100001", "+15550100002"})
    wait_for(both, 30, interval=0.25, what="an email and an SMS to alice and to bob")
    assert time.monotonic() - killed < 30
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    mails, sms = firing_emails(smtp), firing_sms(twilio)
    dump = describe(smtp, twilio, cs)
    assert sorted(p.to for p in mails) == ["alice@example.com", "bob@example.com"], dump
    assert sorted(s["To"] for s in sms) == ["+15550100001", "+15550100002"], dump
    assert twilio.errors == []
    # The owner (site-a, first in the member list) sent them at once.
    assert {p.sender for p in mails} == {"site-a"}, dump
    assert all(p.sources == {"db-01"} for p in mails), dump
    # One incident id everywhere (ids converge), open on all three.
    ids = {}
    for c in cs:
        open_ = [i for i in c.incidents() if i["state"] == "open"]
        assert len(open_) == 1, dump
        ids[c.name] = open_[0]["id"]
    assert len(set(ids.values())) == 1, (ids, dump)
    assert {p.incident for p in mails} == set(ids.values()), dump


def first_page_then_site_b_knows_it(harness, smtp, twilio, source, step_wait):
    """Three collectors, `source` killed: waits for the first page (alice) and for site-b to
    know its incident id. Returns (a, b, c, monotonic time of the first page, id)."""
    a, b, c = start_cluster(harness, smtp, twilio, wait=f"{step_wait}s")
    agent = ClusterAgent(harness, source, [a, b, c], dc="site-a").start()
    wait_all_peers_up([a, b, c], timeout=10)
    wait_source_everywhere([a, b, c], [source], "UP", timeout=15)

    agent.proc.kill()
    wait_for(lambda: firing_sms(twilio) and firing_emails(smtp), 30, interval=0.25,
             what="the first page (alice)")
    first_page = time.monotonic()
    incident_id = firing_sms(twilio)[0]["Body"].rsplit(" ", 1)[1]
    # B opened the incident itself or adopted the owner's id; either way within a sync
    # or two it knows the id that is in the page.
    wait_for(lambda: incident_id in {i["id"] for i in b.incidents()}, 5,
             what=f"site-b to know incident {incident_id} from the page")
    return a, b, c, first_page, incident_id


def test_ack_on_one_collector_stops_escalation_on_all(harness, twilio):
    smtp = SmtpServer(harness).start()
    step_wait = 8
    a, b, c, first_page, incident_id = first_page_then_site_b_knows_it(
        harness, smtp, twilio, "db-02", step_wait)

    status, body = api_call(b, "POST", f"/api/v1/ack/{incident_id}")
    assert status == 200, body
    assert body["state"] == "acked" and body["acked_by"] == harness.operator

    def acked_everywhere():
        for x in (a, c):
            inc = {i["id"]: i for i in x.incidents()}.get(incident_id)
            # who acked travels along (the receiving side may add where it was acked)
            if (not inc or inc["state"] != "acked"
                    or not inc.get("acked_by", "").startswith(harness.operator)):
                return False
        return True
    wait_for(acked_everywhere, 5, interval=0.25, what="the ack made on site-b to reach site-a and site-c")
    # Step 2 (bob) was due step_wait after the first page; the last member in line would
    # send it 2 x peer_timeout later. Nobody may.
    sleep_until(first_page + step_wait + DEDUP_WINDOW)
    dump = describe(smtp, twilio, [a, b, c])
    assert [p.to for p in firing_emails(smtp)] == ["alice@example.com"], dump
    assert [s["To"] for s in firing_sms(twilio)] == ["+15550100001"], dump


def test_resolve_on_one_collector_resolves_on_all_and_stops_escalation(harness, twilio):
    """An operator resolves on site-b while the host is still DOWN: every collector
    resolves the incident (who resolved it travels along), nobody pages step 2, alice
    hears RESOLVED once per channel across the cluster, and no collector opens a new
    incident for the host that is still down."""
    smtp = SmtpServer(harness).start()
    step_wait = 8
    a, b, c, first_page, incident_id = first_page_then_site_b_knows_it(
        harness, smtp, twilio, "db-06", step_wait)

    status, body = api_call(b, "POST", f"/api/v1/incidents/{incident_id}/resolve",
                            {"comment": "known, CHG-5"})
    assert status == 200, body
    assert body["state"] == "resolved" and body["resolved_by"] == harness.operator, body

    def resolved_everywhere():
        for x in (a, c):
            inc = {i["id"]: i for i in x.incidents()}.get(incident_id)
            if (not inc or inc["state"] != "resolved"
                    or not inc.get("resolved_by", "").startswith(harness.operator)
                    or inc.get("resolve_comment") != "known, CHG-5"):
                return False
        return True
    # Usually under a second (one sync). It never came, twice on a loaded CI machine, when
    # site-c had opened the incident under its own id and site-b's resolve reached it
    # before site-a's id did: site-c resolved its own id and never adopted the canonical
    # one (fixed: a peer's resolve adopts the id; engine_test *NotAdoptedYet*). Whether it
    # came in time is what the page assertions below check: a late resolve lets step 2 page.
    try:
        wait_for(resolved_everywhere, 10, interval=0.25,
                 what="the resolve made on site-b to reach site-a and site-c")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{describe(smtp, twilio, [a, b, c], log_lines=30)}") from e
    sleep_until(first_page + step_wait + DEDUP_WINDOW)
    dump = describe(smtp, twilio, [a, b, c])
    assert [p.to for p in firing_emails(smtp)] == ["alice@example.com"], dump
    assert [s["To"] for s in firing_sms(twilio)] == ["+15550100001"], dump
    resolved_mail = [p for p in emails(smtp) if p.subject.startswith("[RESOLVED]")]
    resolved_sms = [s for s in twilio.sent() if s["Body"].startswith("RESOLVED")]
    assert [p.to for p in resolved_mail] == ["alice@example.com"], dump
    assert [s["To"] for s in resolved_sms] == ["+15550100001"], dump
    for x in (a, b, c):  # still DOWN everywhere, and set aside everywhere
        assert [i["id"] for i in x.incidents()] == [incident_id], dump


def test_killed_collector_is_paged_once_by_name_and_resolves_when_back(harness, twilio):
    smtp = SmtpServer(harness).start()
    a, b, c = start_cluster(harness, smtp, twilio)
    wait_all_peers_up([a, b, c], timeout=10)

    c.proc.kill()
    killed = time.monotonic()
    wait_for(lambda: firing_emails(smtp) and firing_sms(twilio), 30, interval=0.25,
             what="a page about site-c")
    assert time.monotonic() - killed < 30
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    mails, sms = firing_emails(smtp), firing_sms(twilio)
    dump = describe(smtp, twilio, [a, b])
    assert len(mails) == 1 and len(sms) == 1, dump
    assert mails[0].alertnames == {"CollectorDown"} and mails[0].collectors == {"site-c"}, dump
    assert mails[0].dcs == {"site-c"}, dump               # the member's labels are copied
    assert mails[0].sender == "site-a", dump              # A and B agreed; A is the owner
    for x in (a, b):
        assert x.peer_states()["site-c"] == "down", dump

    c.start()
    wait_all_peers_up([a, b, c], timeout=15)
    wait_for(lambda: [s for s in twilio.sent() if s["Body"].startswith("RESOLVED")], 20,
             interval=0.25, what="the resolve notification once site-c is back")
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    resolved = [s for s in twilio.sent() if s["Body"].startswith("RESOLVED")]
    assert len(resolved) == 1, describe(smtp, twilio, [a, b, c])

    # The page names the lost collector in the SMS (what wakes people up) and the subject,
    # not only through its dc label: "FIRING site-c CollectorDown ...", never "? ...".
    first_words = sms[0]["Body"].split(" since ")[0]
    assert "?" not in first_words, dump
    assert "?" not in mails[0].subject, dump


def test_silence_made_on_one_collector_mutes_all_and_its_expiry_too(harness, twilio):
    smtp = SmtpServer(harness).start()
    a, b, c = start_cluster(harness, smtp, twilio)
    agent = ClusterAgent(harness, "db-03", [a, b, c], dc="site-a").start()
    wait_all_peers_up([a, b, c], timeout=10)
    wait_source_everywhere([a, b, c], ["db-03"], "UP", timeout=15)

    now = time.time()
    silence = {
        "matchers": [{"name": "source", "value": "db-03", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "comment": "db-03 maintenance"}
    status, body = api_call(b, "POST", "/api/v1/silences", silence)
    assert status == 200, body
    silence_id = body["silenceID"]

    def listed(x):
        return {s["id"]: s for s in json.loads(http_get(x.url + "/api/v1/silences")[1])}
    wait_for(lambda: all(silence_id in listed(x) for x in (a, c)), 5, interval=0.25,
             what="the silence made on site-b to reach site-a and site-c")

    agent.proc.kill()
    wait_source_everywhere([a, b, c], ["db-03"], "DOWN", timeout=20)
    # With group_wait 0 the owner would page at once and the last in line within
    # 2 x peer_timeout: nobody may.
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    assert firing_emails(smtp) == [] and firing_sms(twilio) == [], describe(smtp, twilio, [a, b, c])

    # Expired on another collector: the newest version wins everywhere and the page goes
    # out, once.
    status, body = api_call(c, "DELETE", f"/api/v1/silences/{silence_id}")
    assert status == 200, body
    wait_for(lambda: firing_sms(twilio) and firing_emails(smtp), 20, interval=0.25,
             what="the page once the silence was expired on site-c")
    sleep_until(time.monotonic() + DEDUP_WINDOW)
    dump = describe(smtp, twilio, [a, b, c])
    assert [s["To"] for s in firing_sms(twilio)] == ["+15550100001"], dump
    assert [p.to for p in firing_emails(smtp)] == ["alice@example.com"], dump


def test_owner_dies_and_host_recovers_before_step_two_nobody_takes_over_a_page(harness, twilio):
    """Issue #16 in a cluster: site-a (the owner) pages alice and dies; the host comes back
    before step 2 is due. The collectors left must not take over step 2 (bob) for a host
    they see recovered, and alice hears the all-clear from one of them."""
    smtp = SmtpServer(harness).start()
    step_wait = 12
    a, b, c = start_cluster(harness, smtp, twilio, wait=f"{step_wait}s")
    agent = ClusterAgent(harness, "db-04", [a, b, c], dc="site-b").start()
    wait_all_peers_up([a, b, c], timeout=10)
    wait_source_everywhere([a, b, c], ["db-04"], "UP", timeout=15)

    agent.proc.kill()
    wait_for(lambda: firing_sms(twilio) and firing_emails(smtp), 30, interval=0.25,
             what="the first page (alice)")
    first_page = time.monotonic()
    incident_id = firing_sms(twilio)[0]["Body"].rsplit(" ", 1)[1]
    # site-b has heard from site-a (its notification log) that alice was paged on both
    # channels, even though its own copies of her page are still waiting their turn.
    def paged_at_b():
        inc = {i["id"]: i for i in b.incidents()}.get(incident_id)
        return inc and {(p["contact"], p["channel"]) for p in inc["paged"]}
    wait_for(lambda: paged_at_b() == {("alice", "sms"), ("alice", "email")}, 5,
             what=f"site-b to know incident {incident_id} and that alice was paged")
    a.proc.kill()  # the owner burns
    agent.start()
    wait_source_everywhere([b, c], ["db-04"], "UP", timeout=15)

    def all_clear():
        return ([s["To"] for s in twilio.sent() if s["Body"].startswith("RESOLVED")] == ["+15550100001"]
                and [p.to for p in emails(smtp) if p.subject.startswith("[RESOLVED]")]
                == ["alice@example.com"])
    wait_for(all_clear, 20, interval=0.25, what="alice's all-clear from a surviving collector")
    # Step 2 was due step_wait after the first page; the last member in line would send it
    # 2 x peer_timeout later (and a takeover after claim_timeout). Nobody may.
    # (site-a's own death is paged too, rightly: "collector site-a DOWN", another incident.)
    sleep_until(first_page + step_wait + DEDUP_WINDOW)
    dump = describe(smtp, twilio, [b, c])
    assert [p.to for p in firing_emails(smtp) if p.incident == incident_id] == ["alice@example.com"], dump
    assert [s["To"] for s in firing_sms(twilio) if s["Body"].endswith(incident_id)] == ["+15550100001"], dump
    for x in (b, c):
        assert {i["id"]: i for i in x.incidents()}[incident_id]["state"] == "resolved", dump


def test_a_check_only_one_collector_hears_is_known_to_all_and_its_recovery_too(harness, twilio):
    """Check state travels through the cluster (docs/cluster.md, "Checks"): the host's
    heartbeats reach only site-a, whose CRITICAL check site-b and site-c then show from
    site-a's report (their own copy of the checks is the last one they heard: OK), and the
    recovery withdraws it everywhere."""
    import os
    from fwtest import encode_frame, send_udp
    smtp = SmtpServer(harness).start()
    cs = start_cluster(harness, smtp, twilio, wait="1h")
    a, b, c = cs
    wait_all_peers_up(cs, timeout=10)
    boot, seq = os.urandom(16), 0

    def beat(targets, state, output):
        nonlocal seq
        seq += 1
        frame = encode_frame(harness.key, "fleet", "app-07", boot, seq, labels={"dc": "site-a"},
                             checks=[("pg", state, output)])
        for x in targets:
            send_udp(x.udp_port, frame)

    def beat_until(targets, state, output, pred, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:  # bounded: one heartbeat per 0.5 s
            beat(targets, state, output)
            if pred():
                return
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: " +
                             json.dumps({x.name: x.source("app-07") for x in cs}))

    beat_until(cs, 0, "accepting", lambda: all(x.state("app-07") == "UP" for x in cs),
               "app-07 UP everywhere")

    def reported_by_a(x):
        s = x.source("app-07") or {}
        return [(r["collector"], r["name"], r["state"], r["output"])
                for r in s.get("cluster_checks", [])]
    beat_until([a], 2, "connection refused",
               lambda: all(reported_by_a(x) == [("site-a", "pg", "CRITICAL", "connection refused")]
                           for x in (b, c)),
               "site-b and site-c to show site-a's CRITICAL pg check")
    for x in (b, c):
        assert [ch["state"] for ch in x.source("app-07")["checks"]] == ["OK"]  # last heard
    assert reported_by_a(a) == []  # its own are in "checks", not a peer's report
    assert a.source("app-07")["checks"][0]["state"] == "CRITICAL"

    beat_until([a], 0, "accepting", lambda: all(reported_by_a(x) == [] for x in (b, c)),
               "the recovery to withdraw the report on site-b and site-c")
