"""Issue #10, "Peer sync cannot be replayed" (docs/cluster.md, "Replay"): two collectors on
loopback, site-a's pushes to site-b recorded on the way by a proxy (a network attacker
without keys can do no more: it sees and repeats bytes).

- A recorded request sent again after site-a died is refused with 401, counted as
  "replayed", and site-a stays DOWN on site-b: a replay is no sign of life.
- A recorded response handed back to site-a for a new request does not verify (it is
  signed over the request it answered): site-b, dead, stays DOWN on site-a.
- The cluster key rotates as docs/security.md says (three steps of rolling restarts with
  cluster.accept_key_files) without either collector refusing the other's signature.

Before the hardening both replays were accepted and brought the dead collector back UP.
"""
import os
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fwcluster import (PEER_TIMEOUT_S, SYNC_PATH, Member, wait_all_peers_up, write_cluster,
                       write_key)
from fwtest import free_port, wait_for
from test_cluster import metric_sum


class RecordingProxy:
    """Forwards POST /api/v1/cluster/sync to `target_port`, recording each request's
    headers and body and each answer; in `replay_answer` mode it does not forward but
    answers every request with the last recorded answer."""

    def __init__(self, target_port):
        self.target = f"http://127.0.0.1:{target_port}"
        self.requests = []   # (headers, body)
        self.answers = []    # (status, headers, body)
        self.replay_answer = False
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()
                           if k.lower().startswith("x-firewatch-") or k.lower() == "content-type"}
                with proxy.lock:
                    proxy.requests.append((headers, body))
                    canned = proxy.answers[-1] if proxy.replay_answer and proxy.answers else None
                if canned is None:
                    status, out_headers, out = proxy.forward(headers, body)
                    with proxy.lock:
                        proxy.answers.append((status, out_headers, out))
                else:
                    status, out_headers, out = canned
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, headers, body):
        req = urllib.request.Request(self.target + SYNC_PATH, data=body, method="POST",
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=3) as r:
                return r.status, self.keep(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, self.keep(e.headers), e.read()
        except OSError:
            return 502, {}, b""

    @staticmethod
    def keep(headers):
        return {k: v for k, v in headers.items()
                if k.lower().startswith("x-firewatch-") or k.lower() == "content-type"}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def replay(port, headers, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{SYNC_PATH}", data=body, method="POST",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def start_pair_through_proxy(harness, twilio):
    """site-a and site-b; site-a reaches site-b only through a RecordingProxy (the member
    list says site-b is at the proxy, identically in both configs)."""
    a_m, b_m = Member("site-a"), Member("site-b")
    proxy = RecordingProxy(b_m.http_port)
    real = f"url: http://127.0.0.1:{b_m.http_port}"
    via_proxy = f"url: http://127.0.0.1:{proxy.port}"

    def tweak(_id, text):
        assert real in text
        return text.replace(real, via_proxy)
    a, b = write_cluster(harness, [a_m, b_m], f"127.0.0.1:{free_port()}",
                         f"127.0.0.1:{twilio.port}", tweak=tweak)
    a.start(wait_ready=False)
    b.start()
    wait_for(a._ready, 20, what="site-a /readyz")
    wait_all_peers_up([a, b], timeout=10)
    return a, b, proxy


def replayed(collector):
    return metric_sum(collector.metrics(), "firewatch_cluster_sync_rejected_total",
                      {"reason": "replayed"})


def test_replayed_sync_requests_are_refused_and_the_dead_peer_stays_dead(harness, twilio):
    a, b, proxy = start_pair_through_proxy(harness, twilio)
    try:
        wait_for(lambda: len(proxy.requests) >= 6, 10, what="site-a's pushes through the proxy")
        # A request seen once, sent again while site-a is alive: refused.
        headers, body = proxy.requests[-2]
        assert replay(b.http_port, headers, body) == 401
        a.proc.kill()
        wait_for(lambda: b.peer_states()["site-a"] == "down", PEER_TIMEOUT_S + 5, interval=0.25,
                 what="site-b to see the killed site-a DOWN")
        before = replayed(b)
        # Every recorded push, newest first and oldest first, all within the skew window.
        recorded = list(proxy.requests)
        statuses = [replay(b.http_port, h, bd) for h, bd in recorded[-5:] + recorded[-5:][::-1]]
        assert statuses == [401] * 10, statuses
        wait_for(lambda: replayed(b) >= before + 10, 5, what="the replays counted as replayed")
        # A replay is no sign of life: site-a stays DOWN (2 arrivals would bring it UP).
        end = time.monotonic() + 3
        while time.monotonic() < end:
            assert b.peer_states()["site-a"] == "down"
            time.sleep(0.25)
    finally:
        proxy.close()


def test_a_recorded_response_does_not_answer_a_new_request(harness, twilio):
    a, b, proxy = start_pair_through_proxy(harness, twilio)
    try:
        wait_for(lambda: len(proxy.answers) >= 3 and proxy.answers[-1][0] == 200, 10,
                 what="site-b's signed answers through the proxy")
        before = metric_sum(a.metrics(), "firewatch_cluster_sync_rejected_total",
                            {"reason": "bad_signature"})
        # site-b dies; the proxy answers site-a's next pushes with site-b's last answer.
        proxy.replay_answer = True
        b.proc.kill()
        wait_for(lambda: a.peer_states()["site-b"] == "down", PEER_TIMEOUT_S + 5, interval=0.25,
                 what="site-a to see site-b DOWN despite the replayed answers")
        wait_for(lambda: metric_sum(a.metrics(), "firewatch_cluster_sync_rejected_total",
                                    {"reason": "bad_signature"}) >= before + 2, 5,
                 what="the replayed answers counted")
        end = time.monotonic() + 3
        while time.monotonic() < end:
            assert a.peer_states()["site-b"] == "down"
            time.sleep(0.25)
    finally:
        proxy.close()


def test_the_cluster_key_rotates_by_rolling_restarts_without_refusing_a_peer(harness, twilio):
    """docs/security.md, "Rotating secrets": 1) accept the new key, 2) sign with it and accept
    the old, 3) the new one only; each step a restart of one collector at a time. At every
    point each collector verifies the other's requests and answers: no bad_signature, and
    both see each other UP after every restart."""
    a, b = write_cluster(harness, [Member("site-a"), Member("site-b")], f"127.0.0.1:{free_port()}",
                         f"127.0.0.1:{twilio.port}")
    old = re.search(r"^  key_file: (.*)$", open(a.config_path).read(), re.M).group(1)
    new = write_key(os.path.join(harness.dir, "cluster-new.key"))
    for c in (a, b):
        c.start()
    wait_all_peers_up([a, b], timeout=10)

    def bad_signatures(c):
        return metric_sum(c.metrics(), "firewatch_cluster_sync_rejected_total",
                          {"reason": "bad_signature"})

    for step, (key_file, accept) in enumerate([(old, [new]), (new, [old]), (new, [])], 1):
        for c in (a, b):
            text = open(c.config_path).read()
            text = re.sub(r"^  accept_key_files: .*\n", "", text, flags=re.M)
            extra = f"  accept_key_files: [{', '.join(accept)}]\n" if accept else ""
            text = re.sub(r"^  key_file: .*\n", f"  key_file: {key_file}\n{extra}", text, count=1,
                          flags=re.M)
            with open(c.config_path, "w") as f:
                f.write(text)
            c.proc.stop()
            c.start()
            wait_all_peers_up([a, b], timeout=10)
            # A few exchanges in both directions under the mixed keys.
            time.sleep(1.5)
            for x in (a, b):
                assert bad_signatures(x) == 0, (step, c.name, x.name, x.log()[-3000:])
                assert x.peer_states()["site-b" if x is a else "site-a"] == "up", (step, x.name)
