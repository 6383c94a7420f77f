"""Chaos harness for paging across collector crashes (issue #9).

Real binaries and real sinks: the collector (build/collector/firewatch-collector), one real
agent per host, aiosmtpd delivering into a Maildir and the Twilio-format fake (paging.py).
Each round kills one or two agents (SIGKILL) -> an outage; the collector is killed
(SIGKILL or SIGTERM) and restarted at random points around detection, delivery and
recovery; in some rounds a sink hangs (aiosmtpd SIGSTOPped, the Twilio fake holding
requests) or refuses (aiosmtpd stopped: connection refused; the Twilio fake answering
500) for a few seconds; then the agents are restarted -> recovery. Everything is checked
from what the sinks received:

- every outage reaches alice on email AND SMS with a FIRING page (SMS "FIRING <source>
  DOWN ...", email subject "[FIRING] <source> DOWN ... - incident <ID>"), within
  FIRE_DEADLINE_S of the collector being up, the source DOWN and the sinks restored;
- every recovery reaches alice on both channels as RESOLVED for the same incident, within
  RESOLVE_DEADLINE_S of the collector being up, the source UP and the sinks restored (the
  route's group_interval is 1m, longer than any outage: grouping must not delay it), and
  never before the host came back;
- every outage is its own incident (alerting.reopen_window: 0s), and no incident is left
  open for a healthy host at the end;
- bob (escalation step 2, after 10 minutes) is never paged: no outage lasts that long, so
  a page to bob means escalation ran for a healthy host; no page names a host that was up;
- a page (incident, kind, channel, contact) delivered more than once is a duplicate; each
  extra copy must be explained by a collector crash right after the previous copy was
  accepted (the outbox records an `interrupted` attempt: docs/outbox.md, at-least-once),
  at most one per crash, or by a sink fault at the moment of acceptance (a hung SMTP
  server that stored a message after the collector's timeout); others are violations.

A page that arrives after its deadline is *late*; one that never arrives (the run ends
with a settle period longer than group_interval) is *lost*. Both are violations.

Used by test_chaos.py (bounded, in ctest) and bench/chaos (the long run). Everything
binds 127.0.0.1 on free ports; every process is stopped by its pid; logs stay in the
harness directory.
"""
import collections
import email
import json
import os
import random
import re
import signal
import sqlite3
import time

from fwtest import http_get
from paging import SmtpServer, people_and_channels

CONTACTS = {"alice": ("alice@example.com", "+15550100001"),
            "bob": ("bob@example.com", "+15550100002")}
BY_ADDRESS = {addr: name for name, addrs in CONTACTS.items() for addr in addrs}

FIRE_DEADLINE_S = 20      # FIRING on both channels after collector up + DOWN + sinks back
RESOLVE_DEADLINE_S = 20   # RESOLVED on both channels after collector up + UP + sinks back
STATE_DEADLINE_S = 30     # the collector reports DOWN / UP
SETTLE_S = 75             # at the end: late pages get this long (> group_interval 1m)
CRASH_GRACE_S = 3.0       # a crash this soon after a copy was accepted explains a resend

# Kill points, in the order a round reaches them.
PHASES = ("detect",        # 0-6 s after the agent died: before, at or after DOWN
          "enqueue",       # 0-0.5 s after the API shows the source DOWN
          "send-sms",      # the Twilio fake accepted the FIRING SMS and holds its answer
          "send-email",    # the FIRING email just landed in the Maildir
          "delivered",     # 0-1 s after both FIRING pages arrived
          "recover",       # 0-4 s after the agent was restarted: around UP and the resolve
          "resolve-send",  # the RESOLVED SMS held at the fake, or the email just landed
          "resolved")      # 0-1 s after both RESOLVED pages arrived
FAULTS = ("smtp_refuse", "smtp_hang", "twilio_500", "twilio_hang")


def chaos_config(harness, smtp_port, twilio_port, reopen_window="0s"):
    """The collector config (everything below `keys:`): fast detection; alice (email and
    SMS) at once, bob after 10 minutes (paging.people_and_channels)."""
    token = os.path.join(harness.dir, "twilio.token")
    with open(token, "w") as f:
        f.write("demo-token\n")
    people = people_and_channels(token, f"127.0.0.1:{smtp_port}", f"127.0.0.1:{twilio_port}",
                                 wait="10m", first_targets="[alice]")
    text = f"""detection:
  backstop_intervals: 3
  backstop_grace: 1s
  recovery_heartbeats: 2
{people}route:
  escalation_policy: default
  group_by: [alertname, source]
  group_wait: 0s
  group_interval: 1m
alerting:
  retry_base: 1s
  retry_max_delay: 2s
  max_attempts: 100
  sms_per_contact_per_hour: 100000
"""
    # max_attempts 100 and retry_max_delay 2s: a sink that is down for seconds is retried,
    # never failed over (failover would move the email page onto SMS); the SMS rate limit
    # is lifted so that hundreds of rounds are not summarised.
    if reopen_window is not None:
        text += f"  reopen_window: {reopen_window}\n"
    return text


# --- pages as the sinks received them -------------------------------------------------

class Page:
    __slots__ = ("t", "channel", "to", "kind", "source", "incident", "text", "outage", "message_id")

    def __init__(self, t, channel, to, text):
        self.t, self.channel, self.to, self.text = t, channel, to, text
        self.kind = self.source = self.incident = self.outage = self.message_id = None

    def describe(self):
        return f"{self.channel} to {self.to} at {fmt_t(self.t)}: {self.text!r}"


SUBJECT_RE = re.compile(r"^\[(FIRING|RESOLVED)\] (\S+) (.*?) ?- incident (\S+)$")
SMS_FIRING_RE = re.compile(r"^FIRING (\S+) DOWN\b.*\bACK (\S+)$", re.S)
SMS_RESOLVED_RE = re.compile(r"^RESOLVED (\S+)\b.*\(([^()\s]+)\)$", re.S)


def parse_email(t, msg):
    to = " ".join(str(msg["To"] or "").split())
    subject = " ".join(str(msg["Subject"] or "").split())
    p = Page(t, "email", BY_ADDRESS.get(to, to), subject)
    p.message_id = str(msg["Message-ID"] or "").strip()
    m = SUBJECT_RE.match(subject)
    if m and (m.group(1) == "RESOLVED" or m.group(3).startswith("DOWN")):
        p.kind, p.source, p.incident = m.group(1), m.group(2), m.group(4)
    return p


def parse_sms(t, form):
    body = form.get("Body", "").strip()
    p = Page(t, "sms", BY_ADDRESS.get(form.get("To"), form.get("To")), body)
    for kind, rx in (("FIRING", SMS_FIRING_RE), ("RESOLVED", SMS_RESOLVED_RE)):
        m = rx.match(body)
        if m:
            p.kind, p.source, p.incident = kind, m.group(1), m.group(2)
    return p


class Sinks:
    """aiosmtpd (a child process, Maildir) and the Twilio fake (in this process), with
    their fault modes; poll() turns newly received messages into Pages."""

    def __init__(self, harness, twilio):
        self.smtp = SmtpServer(harness).start()
        self.twilio = twilio
        self.pages = []
        self._mail_seen = set()
        self._sms_seen = 0
        self.fault = None          # (kind, started_at, restore_at)
        self.fault_log = []        # [(kind, on_t, off_t)]

    def poll(self):
        new = []
        mdir = os.path.join(self.smtp.maildir, "new")
        names = sorted(set(os.listdir(mdir)) - self._mail_seen) if os.path.isdir(mdir) else []
        for name in names:
            path = os.path.join(mdir, name)
            with open(path, "rb") as f:
                raw = f.read()
            self._mail_seen.add(name)
            new.append(parse_email(os.stat(path).st_mtime, email.message_from_bytes(raw)))
        with self.twilio.lock:
            forms = self.twilio.messages[self._sms_seen:]
            times = self.twilio.received_at[self._sms_seen:]
        self._sms_seen += len(forms)
        new += [parse_sms(t, form) for t, form in zip(times, forms)]
        new.sort(key=lambda p: p.t)
        self.pages += new
        return new

    def start_fault(self, kind, duration):
        now = time.time()
        if kind == "smtp_refuse":
            self.smtp.proc.stop(signal.SIGTERM)
        elif kind == "smtp_hang":
            os.kill(self.smtp.proc.pid, signal.SIGSTOP)
        elif kind == "twilio_500":
            with self.twilio.lock:
                self.twilio.fail_status = 500
        elif kind == "twilio_hang":
            self.twilio.start_hang()
        self.fault = (kind, now, now + duration)

    def end_fault(self):
        kind, on_t, _ = self.fault
        if kind == "smtp_refuse":
            self.smtp.start()
        elif kind == "smtp_hang":
            os.kill(self.smtp.proc.pid, signal.SIGCONT)
        elif kind == "twilio_500":
            with self.twilio.lock:
                self.twilio.fail_status = None
        elif kind == "twilio_hang":
            self.twilio.stop_hang()
        self.fault_log.append((kind, on_t, time.time()))
        self.fault = None
        return self.fault_log[-1]

    def close(self):
        if self.fault and self.fault[0] == "smtp_hang" and self.smtp.proc.alive():
            os.kill(self.smtp.proc.pid, signal.SIGCONT)
        self.twilio.stop_hang()
        self.twilio.release_held()


# --- the run ---------------------------------------------------------------------------

class Outage:
    def __init__(self, rnd, source, t_kill):
        self.round, self.source, self.t_kill = rnd, source, t_kill
        self.t_down = self.t_restart = self.t_up = None
        self.fire_deadline = self.resolve_deadline = None
        self.incident = None
        self.extra_incidents = []


class Kill:
    def __init__(self, n, rnd, phase, sig, t):
        self.n, self.round, self.phase, self.sig, self.t = n, rnd, phase, sig, t
        self.exit_s = None
        self.forced = False       # SIGTERM did not stop it: SIGKILL followed
        self.ready_at = None


class CollectorGone(Exception):
    pass


def fmt_t(t):
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


class Chaos:
    def __init__(self, harness, twilio, seed, kills=20, hosts=3, max_seconds=None,
                 reopen_window="0s", log=print):
        self.h = harness
        self.rng = random.Random(seed)
        self.seed = seed
        self.kill_target = kills
        self.max_seconds = max_seconds
        self._log = log
        self.sinks = Sinks(harness, twilio)
        self.twilio = twilio
        self.collector = harness.collector_config(
            extra=chaos_config(harness, self.sinks.smtp.port, twilio.port, reopen_window))
        self.hosts = [f"web-{i}" for i in range(1, hosts + 1)]
        self.agents = {}
        self.outages = []          # every outage, in order
        self.kills = []
        self.skipped = collections.Counter()   # kill points never reached
        self.self_exits = []       # the collector exited without being killed
        self.incidents = {}        # id -> incident JSON (last seen)
        self.ready_at = 0.0
        self.round = 0
        self.started = self.finished = None
        self._states = (0.0, {})
        self._starting = False
        self.triggers = []         # armed kill points: (phase, match, outages, storm)
        self._in_trigger = False
        self._held_since = None    # when the Twilio fake accepted the SMS it holds
        self.holds = []            # [(accepted, answered)] of held SMS answers
        self.final_states = {}
        self.outbox = {"error": "not read"}

    def log(self, text):
        elapsed = time.time() - self.started if self.started else 0.0
        self._log(f"[{elapsed:6.1f}s] {text}")

    # -- waiting ------------------------------------------------------------------------
    def tick(self):
        """Runs on every poll: sink pages, scheduled fault restores, collector health."""
        new = self.sinks.poll()
        for p in new:
            self._attribute(p)
        if self._starting and self.twilio.held.is_set():
            # No kill while the collector starts: the held answer goes out at once.
            phases = [t[0] for t in self.triggers if t[1] == "held"]
            self._release_hold()
            for phase in phases:
                self.skipped[phase] += 1
        if self.triggers and not self._starting and not self._in_trigger:
            self._in_trigger = True
            try:
                self._fire_triggers(new)
            finally:
                self._in_trigger = False
        fault = self.sinks.fault
        if fault and time.time() >= fault[2]:
            kind, on_t, off_t = self.sinks.end_fault()
            self.log(f"    sink fault {kind} over after {off_t - on_t:.1f}s")
        proc = self.collector.proc
        if (proc is not None and not self._starting and not proc.alive()
                and not getattr(proc, "chaos_killed", False)):
            code = proc.popen.returncode
            self.self_exits.append((self.round, time.time(), code))
            self.log(f"    collector exited by itself (code {code}); restarting")
            proc.chaos_killed = True
            proc.log.close()
            self._start_collector()

    def wait(self, cond, timeout=None, deadline=None, poll=0.05, raising=()):
        """Polls cond() (after tick()) until truthy or the deadline; deadline() may move
        (it is re-evaluated each time). Returns the value or None. Exceptions from cond()
        count as "not yet" (the collector may be down right now), except `raising`."""
        end = time.time() + timeout if timeout is not None else None
        while True:
            self.tick()
            try:
                value = cond()
            except raising:
                raise
            except Exception:  # noqa: BLE001
                value = None
            if value:
                return value
            limit = deadline() if deadline else end
            if time.time() >= limit:
                return None
            time.sleep(min(poll, 0.01) if self.triggers else poll)

    def pause(self, seconds):
        self.wait(lambda: False, timeout=seconds)

    def states(self):
        t, states = self._states
        if time.time() - t > 0.2:
            status, body = http_get(self.collector.url + "/api/v1/sources", timeout=2)
            if status != 200:
                raise RuntimeError(f"/api/v1/sources: HTTP {status}")
            states = {s["source_id"]: s["state"] for s in json.loads(body)["sources"]}
            self._states = (time.time(), states)
        return states

    def refresh_incidents(self):
        status, body = http_get(self.collector.url + "/api/v1/incidents", timeout=2)
        if status == 200:
            for inc in json.loads(body)["incidents"]:
                self.incidents[inc["id"]] = inc
            return True
        return False

    def moving_deadline(self, base, seconds):
        """base + seconds, but never before `seconds` after the collector became ready or
        a sink fault ended; open-ended while the collector is down or a fault lasts."""
        now = time.time()
        if self.sinks.fault or not self.collector.proc.alive() or self.ready_at == 0:
            return now + seconds
        last_fault_end = self.sinks.fault_log[-1][2] if self.sinks.fault_log else 0
        return max(base, self.ready_at, last_fault_end) + seconds

    # -- processes ----------------------------------------------------------------------
    def _start_collector(self):
        self._starting = True
        try:
            self.collector.start(wait_ready=False)
            proc = self.collector.proc

            def ready():
                if not proc.alive():
                    raise CollectorGone()
                return http_get(self.collector.url + "/readyz", timeout=1)[0] == 200
            try:
                ok = self.wait(ready, timeout=30, poll=0.1, raising=(CollectorGone,))
            except CollectorGone:
                ok = False
            if not ok:
                raise AssertionError("collector did not start (config refused?):\n"
                                     + proc.output()[-3000:])
        finally:
            self._starting = False
        self.ready_at = time.time()
        self._states = (0.0, {})

    def crash(self, phase, outages=None, sig=None, before_restart=None):
        """Kills the collector (SIGKILL or SIGTERM at random unless `sig`), waits for it to
        exit, and restarts it after a random 0-1.5 s (calling before_restart() first)."""
        if sig is None:
            sig = signal.SIGKILL if self.rng.random() < 0.65 else signal.SIGTERM
        k = Kill(len(self.kills) + 1, self.round, phase, sig, time.time())
        proc = self.collector.proc
        proc.chaos_killed = True
        os.kill(proc.pid, sig)
        deadline = time.time() + 15
        while True:
            # A held SMS answer goes out now: a SIGTERMed collector finishing its send gets it
            # (holding it past the sender's timeout would make a resend of our own making).
            if self.twilio.held.is_set():
                self._release_hold()
            if proc.popen.poll() is not None or time.time() >= deadline:
                break
            time.sleep(0.01)
        if proc.popen.poll() is None:
            k.forced = True
            os.kill(proc.pid, signal.SIGKILL)
            proc.popen.wait(10)
        k.exit_s = time.time() - k.t
        proc.log.close()
        self.kills.append(k)
        down_for = self.rng.uniform(0, 1.5)
        self.pause(down_for)
        if before_restart:
            before_restart()
        self._start_collector()
        k.ready_at = self.ready_at
        self.log(f"    kill #{k.n} {phase} {signal.Signals(sig).name}"
                 f" (exit {k.exit_s:.2f}s{', FORCED' if k.forced else ''}, down {down_for:.1f}s)")
        return k

    def start_agent(self, source):
        a = self.agents.get(source)
        if a is None:
            a = self.h.agent_config(source, [self.collector], interval="1s")
            self.agents[source] = a
        a.start()

    # -- attribution: which outage a page belongs to -------------------------------------
    def _attribute(self, p, final=False):
        if p.incident is None or p.outage is not None:
            return
        known = [o for o in self.outages if o.incident == p.incident or p.incident in o.extra_incidents]
        if known:
            p.outage = known[0]
            return
        if p.kind != "FIRING" and not final:
            return  # a RESOLVED for an incident never seen FIRING: attributed at the end
        # Which outage of this source was it opened for? The incident's start (API) says;
        # without the API (collector down), the time the page arrived.
        started = None
        try:
            if p.incident not in self.incidents:
                self.refresh_incidents()
            inc = self.incidents.get(p.incident)
            if inc:
                started = inc["started_at_ms"] / 1000
        except Exception:  # noqa: BLE001 - collector down
            pass
        o = self._outage_at(p.source, started if started is not None else p.t,
                            opened=started is not None)
        if o is None:
            return  # a page for a host that was up: reported by analyse()
        if o.incident is None:
            o.incident = p.incident
        else:
            o.extra_incidents.append(p.incident)
        p.outage = o

    def _outage_at(self, source, t, opened=False):
        """The outage of `source` that time t falls in: from the agent's kill to the next
        kill of that agent; when t is the incident's start (opened), only until the host
        was seen UP again (an incident opened later is for a healthy host)."""
        mine = [o for o in self.outages if o.source == source]
        for i, o in enumerate(mine):
            nxt = mine[i + 1].t_kill if i + 1 < len(mine) else float("inf")
            if opened and o.t_up is not None:
                nxt = min(nxt, o.t_up + 0.5)
            if o.t_kill <= t < nxt:
                return o
        return None

    def pages_for(self, o, kind, contact="alice"):
        return {p.channel: p for p in reversed(self.sinks.pages)
                if p.kind == kind and p.to == contact and p.incident is not None
                and p.incident == o.incident}

    # -- one round ------------------------------------------------------------------------
    def plan(self):
        rng = self.rng
        k = rng.choices((0, 1, 2, 3), weights=(1, 4, 4, 1))[0]
        phases = sorted(rng.sample(PHASES, k), key=PHASES.index)
        fault = None
        if rng.random() < 0.45:
            fault = (rng.choice(FAULTS), rng.choice(("kill", "down", "recover")),
                     rng.uniform(2, 8))
        n_hosts = 2 if rng.random() < 0.25 and len(self.hosts) > 1 else 1
        last = [o.source for o in self.outages[-1:]]
        if last and rng.random() < 0.4:   # the same host again soon: issue #9's path
            sources = last + rng.sample([h for h in self.hosts if h != last[0]], n_hosts - 1)
        else:
            sources = rng.sample(self.hosts, n_hosts)
        storm = rng.random() < 0.15       # a second kill right after a restart
        return phases, fault, sources, storm

    def maybe_fault(self, fault, when):
        if fault and fault[1] == when and self.sinks.fault is None:
            self.sinks.start_fault(fault[0], fault[2])
            self.log(f"    sink fault {fault[0]} for {fault[2]:.1f}s")

    def kill_at(self, phase, phases, outages, storm):
        if phase not in phases:
            return
        self.crash(phase, outages)
        if storm:
            self.pause(self.rng.uniform(0, 1.5))
            self.crash("startup", outages)

    def arm(self, phase, match, outages, storm):
        """Kill the collector the moment a sink receives a page matching match(page), or,
        with match "held", the moment the Twilio fake holds the answer to an SMS (armed
        with hold_next): the collector is then mid-send."""
        self.triggers.append((phase, match, outages, storm))

    def disarm(self, phase):
        for trig in [t for t in self.triggers if t[0] == phase]:
            self.triggers.remove(trig)
            if trig[1] == "held":
                self._release_hold()
            self.skipped[phase] += 1
            self.log(f"    kill point {phase} not reached")

    def hold_sms(self, prefix):
        """The Twilio fake will hold its answer to the next SMS to alice starting with
        prefix; the "held" trigger kills the collector meanwhile."""
        alice_sms = CONTACTS["alice"][1]

        def pred(m):
            if m.get("Body", "").startswith(prefix) and m.get("To") == alice_sms:
                self._held_since = time.time()
                return True
            return False
        self.twilio.hold_next(pred)

    def _release_hold(self):
        """Lets a held SMS answer go (or disarms the hold); the held kill point is over."""
        self.twilio.release_held()
        if self._held_since is not None:
            self.holds.append((self._held_since, time.time()))
            self._held_since = None
        self.triggers = [t for t in self.triggers if t[1] != "held"]

    def _fire_triggers(self, new_pages):
        for trig in list(self.triggers):
            phase, match, outages, storm = trig
            if match == "held":
                fired = self.twilio.held.is_set()
            else:
                fired = any(match(p) for p in new_pages)
            if fired and trig in self.triggers:
                self.triggers.remove(trig)
                self.kill_at(phase, (phase,), outages, storm)

    def await_pages(self, kind, outages, deadline, kill_points):
        """Waits for `kind` on both channels to alice for every outage; records the
        deadline each was held to; kill points waiting for these pages end here."""
        ok = self.wait(lambda: all(o.incident and len(self.pages_for(o, kind)) == 2 for o in outages),
                       deadline=deadline)
        for o in outages:
            if kind == "FIRING":
                o.fire_deadline = deadline()
            else:
                o.resolve_deadline = deadline()
        for phase in kill_points:
            self.disarm(phase)
        if not ok:
            self.log(f"    !! {kind} pages missing at the deadline: "
                     + "; ".join(f"{o.source} incident {o.incident} has {sorted(self.pages_for(o, kind))}"
                                 for o in outages))
        return ok

    def kill_agents(self, sources):
        """SIGKILLs the agents of `sources`: one new outage each."""
        outages = []
        for s in sources:
            self.agents[s].proc.kill()
            o = Outage(self.round, s, time.time())
            self.outages.append(o)
            outages.append(o)
        return outages

    def run_round(self):
        self.round += 1
        phases, fault, sources, storm = self.plan()
        self.log(f"round {self.round}: {', '.join(sources)} down; kill points "
                 f"{', '.join(phases) or 'none'}{' (+startup)' if storm and phases else ''}; "
                 f"fault {fault[0] + ' at ' + fault[1] + f' for {fault[2]:.1f}s' if fault else 'none'}")
        src = sources[0]
        if "send-sms" in phases:
            self.hold_sms(f"FIRING {src} ")
            self.arm("send-sms", "held", None, storm)
        if "send-email" in phases:
            self.arm("send-email", lambda p: (p.channel == "email" and p.kind == "FIRING"
                                              and p.source == src and p.to == "alice"), None, storm)
        self.maybe_fault(fault, "kill")
        outages = self.kill_agents(sources)

        # Detection.
        if "detect" in phases:
            self.pause(self.rng.uniform(0, 6))
            self.kill_at("detect", phases, outages, storm)
        if not self.wait(lambda: all(self.states().get(o.source) == "DOWN" for o in outages),
                         deadline=lambda: self.moving_deadline(outages[0].t_kill, STATE_DEADLINE_S)):
            self.log("    !! source not DOWN in time")
        for o in outages:
            o.t_down = time.time()
        self.maybe_fault(fault, "down")
        if "enqueue" in phases:
            self.pause(self.rng.uniform(0, 0.5))
            self.kill_at("enqueue", phases, outages, storm)

        # Delivery (send-sms and send-email fire from tick()).
        fire_dl = lambda: self.moving_deadline(max(o.t_down for o in outages), FIRE_DEADLINE_S)  # noqa: E731
        fired = self.await_pages("FIRING", outages, fire_dl, ("send-sms", "send-email"))
        if "delivered" in phases:
            self.pause(self.rng.uniform(0, 1))
            self.kill_at("delivered", phases, outages, storm)

        # Recovery.
        if "resolve-send" in phases:
            if self.rng.random() < 0.5:
                self.hold_sms(f"RESOLVED {src} ")
                self.arm("resolve-send", "held", outages, storm)
            else:
                self.arm("resolve-send", lambda p: (p.channel == "email" and p.kind == "RESOLVED"
                                                    and p.source == src and p.to == "alice"), outages, storm)
        self.maybe_fault(fault, "recover")
        for o in outages:
            self.start_agent(o.source)
            o.t_restart = time.time()
        if "recover" in phases:
            self.pause(self.rng.uniform(0, 4))
            self.kill_at("recover", phases, outages, storm)

        def all_up():
            states = self.states()
            for o in outages:
                if o.t_up is None and states.get(o.source) == "UP":
                    o.t_up = time.time()
            return all(o.t_up for o in outages)
        if not self.wait(all_up, deadline=lambda: self.moving_deadline(
                max(o.t_restart for o in outages), STATE_DEADLINE_S)):
            self.log("    !! source not UP in time")
        res_dl = lambda: self.moving_deadline(max(o.t_up or o.t_restart for o in outages),  # noqa: E731
                                              RESOLVE_DEADLINE_S)
        resolved = self.await_pages("RESOLVED", outages, res_dl, ("resolve-send",))
        if "resolved" in phases:
            self.pause(self.rng.uniform(0, 1))
            self.kill_at("resolved", phases, outages, storm)
        if self.sinks.fault:
            self.sinks.end_fault()
        self.log(f"    ok: {', '.join(f'{o.source} incident {o.incident}' for o in outages)}"
                 if fired and resolved else "    round done with pages missing")

    # -- the whole run --------------------------------------------------------------------
    def start(self):
        """The collector and every agent, all hosts UP."""
        self.started = time.time()
        self.log(f"chaos: seed {self.seed}, {self.kill_target} kill points, hosts {', '.join(self.hosts)}, "
                 f"dir {self.h.dir}")
        self._start_collector()
        for s in self.hosts:
            self.start_agent(s)
        if not self.wait(lambda: all(self.states().get(s) == "UP" for s in self.hosts), timeout=30):
            raise AssertionError("agents not UP within 30 s:\n" + self.collector.proc.output()[-3000:])

    def run(self):
        self.start()
        while len(self.kills) < self.kill_target:
            if self.max_seconds and time.time() - self.started > self.max_seconds:
                self.log(f"time budget of {self.max_seconds}s used up after {len(self.kills)} kills")
                break
            self.run_round()
        self.settle()
        return self.analyse()

    def settle(self):
        """Late pages get SETTLE_S (more than group_interval) to arrive; then the incident
        list must show nothing open, and a short quiet period lets duplicates show."""
        self.log("settling: waiting for late pages")
        if self.sinks.fault:
            self.sinks.end_fault()
        complete = lambda: all(o.incident and len(self.pages_for(o, "FIRING")) == 2  # noqa: E731
                               and len(self.pages_for(o, "RESOLVED")) == 2 for o in self.outages)
        self.wait(complete, timeout=SETTLE_S, poll=0.2)
        self.wait(lambda: self.refresh_incidents() and not self.open_incidents(), timeout=10, poll=0.5)
        self.pause(3)  # the absence of a late duplicate can only be observed by waiting
        self.refresh_incidents()
        self.final_states = self.states()
        self.finished = time.time()
        self.collector.proc.chaos_killed = True
        self.collector.proc.stop(signal.SIGTERM, timeout=15)
        self.outbox = read_outbox(os.path.join(self.collector.data_dir, "outbox.db"))
        self.sinks.poll()
        for p in sorted(self.sinks.pages, key=lambda p: (p.kind != "FIRING", p.t)):
            self._attribute(p, final=True)

    def open_incidents(self):
        return [i for i in self.incidents.values() if i.get("state") != "resolved"]

    def analyse(self):
        return Report(self).build()


# --- the outbox's own record (read after the collector stopped) -----------------------

def read_outbox(path):
    """{"interrupted": {(incident, kind, contact, channel): n}, "keys": {...: n},
    "states": {state: n}} or {"error": text} when the file cannot be read (schema change)."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            interrupted = collections.Counter()
            for inc, kind, contact, channel, n in db.execute(
                    "SELECT n.incident_id, n.kind, n.contact, a.channel, count(*) FROM attempts a "
                    "JOIN notifications n ON n.key = a.key WHERE a.result = 'interrupted' "
                    "GROUP BY 1, 2, 3, 4"):
                interrupted[(inc, kind, contact, channel)] = n
            keys = collections.Counter()
            for inc, kind, contact, channel, n in db.execute(
                    "SELECT incident_id, kind, contact, json_extract(channel_chain, '$[0]'), count(*) "
                    "FROM notifications GROUP BY 1, 2, 3, 4"):
                keys[(inc, kind, contact, channel)] = n
            states = dict(db.execute("SELECT state, count(*) FROM notifications GROUP BY state"))
            failed = [r for r in db.execute(
                "SELECT key, channel, detail FROM notifications WHERE state = 'failed'")]
        finally:
            db.close()
        return {"interrupted": interrupted, "keys": keys, "states": states, "failed": failed}
    except Exception as e:  # noqa: BLE001 - report, do not fail the run on a schema change
        return {"error": f"{path}: {e}"}


OUTBOX_KIND = {"FIRING": "trigger", "RESOLVED": "resolve"}


class Report:
    def __init__(self, chaos):
        self.c = chaos
        self.violations = []       # (round, incident, text)
        self.counts = collections.Counter()
        self.duplicates = []       # dicts

    def add(self, rnd, incident, text):
        self.violations.append((rnd, incident, text))

    def build(self):
        c = self.c
        pages = sorted(c.sinks.pages, key=lambda p: p.t)
        # Pages that name no outage.
        for p in pages:
            if p.incident is None:
                self.add(None, None, f"unrecognised page: {p.describe()}")
            elif p.outage is None:
                o = c._outage_at(p.source, p.t) if p.source else None
                inc = c.incidents.get(p.incident)
                self.add(o.round if o else None, p.incident,
                         f"page for an incident of no outage (host up; incident {json.dumps(inc)[:300]}): "
                         f"{p.describe()}")
            if p.to == "bob":
                self.add(p.outage.round if p.outage else None, p.incident,
                         f"bob paged (escalation step 2 ran for a host that recovered): {p.describe()}")
            elif p.to != "alice":
                self.add(None, p.incident, f"page to an unknown address: {p.describe()}")
        # Per outage: FIRING and RESOLVED on both channels, on time.
        expected = delivered = on_time = 0
        for o in c.outages:
            for x in o.extra_incidents:
                self.add(o.round, x, f"{o.source}: a second incident for one outage (first {o.incident})")
            for kind, deadline, after in (("FIRING", o.fire_deadline, o.t_kill),
                                          ("RESOLVED", o.resolve_deadline, o.t_restart)):
                for ch in ("email", "sms"):
                    expected += 1
                    got = [p for p in pages if p.to == "alice" and p.kind == kind and p.channel == ch
                           and o.incident is not None and p.incident == o.incident]
                    what = f"{o.source}: {kind} {ch} to alice"
                    if not got:
                        self.add(o.round, o.incident, f"{what} LOST (never delivered; outage "
                                 f"{fmt_t(o.t_kill)}-{fmt_t(o.t_restart or o.t_kill)})")
                        continue
                    delivered += 1
                    first = got[0]
                    if kind == "RESOLVED" and o.t_restart and first.t < o.t_restart:
                        self.add(o.round, o.incident, f"{what} sent while the host was still down "
                                 f"(at {fmt_t(first.t)}, agent restarted {fmt_t(o.t_restart)})")
                    if deadline is not None and first.t > deadline:
                        self.add(o.round, o.incident, f"{what} LATE by {first.t - deadline:.1f}s "
                                 f"(deadline {fmt_t(deadline)}, delivered {fmt_t(first.t)})")
                    else:
                        on_time += 1
        self.counts.update(expected=expected, delivered=delivered, on_time=on_time,
                           lost=expected - delivered)
        self.latency = {"FIRING": [], "RESOLVED": []}
        for o in c.outages:
            for kind, since in (("FIRING", o.t_kill), ("RESOLVED", o.t_restart)):
                both = self.c.pages_for(o, kind) if o.incident else {}
                if len(both) == 2 and since:
                    self.latency[kind].append(max(p.t for p in both.values()) - since)
        # Every outage its own incident: an incident id shared by two outages cannot be
        # attributed twice, so it shows up as a lost FIRING above. Left open at the end:
        for inc in c.open_incidents():
            src = inc.get("group_labels", {}).get("source")
            if c.final_states.get(src) != "DOWN":
                o = next((o for o in c.outages if o.incident == inc["id"]), None)
                self.add(o.round if o else None, inc["id"],
                         f"incident still {inc.get('state')} at the end for {src}, which is "
                         f"{c.final_states.get(src)} (escalation would reach bob)")
        self._duplicates(pages)
        return self

    def _duplicates(self, pages):
        c = self.c
        outbox = c.outbox
        groups = collections.defaultdict(list)
        for p in pages:
            if p.incident is not None and p.kind:
                groups[(p.incident, p.kind, p.channel, p.to)].append(p)
        used = collections.defaultdict(int)   # kill number -> duplicates it explains
        for (inc, kind, ch, to), copies in groups.items():
            if len(copies) < 2:
                continue
            rnd = copies[0].outage.round if copies[0].outage else None
            okey = (inc, OUTBOX_KIND[kind], to, ch)
            interrupted = outbox.get("interrupted", {}).get(okey, 0) if "error" not in outbox else None
            explained_by_crash = 0
            for prev, extra in zip(copies, copies[1:]):
                d = {"round": rnd, "incident": inc, "kind": kind, "channel": ch, "contact": to,
                     "first": prev.t, "again": extra.t, "why": None}
                kill = next((k for k in c.kills if prev.t - 0.2 <= k.t <= prev.t + CRASH_GRACE_S
                             and k.t < extra.t and used[(k.n, okey)] == 0), None)
                if kill and (interrupted is None or explained_by_crash < interrupted):
                    used[(kill.n, okey)] += 1
                    explained_by_crash += 1
                    d["kill"] = kill.n
                    d["why"] = (f"crash: kill #{kill.n} ({kill.phase}, {signal.Signals(kill.sig).name}) "
                                f"{kill.t - prev.t:.2f}s after the first copy was accepted"
                                + ("" if interrupted is None else f"; outbox: {interrupted} interrupted send(s)"))
                    self.counts["dup_crash"] += 1
                else:
                    fault = self._fault_at(ch, prev.t)
                    if fault:
                        d["why"] = fault
                        self.counts["dup_fault"] += 1
                    else:
                        self.counts["dup_unexplained"] += 1
                        nkeys = outbox.get("keys", {}).get(okey, 0)
                        self.add(rnd, inc, f"duplicate {kind} {ch} to {to} at {fmt_t(extra.t)} "
                                 f"(previous copy {fmt_t(prev.t)}) not explained by a crash mid-send"
                                 + (f" (kill #{kill.n} {kill.t - prev.t:.2f}s after, but the outbox "
                                    f"recorded {interrupted} interrupted send(s))" if kill else "")
                                 + (f"; the outbox holds {nkeys} different keys for it: enqueued "
                                    f"again, not a resend" if nkeys > 1 else ""))
                self.duplicates.append(d)
            ids = sorted({p.message_id for p in copies if p.message_id is not None})
            if ch == "email" and len(ids) > 1:
                self.add(rnd, inc, f"the {len(copies)} copies of {kind} email to {to} carry different "
                         f"Message-IDs {ids}: a mail client cannot tell the resend (docs/outbox.md)")
        self.counts["duplicates"] = len(self.duplicates)

    def _fault_at(self, channel, t):
        """A sink fault that can make a sink accept a message its sender never heard back
        about: aiosmtpd stopped right after storing it, or resumed (SIGCONT) and stored a
        message whose sender had timed out meanwhile."""
        for accepted, answered in self.c.holds:
            if channel == "sms" and abs(accepted - t) <= 0.1 and answered - accepted >= 2.5:
                return (f"sink fault: the Twilio fake held its answer {answered - accepted:.1f}s, "
                        "past the collector's 3 s timeout")
        for kind, on_t, off_t in self.c.sinks.fault_log:
            if channel == "email" and kind == "smtp_refuse" and on_t - 1.0 <= t <= on_t + 0.1:
                return f"sink fault: aiosmtpd stopped {on_t - t:.2f}s after storing the first copy"
            if channel == "email" and kind == "smtp_hang" and off_t - 0.1 <= t <= off_t + 2.0:
                return (f"sink fault: aiosmtpd resumed (SIGCONT) {t - off_t:.2f}s before storing the "
                        "first copy, after the collector had timed out on it")
        return None

    # -- output -------------------------------------------------------------------------
    def summary(self):
        c = self.c
        by_sig = collections.Counter(signal.Signals(k.sig).name for k in c.kills)
        by_phase = collections.Counter(k.phase for k in c.kills)
        faults = collections.Counter(f[0] for f in c.sinks.fault_log)
        terms = [k.exit_s for k in c.kills if k.sig == signal.SIGTERM]
        n = self.counts
        dup_total = n["duplicates"]
        per_crash = collections.Counter(d["kill"] for d in self.duplicates if d.get("kill"))
        lines = [
            f"chaos run {time.strftime('%Y-%m-%d', time.localtime(c.started))}: seed {c.seed}, "
            f"{c.round} rounds in {c.finished - c.started:.0f} s, {len(c.hosts)} hosts",
            f"  collector kills: {len(c.kills)} ({', '.join(f'{s} {v}' for s, v in sorted(by_sig.items()))}); "
            f"by point: {', '.join(f'{p} {by_phase[p]}' for p in PHASES + ('startup',) if by_phase[p])}",
            (f"  SIGTERM stop took {max(terms):.2f}s at most" if terms else "  no SIGTERM stops")
            + f"{'; FORCED with SIGKILL: ' + str(sum(k.forced for k in c.kills)) if any(k.forced for k in c.kills) else ''}"
            f"; collector exits nobody asked for: {len(c.self_exits)}",
            f"  sink faults: {sum(faults.values())}"
            + (f" ({', '.join(f'{k} {v}' for k, v in sorted(faults.items()))})" if faults else "")
            + (f"; kill points not reached: {dict(c.skipped)}" if c.skipped else ""),
            f"  outages: {len(c.outages)}; pages expected {n['expected']} (FIRING + RESOLVED, email + SMS, "
            f"to alice), delivered {n['delivered']}, on time {n['on_time']}, late "
            f"{n['delivered'] - n['on_time']}, lost {n['lost']}",
            f"  duplicates: {dup_total} (crash mid-send {n['dup_crash']}, sink fault {n['dup_fault']}, "
            f"unexplained {n['dup_unexplained']}); {len(c.kills)} crashes, {len(per_crash)} followed by "
            f"a duplicate, at most {max(per_crash.values(), default=0)} duplicate(s) per crash "
            "(1 per page and crash)",
            "  time to reach alice on both channels (detection, collector restarts and sink faults "
            "included): "
            + "; ".join(f"{k} after the agent {'died' if k == 'FIRING' else 'restarted'}: median "
                        f"{_median(v):.1f}s, max {max(v):.1f}s" for k, v in self.latency.items() if v),
            f"  bob paged: {sum(1 for p in c.sinks.pages if p.to == 'bob')}; incidents open at the end: "
            f"{len(c.open_incidents())}",
            "  outbox at the end: " + (c.outbox["error"] if "error" in c.outbox else
                                      ", ".join(f"{k} {v}" for k, v in sorted(c.outbox["states"].items()))),
            f"  violations: {len(self.violations)}",
        ]
        return "\n".join(lines)

    def details(self, limit=200):
        out = []
        for rnd, inc, text in sorted(self.violations, key=lambda v: (v[0] or 0)):
            out.append(f"  round {rnd if rnd is not None else '-'} incident {inc or '-'}: {text}")
        if len(out) > limit:
            out = out[:limit] + [f"  ... and {len(out) - limit} more"]
        dups = [f"  duplicate: round {d['round']} incident {d['incident']} {d['kind']} {d['channel']} to "
                f"{d['contact']} ({fmt_t(d['first'])}, again {fmt_t(d['again'])}): {d['why']}"
                for d in self.duplicates if d["why"]]  # unexplained ones are violations above
        return "\n".join(out + dups)

    def text(self):
        return self.summary() + ("\n" + self.details() if self.violations or self.duplicates else "")

    def to_json(self):
        c = self.c
        return {
            "seed": c.seed, "rounds": c.round, "hosts": c.hosts,
            "kills": [{"n": k.n, "round": k.round, "phase": k.phase, "signal": signal.Signals(k.sig).name,
                       "t": k.t, "exit_s": k.exit_s, "forced": k.forced} for k in c.kills],
            "faults": [{"kind": f[0], "on": f[1], "off": f[2]} for f in c.sinks.fault_log],
            "outages": [{"round": o.round, "source": o.source, "t_kill": o.t_kill, "t_down": o.t_down,
                         "t_restart": o.t_restart, "t_up": o.t_up, "incident": o.incident,
                         "extra_incidents": o.extra_incidents, "fire_deadline": o.fire_deadline,
                         "resolve_deadline": o.resolve_deadline} for o in c.outages],
            "pages": [{"t": p.t, "channel": p.channel, "to": p.to, "kind": p.kind, "source": p.source,
                       "incident": p.incident, "text": p.text} for p in sorted(c.sinks.pages, key=lambda p: p.t)],
            "counts": dict(self.counts),
            "violations": [{"round": r, "incident": i, "text": t} for r, i, t in self.violations],
            "duplicates": self.duplicates,
        }


def _median(values):
    v = sorted(values)
    return (v[len(v) // 2] + v[(len(v) - 1) // 2]) / 2


def run(harness, twilio, seed, kills, max_seconds=None, reopen_window="0s", log=print):
    """Runs the chaos rounds and returns the Report (violations in .violations)."""
    chaos = Chaos(harness, twilio, seed, kills=kills, max_seconds=max_seconds,
                  reopen_window=reopen_window, log=log)
    try:
        report = chaos.run()
    finally:
        chaos.sinks.close()
    with open(os.path.join(harness.dir, "chaos-report.json"), "w") as f:
        json.dump(report.to_json(), f, indent=1)
    return report
