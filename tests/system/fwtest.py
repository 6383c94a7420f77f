"""Helpers for firewatch system tests: real binaries, temp dirs, free ports, polling.

Every process a test starts is tracked and stopped by its pid (never by name). Waiting is
always polling a condition against a deadline, never a bare sleep.
"""
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

BIN_DIR = os.environ.get("FIREWATCH_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE_DIR = os.environ.get("FIREWATCH_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTOR = os.path.join(BIN_DIR, "collector", "firewatch-collector")
AGENT = os.path.join(BIN_DIR, "agent", "firewatch-agent")
CTL = os.path.join(BIN_DIR, "ctl", "firewatchctl")


def free_port(kind=socket.SOCK_STREAM):
    """A port that was free on 127.0.0.1 a moment ago (TCP or UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port, kind=socket.SOCK_STREAM):
    """True when 127.0.0.1:port (TCP or UDP) can be bound now (fixed-port tests check first).
    TCP probes use SO_REUSEADDR, as the servers do: connections of an earlier test lingering
    in TIME_WAIT do not make the port busy, a listening socket does."""
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(condition, timeout, interval=0.1, what="condition"):
    """Polls condition() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - the condition may fail until ready
            last_error = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                                 + (f" (last error: {last_error})" if last_error else ""))
        time.sleep(interval)


def http_get(url, timeout=5):
    """(status, body bytes) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def http_post(url, body, content_type="application/octet-stream", timeout=5, headers=None,
              method="POST"):
    """(status, body bytes); `headers` adds to Content-Type (e.g. an Authorization)."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers=dict({"Content-Type": content_type}, **(headers or {})))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --- operator tokens (docs/security.md) ----------------------------------------------------

def token_sha256(token):
    """What api.operators[].token_sha256 holds: hex SHA-256 of the token text."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def operators_section(*operators):
    """An `api:` section accepting each (name, token)."""
    lines = ["api:", "  operators:"]
    for name, token in operators:
        lines += [f"    - name: {name}", f"      token_sha256: {token_sha256(token)}"]
    return "\n".join(lines) + "\n"


def api_call(collector, method, path, payload=None, token=None, timeout=5):
    """An operator's JSON call to a collector's API: (status, parsed JSON or raw bytes).
    `token` defaults to the harness operator's; pass "" to send none."""
    token = collector.h.operator_token if token is None else token
    headers = bearer(token) if token else {}
    body = json.dumps(payload).encode() if payload is not None else (b"{}" if method == "POST" else None)
    status, raw = http_post(collector.url + path, body, "application/json", timeout, headers, method)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def metric_value(text, name, labels=None):
    """The value of one sample in Prometheus text format, or None."""
    labels = labels or {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head == name and not labels:
            return float(value)
        if not head.startswith(name + "{"):
            continue
        body = head[len(name) + 1:-1]
        got = dict(p.split("=", 1) for p in body.split(",") if "=" in p)
        got = {k: v.strip('"') for k, v in got.items()}
        if all(got.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


def copy_example(src_dir, dst_dir):
    """Copies an example directory of deploy/ (its configs, keys and tokens: the regular
    files) to dst_dir and returns dst_dir. Subdirectories are left out: that is where a run
    by hand keeps its state (data dirs), which must never leak into a test."""
    os.makedirs(dst_dir)
    for entry in os.scandir(src_dir):
        if entry.is_file(follow_symlinks=False):
            shutil.copy2(entry.path, os.path.join(dst_dir, entry.name))
    return dst_dir


class Proc:
    """A started binary with its log file; stop() uses the pid."""

    def __init__(self, args, log_path, env=None, cwd=None):
        self.args = args
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                      env=env, cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Sends `sig` and waits; escalates to SIGKILL after `timeout`. Returns exit code."""
        if self.alive():
            os.kill(self.pid, sig)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.log.close()
        return self.popen.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Harness:
    """Owns a temp dir and every process a test starts."""

    def __init__(self, tmp_path):
        self.dir = str(tmp_path)
        self.procs = []
        self.key_path = os.path.join(self.dir, "fleet.key")
        self.key = os.urandom(32)
        with open(self.key_path, "w") as f:
            f.write(self.key.hex() + "\n")
        os.chmod(self.key_path, 0o600)
        # The operator every collector config accepts (api.operators), unless a test
        # writes its own `api:` section: its token, and a file holding it for firewatchctl.
        self.operator = "tester"
        self.operator_token = "fwop_" + os.urandom(32).hex()
        self.operator_token_file = os.path.join(self.dir, "operator.token")
        with open(self.operator_token_file, "w") as f:
            f.write(self.operator_token + "\n")
        os.chmod(self.operator_token_file, 0o600)

    def start(self, args, name, **kw):
        p = Proc(args, os.path.join(self.dir, name + ".log"), **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in reversed(self.procs):
            if p.alive() or not p.log.closed:
                p.stop(signal.SIGKILL) if p.alive() else p.log.close()

    # --- collector -------------------------------------------------------------------
    def collector_config(self, name="collector", http_port=None, udp_port=None, extra=""):
        """`extra` is appended; without an `api:` section of its own the config accepts
        the harness operator's token."""
        http_port = http_port or free_port()
        udp_port = udp_port or free_port(socket.SOCK_DGRAM)
        data_dir = os.path.join(self.dir, name + "-data")
        path = os.path.join(self.dir, name + ".yml")
        api = "" if "\napi:" in "\n" + extra else operators_section((self.operator, self.operator_token))
        with open(path, "w") as f:
            f.write(f"""collector:
  id: {name}
  data_dir: {data_dir}
  http_listen: 127.0.0.1:{http_port}
  udp_listen: 127.0.0.1:{udp_port}
keys:
  - id: fleet
    file: {self.key_path}
{extra}{"" if not extra or extra.endswith(chr(10)) else chr(10)}{api}""")
        return Collector(self, name, path, http_port, udp_port, data_dir)

    # --- agent -----------------------------------------------------------------------
    def agent_config(self, source_id, collectors, interval="1s", labels=None, http_port=None,
                     use_http=True, extra=""):
        """`extra` is appended as is (e.g. a `checks:` section)."""
        http_port = http_port or free_port()
        labels = labels or {"dc": "dc1", "role": "test"}
        path = os.path.join(self.dir, f"agent-{source_id}.yml")
        lines = [
            "agent:",
            f"  source_id: {source_id}",
            f"  interval: {interval}",
            f"  http_listen: 127.0.0.1:{http_port}",
            "  labels:",
        ] + [f"    {k}: {v}" for k, v in labels.items()] + [
            "key:",
            "  id: fleet",
            f"  file: {self.key_path}",
            "collectors:",
        ]
        for c in collectors:
            lines.append(f"  - name: {c.name}")
            lines.append(f"    udp: 127.0.0.1:{c.udp_port}")
            if use_http:
                lines.append(f"    http: 127.0.0.1:{c.http_port}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        return Agent(self, source_id, path, http_port)


class Collector:
    def __init__(self, harness, name, config_path, http_port, udp_port, data_dir):
        self.h = harness
        self.name = name
        self.config_path = config_path
        self.http_port = http_port
        self.udp_port = udp_port
        self.data_dir = data_dir
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait_ready=True, env=None):
        """Starts the collector; `env` adds environment variables (e.g. FIREWATCH_CRASH_AT)."""
        self.proc = self.h.start([COLLECTOR, "--config", self.config_path], self.name,
                                 env=dict(os.environ, **env) if env else None)
        if wait_ready:
            wait_for(lambda: self._ready(), 20, what=f"{self.name} /readyz")
        return self

    def _ready(self):
        if not self.proc.alive():
            raise AssertionError(f"{self.name} exited:\n{self.proc.output()}")
        return http_get(self.url + "/readyz", timeout=1)[0] == 200

    def sources(self, query=""):
        """Every source (the API pages: follows `next`); `query` adds filters."""
        out, after = {}, None
        while True:
            url = self.url + "/api/v1/sources?limit=5000" + ("&" + query if query else "")
            if after:
                url += "&after=" + urllib.parse.quote(after)
            status, body = http_get(url)
            assert status == 200, body
            page = json.loads(body)
            out.update({s["source_id"]: s for s in page["sources"]})
            if not page.get("next"):
                return out
            after = page["next"]

    def source(self, source_id):
        status, body = http_get(self.url + "/api/v1/sources/" + source_id)
        return json.loads(body) if status == 200 else None

    def state(self, source_id):
        s = self.sources().get(source_id)
        return s["state"] if s else None

    def wait_state(self, source_id, state, timeout):
        return wait_for(lambda: self.state(source_id) == state, timeout,
                        what=f"{source_id} to be {state} on {self.name}")

    def metrics(self):
        status, body = http_get(self.url + "/metrics")
        assert status == 200
        return body.decode()

    def pages(self):
        path = os.path.join(self.data_dir, "pages.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]


class Agent:
    def __init__(self, harness, source_id, config_path, http_port):
        self.h = harness
        self.source_id = source_id
        self.config_path = config_path
        self.http_port = http_port
        self.proc = None

    def start(self):
        self.proc = self.h.start([AGENT, "--config", self.config_path], "agent-" + self.source_id)
        return self


# --- the wire format, written from docs/protocol.md (an independent encoder) -------------

def encode_frame(key, key_id, source_id, boot_id, seq, ts_ms=None, interval_ms=1000,
                 labels=None, checks=None, goodbye=None, version="test", wire=1,
                 unchanged=False, digest=0):
    """A frame of protocol version `wire`: 1 (every check in full), or 2, whose checks
    are in full (with `digest` naming them) or, with `unchanged`, only the digest."""
    ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
    labels = sorted((labels or {}).items())
    body = bytearray()
    body += struct.pack(">B", len(key_id)) + key_id.encode()
    body += struct.pack(">B", len(source_id)) + source_id.encode()
    body += boot_id
    body += struct.pack(">QqI", seq, ts_ms, interval_ms)
    body += struct.pack(">B", len(version)) + version.encode()
    body += struct.pack(">B", len(labels))
    for k, v in labels:
        body += struct.pack(">B", len(k)) + k.encode() + struct.pack(">B", len(v)) + v.encode()
    checks = checks or []
    if wire >= 2:
        body += struct.pack(">BQ", 1 if unchanged else 0, digest)
    if not unchanged:
        body += struct.pack(">B", len(checks))
    for name, state, output in checks:
        body += struct.pack(">B", len(name)) + name.encode() + struct.pack(">BH", state, len(output)) + output.encode()
    reason = (goodbye or "").encode()
    body += struct.pack(">B", len(reason)) + reason
    total = 6 + len(body) + 32
    head = b"FW" + struct.pack(">BBH", wire, 2 if goodbye is not None else 1, total)
    signed = head + bytes(body)
    return signed + hmac.new(key, signed, hashlib.sha256).digest()


def send_udp(port, payload):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(payload, ("127.0.0.1", port))
