"""Real SMTP (aiosmtpd into a Maildir) and a Twilio-compatible fake for paging tests."""
import base64
import email
import json
import os
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fwtest import SOURCE_DIR, free_port, wait_for

HANDLER_DIR = os.path.join(SOURCE_DIR, "alerting", "notify", "testdata")


class SmtpServer:
    """/usr/bin/aiosmtpd on loopback, delivering each message into a Maildir."""

    def __init__(self, harness, port=None, host="127.0.0.1"):
        self.h = harness
        self.host = host
        self.port = port or free_port()
        self.maildir = os.path.join(harness.dir, "maildir")
        self.proc = None

    def start(self):
        env = dict(os.environ, PYTHONPATH=HANDLER_DIR)
        self.proc = self.h.start(["/usr/bin/aiosmtpd", "-n", "-l", f"{self.host}:{self.port}",
                                  "-c", "maildir_handler.MaildirHandler", self.maildir],
                                 f"aiosmtpd-{self.port}", env=env)

        def accepting():
            with socket.create_connection((self.host, self.port), timeout=1):
                return True
        wait_for(accepting, 15, what="aiosmtpd to accept connections")
        return self

    def messages(self):
        new = os.path.join(self.maildir, "new")
        if not os.path.isdir(new):
            return []
        out = []
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), "rb") as f:
                raw = f.read()
            out.append(email.message_from_bytes(raw))
        return out


class FakeTwilio:
    """Checks Twilio's Messages API wire format exactly; records accepted messages."""

    def __init__(self, sid, token, port=0, host="127.0.0.1"):
        self.sid = sid
        self.token = token
        self.messages = []
        self.errors = []
        self.senders = []  # client address of each accepted message (same order)
        self.received_at = []  # time.time() of each accepted message (same order)
        # Fault modes (the chaos test): fail_status answers every request with that HTTP
        # status and accepts nothing; start_hang() holds requests unanswered until
        # stop_hang(), then answers 503 (nothing accepted); hold_next(pred) accepts the next
        # message matching pred(form) but holds its answer until release_held().
        self.fail_status = None
        self._hang = None
        self._hold_pred = None
        self.held = threading.Event()
        self._release = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                expected_path = f"/2010-04-01/Accounts/{fake.sid}/Messages.json"
                auth = "Basic " + base64.b64encode(f"{fake.sid}:{fake.token}".encode()).decode()
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with fake.lock:
                    fail_status, hang = fake.fail_status, fake._hang
                if hang is not None:
                    hang.wait(120)
                    fail_status = 503
                if fail_status is not None:
                    self._answer(fail_status, {"code": 20500, "message": "fault injected"})
                    return
                problems = []
                if self.path != expected_path:
                    problems.append(f"path {self.path}")
                if self.headers.get("Authorization") != auth:
                    problems.append("bad Basic auth")
                if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    problems.append("not a form post")
                form = urllib.parse.parse_qs(body, keep_blank_values=True)
                for field in ("To", "From", "Body"):
                    if len(form.get(field, [])) != 1:
                        problems.append(f"field {field}")
                with fake.lock:
                    if problems:
                        fake.errors.append(problems)
                        self.send_response(400)
                        self.end_headers()
                        self.wfile.write(json.dumps({"code": 20001, "message": str(problems)}).encode())
                        return
                    fake.messages.append({k: v[0] for k, v in form.items()})
                    fake.senders.append(self.client_address[0])
                    fake.received_at.append(time.time())
                    hold = fake._hold_pred is not None and fake._hold_pred(fake.messages[-1])
                    if hold:
                        fake._hold_pred = None
                        fake.held.set()
                if hold:
                    fake._release.wait(120)
                    self._answer(201, {"sid": "SM" + "0" * 32, "status": "queued"})
                    return
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"sid": "SM" + "0" * 32, "status": "queued"}).encode())

            def _answer(self, status, obj):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(json.dumps(obj).encode())
                except OSError:
                    pass  # the client gave up (timeout) while the request hung

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def sent(self):
        with self.lock:
            return list(self.messages)

    def sent_with_senders(self):
        """[(message, client address)]: which collector sent what, when they have
        distinct addresses (network-namespace tests)."""
        with self.lock:
            return list(zip(self.messages, self.senders))

    def start_hang(self):
        with self.lock:
            if self._hang is None:
                self._hang = threading.Event()

    def stop_hang(self):
        with self.lock:
            hang, self._hang = self._hang, None
        if hang is not None:
            hang.set()

    def hold_next(self, pred):
        """Accept the next message for which pred(message) is true, then hold the answer
        (held is set) until release_held(): the sender is then mid-send."""
        with self.lock:
            self._release.clear()
            self.held.clear()
            self._hold_pred = pred

    def release_held(self):
        with self.lock:
            self._hold_pred = None
        self._release.set()

    def close(self):
        self.stop_hang()
        self.release_held()
        self.server.shutdown()
        self.server.server_close()


TWILIO_INBOUND_URL = "http://example.invalid/api/v1/twilio/inbound"


def people_and_channels(token, smtp_addr, twilio_addr, wait, first_targets="[schedule:primary]"):
    """contacts, channels (SMTP + Twilio), the on-call schedule and the escalation policy
    shared by the paging and cluster tests: alice on call, bob after `wait`."""
    return f"""contacts:
  - name: alice
    email: alice@example.com
    phone: "+15550100001"
    channels: [sms, email]
  - name: bob
    email: bob@example.com
    phone: "+15550100002"
    channels: [sms, email]
channels:
  - name: email
    type: smtp
    url: smtp://{smtp_addr}
    starttls: "off"
    from: firewatch@example.com
    timeout: 3s
    connect_timeout: 1s
  - name: sms
    type: twilio
    base_url: http://{twilio_addr}
    account_sid: ACtest
    auth_token_file: {token}
    from: "+15550100000"
    timeout: 3s
    connect_timeout: 1s
schedules:
  - name: primary
    time_zone: Europe/Berlin
    rotations:
      - members: [alice]
        start: 2026-01-05T09:00
        handoff: "09:00"
        length: weekly
escalation_policies:
  - name: default
    steps:
      - targets: {first_targets}
        channels: [email, sms]
        wait: {wait}
      - targets: [bob]
        channels: [email, sms]
        wait: 1h
"""


def paging_config(harness, smtp_port, twilio_port, wait="5s", group_wait="0s", ack_secret=False):
    token = os.path.join(harness.dir, "twilio.token")
    with open(token, "w") as f:
        f.write("demo-token\n")
    ack_line = ""
    if ack_secret:  # otherwise the ack link key is derived from the heartbeat key
        ack_key = os.path.join(harness.dir, "ack.key")
        with open(ack_key, "w") as f:
            f.write("# email ack links\n" + os.urandom(32).hex() + "\n")
        ack_line = f"\n  ack_secret_file: {ack_key}"
    return f"""
{people_and_channels(token, f'127.0.0.1:{smtp_port}', f'127.0.0.1:{twilio_port}', wait)}route:
  escalation_policy: default
  group_by: [alertname, source]
  group_wait: {group_wait}
  group_interval: 2s
alerting:
  external_url: http://127.0.0.1:1
  retry_base: 500ms
  retry_max_delay: 1s
  max_attempts: 100
  twilio_inbound_url: {TWILIO_INBOUND_URL}{ack_line}
  runbooks:
    SourceDown: "Check the host's power and network."
"""


def twilio_signature(token, url, params):
    """X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the URL and sorted params."""
    import hashlib
    import hmac
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
