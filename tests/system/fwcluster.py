"""Helpers for cluster tests (docs/cluster.md): configs for N collectors that share
everything but their `collector:` section, agents that report to all of them, the
cluster API, the sync wire format (written from the spec, independently of the C++), and
reading who was paged about what from the SMTP Maildir and the Twilio fake."""
import hashlib
import hmac
import json
import os
import re
import time

from fwtest import AGENT, COLLECTOR, Collector, free_port, http_get, operators_section, wait_for
from paging import people_and_channels

SYNC_PATH = "/api/v1/cluster/sync"

# Collectors talk to each other, to SMTP and to the Twilio fake on test addresses, and
# pytest talks to them: a proxy from the environment must not get in between (urllib in
# this process, libcurl in the collectors it starts).
for _var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

# Detection fast enough for tests: agents send every second; a dead one is DOWN within
# about 4 s (phi, or the backstop of 3 intervals + 1 s).
FAST_DETECTION = """detection:
  backstop_intervals: 3
  backstop_grace: 1s
  evaluate_every: 250ms
"""

# Cluster timing for tests: sync every second, a peer is DOWN after 3 s of silence, a
# collector that hears no peer waits 5 s before paging on its own.
FAST_CLUSTER = {
    "sync_interval": "1s",
    "peer_timeout": "3s",
    "full_sync_every": "10s",
    "claim_timeout": "1m",
    "alone_hold": "5s",
    "isolation_fraction": "0.5",
}
PEER_TIMEOUT_S = 3


class Member:
    """One collector of a cluster: id, where it listens, its dc label, and where it runs
    (`ns` = a network namespace of `network`, or None for the root namespace)."""

    def __init__(self, id, host="127.0.0.1", http_port=None, udp_port=None, dc=None,
                 network=None, ns=None):
        import socket
        self.id = id
        self.host = host
        self.http_port = http_port or free_port()
        self.udp_port = udp_port or free_port(socket.SOCK_DGRAM)
        self.dc = dc or id
        self.network = network
        self.ns = ns


class ClusterCollector(Collector):
    """fwtest.Collector that may listen on a non-loopback address inside a namespace."""

    def __init__(self, harness, member, config_path, data_dir):
        super().__init__(harness, member.id, config_path, member.http_port, member.udp_port,
                         data_dir)
        self.member = member
        self.host = member.host

    @property
    def url(self):
        return f"http://{self.host}:{self.http_port}"

    def start(self, wait_ready=True):
        args = [COLLECTOR, "--config", self.config_path]
        if self.member.network is not None:
            self.proc = self.member.network.run(self.h, self.member.ns, args, self.name)
        else:
            self.proc = self.h.start(args, self.name)
        if wait_ready:
            wait_for(lambda: self._ready(), 20, what=f"{self.name} /readyz")
        return self

    # --- cluster API -------------------------------------------------------------------
    def collectors(self):
        status, body = http_get(self.url + "/api/v1/collectors", timeout=2)
        assert status == 200, (status, body)
        return json.loads(body)

    def peers(self):
        """{id: entry} of the other members as this collector sees them."""
        return {c["id"]: c for c in self.collectors()["collectors"] if not c.get("self")}

    def peer_states(self):
        return {i: c["state"] for i, c in self.peers().items()}

    def incidents(self):
        status, body = http_get(self.url + "/api/v1/incidents", timeout=2)
        assert status == 200, (status, body)
        return json.loads(body)["incidents"]

    def log(self):
        return self.proc.output() if self.proc else ""


def write_key(path):
    with open(path, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(path, 0o600)
    return path


def shared_config(harness, members, smtp_addr, twilio_addr, *, first_targets="[schedule:primary]",
                  wait="1h", group_wait="0s", group_interval="2s", cluster=None,
                  cluster_key=None):
    """Everything but the `collector:` section: identical for every member (so their
    config digests match)."""
    token = os.path.join(harness.dir, "twilio.token")
    with open(token, "w") as f:
        f.write("demo-token\n")
    cluster_key = cluster_key or os.path.join(harness.dir, "cluster.key")
    if not os.path.exists(cluster_key):
        write_key(cluster_key)
    settings = dict(FAST_CLUSTER, **(cluster or {}))
    lines = ["cluster:", f"  key_file: {cluster_key}", "  members:"]
    for m in members:
        lines += [f"    - id: {m.id}",
                  f"      url: http://{m.host}:{m.http_port}",
                  f"      labels: {{dc: {m.dc}}}"]
    lines += [f"  {k}: {v}" for k, v in settings.items()]
    cluster_text = "\n".join(lines) + "\n"
    return f"""keys:
  - id: fleet
    file: {harness.key_path}
{operators_section((harness.operator, harness.operator_token))}{FAST_DETECTION}{cluster_text}
{people_and_channels(token, smtp_addr, twilio_addr, wait, first_targets)}route:
  escalation_policy: default
  group_by: [dc]
  group_wait: {group_wait}
  group_interval: {group_interval}
alerting:
  external_url: http://127.0.0.1:1
  retry_base: 500ms
  retry_max_delay: 1s
  max_attempts: 100
  runbooks:
    SourceDown: "Check the host's power and network."
    CollectorDown: "Check the collector's site."
"""


def write_cluster(harness, members, smtp_addr, twilio_addr, tweak=None, **kw):
    """Writes one config per member and returns ClusterCollectors (not started).
    tweak(member_id, shared_text) -> text lets a test make one member's config differ."""
    shared = shared_config(harness, members, smtp_addr, twilio_addr, **kw)
    out = []
    for m in members:
        data_dir = os.path.join(harness.dir, m.id + "-data")
        path = os.path.join(harness.dir, m.id + ".yml")
        text = shared if tweak is None else tweak(m.id, shared)
        with open(path, "w") as f:
            f.write(f"""collector:
  id: {m.id}
  data_dir: {data_dir}
  http_listen: {m.host}:{m.http_port}
  udp_listen: {m.host}:{m.udp_port}
{text}""")
        out.append(ClusterCollector(harness, m, path, data_dir))
    return out


class ClusterAgent:
    """An agent that reports to every given collector (UDP + HTTP), 1 s interval."""

    def __init__(self, harness, source_id, collectors, dc, network=None, ns=None,
                 interval="1s"):
        self.h = harness
        self.source_id = source_id
        self.network = network
        self.ns = ns
        self.proc = None
        self.config_path = os.path.join(harness.dir, f"agent-{source_id}.yml")
        lines = ["agent:", f"  source_id: {source_id}", f"  interval: {interval}",
                 '  http_listen: ""', "  labels:", f"    dc: {dc}", "    role: test",
                 "key:", "  id: fleet", f"  file: {harness.key_path}", "collectors:"]
        for c in collectors:
            lines += [f"  - name: {c.name}", f"    udp: {c.host}:{c.udp_port}",
                      f"    http: {c.host}:{c.http_port}"]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        args = [AGENT, "--config", self.config_path]
        name = "agent-" + self.source_id
        if self.network is not None:
            self.proc = self.network.run(self.h, self.ns, args, name)
        else:
            self.proc = self.h.start(args, name)
        return self


def wait_all_peers_up(collectors, timeout=10):
    """Every collector lists every other one as up and is not alone."""
    def all_up():
        for c in collectors:
            view = c.collectors()
            states = {m["id"]: m["state"] for m in view["collectors"] if not m.get("self")}
            if set(states) != {o.name for o in collectors if o is not c}:
                return False
            if any(s != "up" for s in states.values()) or view.get("alone") is not False:
                return False
        return True
    wait_for(all_up, timeout, interval=0.25, what="every collector to see every peer up")


def wait_source_everywhere(collectors, source_ids, state="UP", timeout=15):
    def ok():
        for c in collectors:
            srcs = c.sources()
            if any(srcs.get(s, {}).get("state") != state for s in source_ids):
                return False
        return True
    wait_for(ok, timeout, interval=0.25, what=f"{sorted(source_ids)} {state} on every collector")


# --- the sync wire format (docs/cluster.md, "Sync") ----------------------------------------

def sign_sync(key, peer, timestamp_ms, body, answers=None):
    """A request's signature, or with `answers` (the request's signature) a response's."""
    kind = b"request\n" if answers is None else b"response\n"
    msg = b"firewatch-sync-v2\n" + kind + peer.encode() + b"\n" + str(timestamp_ms).encode() + b"\n"
    if answers is not None:
        msg += answers.encode() + b"\n"
    return hmac.new(key, msg + body, hashlib.sha256).hexdigest()


def read_key(path):
    with open(path) as f:
        text = "".join(line for line in f if not line.lstrip().startswith("#"))
    return bytes.fromhex("".join(text.split()))


# --- who was paged about what ------------------------------------------------------------

class Page:
    """One email: recipient, subject, the collector that sent it ("seen by collector X"),
    and the labels of its alerts (collector = X, source = Y, dc = Z, alertname = N)."""

    def __init__(self, msg):
        self.to = msg["To"]
        self.subject = str(msg["Subject"])
        self.body = msg.get_payload(decode=True).decode(errors="replace").replace("\r\n", "\n")
        m = re.search(r"seen by collector (\S+?)\.?\s", self.body)
        self.sender = m.group(1) if m else None
        self.collectors = set(re.findall(r"^\s+collector = (\S+)$", self.body, re.M))
        self.sources = set(re.findall(r"^\s+source = (\S+)$", self.body, re.M))
        self.dcs = set(re.findall(r"^\s+dc = (\S+)$", self.body, re.M))
        self.alertnames = set(re.findall(r"^\s+alertname = (\S+)$", self.body, re.M))
        self.firing = self.subject.startswith("[FIRING]")
        m = re.search(r"incident (\S+)", self.subject)
        self.incident = m.group(1) if m else None

    def __repr__(self):
        return (f"Page(to={self.to!r}, subject={self.subject!r}, sender={self.sender}, "
                f"alerts={sorted(self.alertnames)}, collectors={sorted(self.collectors)}, "
                f"sources={sorted(self.sources)}, dcs={sorted(self.dcs)})")


def emails(smtp):
    return [Page(m) for m in smtp.messages()]


def firing_emails(smtp):
    return [p for p in emails(smtp) if p.firing]


def firing_sms(twilio):
    return [s for s in twilio.sent() if s["Body"].startswith("FIRING")]


def describe(smtp, twilio, collectors=(), log_lines=0):
    """A dump for assertion messages: every email, every SMS, each collector's view, and
    with `log_lines` the last lines of each collector's log about incidents and sync."""
    lines = ["emails:"] + [f"  {p!r}" for p in emails(smtp)]
    lines += ["sms:"] + [f"  {s['To']}: {s['Body']}" for s in twilio.sent()]
    for c in collectors:
        try:
            lines.append(f"{c.name} collectors: {json.dumps(c.collectors())}")
            lines.append(f"{c.name} incidents: {json.dumps(c.incidents())}")
        except Exception as e:  # noqa: BLE001 - a dead collector has no API
            lines.append(f"{c.name}: {e}")
        if log_lines:
            wanted = [x for x in c.log().splitlines() if "incident" in x or "cluster" in x]
            lines += [f"{c.name} log: {x}" for x in wanted[-log_lines:]]
    return "\n".join(lines)


def sleep_until(deadline):
    """Absence can only be observed by waiting: sleeps until a monotonic deadline."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)
