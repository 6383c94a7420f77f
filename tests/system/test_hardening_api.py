"""Issue #10, "Who may change things" and "The HTTP server cannot be pinned by slow
clients", tried from the outside against the real collector (docs/security.md):

- without a valid operator token nobody can ack, silence or expire a silence (401 with
  WWW-Authenticate, nothing changes); a form post is 415, a foreign Origin 403, a foreign
  Host 421; acked_by and createdBy are the token's operator, a body cannot name another;
- an email ack link signed with the fleet key (which every agent host has) is refused;
- an SMS "ACK <id>" from a number that was not paged for the incident is refused and
  counted;
- eight slow connections (headers or bodies trickled) do not make /healthz, POST
  /api/v1/heartbeat, peer sync or the Twilio webhook time out.

Each of these passes only with the hardening: on the collector before it every attack
succeeded.
"""
import hashlib
import hmac
import json
import os
import socket
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from fwcluster import Member, read_key, wait_all_peers_up, write_cluster
from fwtest import api_call, bearer, encode_frame, free_port, http_get, http_post, metric_value, wait_for
from paging import TWILIO_INBOUND_URL, SmtpServer, paging_config, twilio_signature


def incidents(collector):
    status, body = http_get(collector.url + "/api/v1/incidents")
    assert status == 200, body
    return {i["id"]: i for i in json.loads(body)["incidents"]}


def open_incident(harness, twilio, source, **config):
    """A collector that paged alice by SMS about `source`: (collector, incident id)."""
    collector = harness.collector_config(
        extra=paging_config(harness, free_smtp_port(), twilio.port, wait="1h", **config)).start()
    agent = harness.agent_config(source, [collector], interval="1s").start()
    collector.wait_state(source, "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(twilio.sent()) == 1, 30, what="the SMS page")
    return collector, twilio.sent()[0]["Body"].rsplit(" ", 1)[1]


def free_smtp_port():
    return free_port()  # nothing listens: email pages wait in the outbox


def refused(collector, reason):
    return metric_value(collector.metrics(), "firewatch_http_refused_total", {"reason": reason}) or 0


def test_changes_need_an_operator_token_and_record_its_operator(harness, twilio):
    collector, incident_id = open_incident(harness, twilio, "tok-01")
    ack = f"/api/v1/ack/{incident_id}"
    resolve = f"/api/v1/incidents/{incident_id}/resolve"
    silence = {"matchers": [{"name": "source", "value": "tok-01", "isRegex": False, "isEqual": True}],
               "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5)),
               "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600)),
               "comment": "maintenance"}

    # No token, a wrong token: 401 with a Bearer challenge, and nothing changes.
    for token in ("", "fwop_" + "A" * 43, harness.operator_token + "x"):
        for method, path, payload in (("POST", ack, {}), ("POST", resolve, {"comment": "x"}),
                                      ("POST", "/api/v1/silences", silence)):
            status, body = api_call(collector, method, path, payload, token=token)
            assert status == 401, (token, path, body)
    req = urllib.request.Request(collector.url + ack, data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("an ack without a token was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 401 and e.headers["WWW-Authenticate"].startswith("Bearer realm="), e.headers
    assert incidents(collector)[incident_id]["state"] == "open"
    assert json.loads(http_get(collector.url + "/api/v1/silences")[1]) == []

    auth = bearer(harness.operator_token)
    # A form post (what an HTML form on another site can send): 415.
    status, body = http_post(collector.url + ack, b"by=mallory", "application/x-www-form-urlencoded",
                             headers=auth)
    assert status == 415, body
    # A foreign Origin (a page on another site, even with a leaked token): 403.
    for path in (ack, resolve):
        status, body = http_post(collector.url + path, b"{}", "application/json",
                                 headers=dict(auth, Origin="https://evil.example"))
        assert status == 403, body
    status, body = http_post(collector.url + resolve, b"{}", "text/plain", headers=auth)
    assert status == 415, body
    # A Host that is not the collector's own (DNS rebinding): 421.
    status, body = http_post(collector.url + ack, b"{}", "application/json",
                             headers=dict(auth, Host="rebound.evil.example:9760"))
    assert status == 421, body
    # A body naming another operator cannot act in their name.
    status, body = api_call(collector, "POST", ack, {"by": "alice"})
    assert status == 400 and "operator token" in body["error"], body
    assert incidents(collector)[incident_id]["state"] == "open"
    wait_for(lambda: refused(collector, "no_token") >= 3 and refused(collector, "bad_token") >= 4
             and refused(collector, "not_json") >= 1 and refused(collector, "foreign_origin") >= 1
             and refused(collector, "foreign_host") >= 1, 5,
             what="firewatch_http_refused_total to count every refusal")

    # With the token: acked by its operator.
    status, body = api_call(collector, "POST", ack, {})
    assert status == 200 and body["state"] == "acked" and body["acked_by"] == harness.operator, body

    # Silences: created by the token's operator; expiring needs the token too.
    status, body = api_call(collector, "POST", "/api/v1/silences", dict(silence, createdBy="alice"))
    assert status == 400 and "createdBy" in body["error"], body
    status, body = api_call(collector, "POST", "/api/v1/silences", silence)
    assert status == 200, body
    silence_id = body["silenceID"]
    stored = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert [s["createdBy"] for s in stored] == [harness.operator]
    status, body = api_call(collector, "DELETE", f"/api/v1/silences/{silence_id}", token="")
    assert status == 401, body
    status, body = api_call(collector, "DELETE", f"/api/v1/silences/{silence_id}",
                            token="fwop_wrong")
    assert status == 401, body
    stored = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert stored[0]["endsAt"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3000))
    status, body = api_call(collector, "DELETE", f"/api/v1/silences/{silence_id}")
    assert status == 200, body
    # Reads stay open by default.
    assert http_get(collector.url + "/api/v1/incidents")[0] == 200


def test_reads_can_require_a_token(harness):
    collector = harness.collector_config(
        extra=f"api:\n  read_requires_token: true\n  operators:\n"
              f"    - name: {harness.operator}\n"
              f"      token_sha256: {hashlib.sha256(harness.operator_token.encode()).hexdigest()}\n").start()
    assert http_get(collector.url + "/api/v1/sources")[0] == 401
    assert http_get(collector.url + "/metrics")[0] == 401
    assert http_get(collector.url + "/healthz")[0] == 200    # probes carry no token
    req = urllib.request.Request(collector.url + "/api/v1/sources", headers=bearer(harness.operator_token))
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200


def ack_link_signature(key, incident_id, expiry):
    mac = hmac.new(key, f"ack\n{incident_id}\n{expiry}".encode(), hashlib.sha256).digest()
    return __import__("base64").urlsafe_b64encode(mac).decode().rstrip("=")


def test_ack_link_signed_with_the_fleet_key_is_refused(harness, twilio):
    collector, incident_id = open_incident(harness, twilio, "link-01")
    expiry = int(time.time()) + 3600
    # What an agent host could forge: the fleet key itself, or the key earlier versions
    # derived from it.
    derived = hmac.new(harness.key, b"firewatch ack links", hashlib.sha256).digest()
    for key in (harness.key, derived):
        fields = {"i": incident_id, "e": str(expiry), "s": ack_link_signature(key, incident_id, expiry)}
        status, page = http_get(f"{collector.url}/ack?{urllib.parse.urlencode(fields)}")
        assert status == 403, page
        status, page = http_post(f"{collector.url}/ack", urllib.parse.urlencode(fields).encode(),
                                 "application/x-www-form-urlencoded")
        assert status == 403, page
    assert incidents(collector)[incident_id]["state"] == "open"
    # The collector's own secret: made on first start in data_dir, 0600, not the fleet key.
    ack_key = os.path.join(collector.data_dir, "ack.key")
    assert oct(os.stat(ack_key).st_mode & 0o777) == "0o600"
    own = read_key(ack_key)
    assert own != harness.key and len(own) >= 16
    fields = {"i": incident_id, "e": str(expiry), "s": ack_link_signature(own, incident_id, expiry)}
    status, page = http_post(f"{collector.url}/ack", urllib.parse.urlencode(fields).encode(),
                             "application/x-www-form-urlencoded")
    assert status == 200, page
    assert incidents(collector)[incident_id]["acked_by"] == "email link"


def test_ack_link_keys_rotate_without_breaking_links_already_sent(harness, twilio):
    collector, incident_id = open_incident(harness, twilio, "link-02", ack_secret=True)
    old = read_key(os.path.join(harness.dir, "ack.key"))
    new_path = os.path.join(harness.dir, "ack-new.key")
    with open(new_path, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    expiry = int(time.time()) + 3600
    # Rotate: sign with the new key, keep accepting the old one; SIGHUP, no restart.
    with open(collector.config_path) as f:
        text = f.read()
    text = text.replace(f"ack_secret_file: {harness.dir}/ack.key",
                        f"ack_secret_file: {new_path}\n  ack_secret_previous_files: [{harness.dir}/ack.key]")
    with open(collector.config_path, "w") as f:
        f.write(text)
    collector.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "ack link keys reloaded" in collector.proc.output(), 10, what="the reload")
    for key, want in ((read_key(new_path), 200), (old, 200), (harness.key, 403)):
        fields = {"i": incident_id, "e": str(expiry), "s": ack_link_signature(key, incident_id, expiry)}
        status, page = http_get(f"{collector.url}/ack?{urllib.parse.urlencode(fields)}")
        assert status == want, (key == old, page)


def post_twilio(collector, params):
    status, body = http_post(f"{collector.url}/api/v1/twilio/inbound",
                             urllib.parse.urlencode(params).encode(),
                             "application/x-www-form-urlencoded",
                             headers={"X-Twilio-Signature":
                                      twilio_signature("demo-token", TWILIO_INBOUND_URL, params)})
    return status, body.decode()


def test_sms_ack_only_from_a_number_that_was_paged(harness, twilio):
    collector, incident_id = open_incident(harness, twilio, "sms-01")
    assert twilio.sent()[0]["To"] == "+15550100001"  # alice was paged; bob (step 2) was not

    def sms(sender):
        return {"From": sender, "To": "+15550100000", "Body": f"ACK {incident_id}",
                "MessageSid": "SM" + "2" * 32, "AccountSid": "ACtest"}

    def replies(result):
        return metric_value(collector.metrics(), "firewatch_sms_replies_total", {"result": result})

    assert replies("refused") == 0
    # bob is a contact, but was not paged for this incident; the other is nobody's number.
    for sender in ("+15550100002", "+15559999999"):
        status, body = post_twilio(collector, sms(sender))
        assert status == 200 and "Not acknowledged" in body and "Acknowledged" not in body, body
    assert incidents(collector)[incident_id]["state"] == "open"
    wait_for(lambda: replies("refused") == 2, 5, what="the refused replies to be counted")
    # alice, who was paged, may ack (her number as Twilio sends it or as people write it).
    status, body = post_twilio(collector, sms("+1 (555) 010-0001"))
    assert status == 200 and f"Acknowledged {incident_id}" in body, body
    assert incidents(collector)[incident_id]["acked_by"] == "alice (sms)"
    wait_for(lambda: replies("acked") == 1, 5, what="the ack reply to be counted")


def test_twilio_auth_token_rotation_accepts_replies_signed_with_either_token(harness, twilio):
    """docs/security.md, "Rotating secrets": the new token in auth_token_file, the old one in
    auth_token_previous_files; Twilio signs with whichever is its primary. Both verify (a
    reply is answered, not 403); any other token is still refused."""
    extra = paging_config(harness, free_smtp_port(), twilio.port, wait="1h")
    old_file = os.path.join(harness.dir, "twilio.token")
    new_file = os.path.join(harness.dir, "twilio-new.token")
    with open(new_file, "w") as f:
        f.write("new-token\n")
    line = f"    auth_token_file: {old_file}\n"
    assert line in extra
    extra = extra.replace(line, f"    auth_token_file: {new_file}\n"
                                f"    auth_token_previous_files: [{old_file}]\n")
    collector = harness.collector_config(extra=extra).start()
    params = {"From": "+15559999999", "To": "+15550100000", "Body": "ACK K7Q2MX",
              "MessageSid": "SM" + "3" * 32, "AccountSid": "ACtest"}

    def post(token):
        status, body = http_post(f"{collector.url}/api/v1/twilio/inbound",
                                 urllib.parse.urlencode(params).encode(),
                                 "application/x-www-form-urlencoded",
                                 headers={"X-Twilio-Signature":
                                          twilio_signature(token, TWILIO_INBOUND_URL, params)})
        return status, body.decode()

    for token in ("demo-token", "new-token"):   # the old primary, then the promoted one
        status, body = post(token)
        assert status == 200 and "Not acknowledged" in body, (token, status, body)
    status, body = post("someone-elses-token")
    assert status == 403, body


# --- slow clients ---------------------------------------------------------------------

class SlowClients:
    """`n` connections from `source` (a loopback address of its own, as another host)
    that each send a request a byte at a time, forever: half of them trickle their
    headers, half a body. A connection the server closes is opened again at once, so the
    collector never gets its workers back by waiting."""

    def __init__(self, port, n=8, source="127.0.0.2"):
        self.port, self.n, self.source = port, n, source
        self.stop = threading.Event()
        self.reconnects = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(n)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)

    def run(self, i):
        if i % 2 == 0:
            head, trickle = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a"
        else:
            head = (b"POST /api/v1/heartbeat HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n")
            trickle = b"\0"
        while not self.stop.is_set():
            try:
                s = socket.socket()
                s.bind((self.source, 0))
                s.connect(("127.0.0.1", self.port))
                s.sendall(head)
                while not self.stop.is_set():
                    s.sendall(trickle)
                    self.stop.wait(0.5)
            except OSError:
                self.reconnects += 1
            finally:
                s.close()


def timed(fn):
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


def test_eight_slow_clients_do_not_stall_healthz_heartbeats_sync_or_twilio(harness, twilio):
    members = [Member("site-a"), Member("site-b")]
    a, b = write_cluster(
        harness, members, f"127.0.0.1:{free_smtp_port()}", f"127.0.0.1:{twilio.port}",
        tweak=lambda _id, text: text.replace(
            "alerting:\n", f"alerting:\n  twilio_inbound_url: {TWILIO_INBOUND_URL}\n", 1))
    a.start(wait_ready=False)
    b.start()
    wait_for(a._ready, 20, what="site-a /readyz")
    wait_all_peers_up([a, b], timeout=10)

    boot = os.urandom(16)
    seq = [0]

    def heartbeat():
        seq[0] += 1
        frame = encode_frame(harness.key, "fleet", "web-http", boot, seq[0])
        return http_post(a.url + "/api/v1/heartbeat", frame, timeout=3)[0]

    def twilio_reply():
        params = {"From": "+15559999999", "To": "+15550100000", "Body": "hello",
                  "MessageSid": "SM" + "3" * 32, "AccountSid": "ACtest"}
        return post_twilio(a, params)[0]

    def b_syncs_ok():
        return b.peers()["site-a"]["syncs_ok"]

    with SlowClients(a.http_port, n=8):
        time.sleep(1)  # let them all connect and start trickling
        synced = b_syncs_ok()
        deadline = time.monotonic() + 25  # well past every header / body timeout of old
        while time.monotonic() < deadline:
            for what, fn, want in (("/healthz", lambda: http_get(a.url + "/healthz", timeout=3)[0], 200),
                                   ("heartbeat", heartbeat, 204),
                                   ("twilio", twilio_reply, 200)):
                status, took = timed(fn)
                assert status == want and took < 2, f"{what}: {status} after {took:.1f}s"
            assert b.peer_states()["site-a"] == "up" and a.peer_states()["site-b"] == "up"
            time.sleep(0.5)
        # site-b's pushes to site-a were answered all along (one a second).
        assert b_syncs_ok() >= synced + 15, (synced, b_syncs_ok())
        assert a.state("web-http") == "UP"
        # More connections from the same address are closed at once, and counted (a few:
        # one of the eight may be between a cut-off and its reconnection).
        extra = []
        for _ in range(4):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", a.http_port))
            extra.append(s)
        wait_for(lambda: refused(a, "client_limit") >= 1, 5, what="the capped connections counted")
        for s in extra:
            s.close()
    # The trickled bodies were cut off (408 or the socket shut) and counted.
    wait_for(lambda: refused(a, "slow_request") >= 1, 10, what="slow bodies counted")
