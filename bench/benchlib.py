"""Shared helpers for the firewatch benchmarks (stdlib only; run with /usr/bin/python3).

Every process a benchmark starts goes through start(); stop_all() (registered with
atexit and on SIGTERM/SIGINT/SIGHUP) stops each one by its own pid: SIGTERM, then SIGKILL
after a grace period. Nothing is ever killed by name.
"""

import argparse
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

_procs = []  # Popen objects we started and have not reaped yet


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def start(argv, cpu=None, **kw):
    """Starts argv (optionally pinned to `cpu` with taskset) and remembers its pid."""
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + list(argv)
    p = subprocess.Popen(argv, **kw)
    _procs.append(p)
    return p


def stop(p, grace=5.0):
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. By pid only."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
    if p in _procs:
        _procs.remove(p)


_dirs = []  # work dirs to remove once every process is stopped


def workdir(prefix, parent=None):
    """A fresh temp dir, removed at exit after all processes are stopped (kept when
    FIREWATCH_BENCH_KEEP=1)."""
    d = tempfile.mkdtemp(prefix=prefix, dir=parent)
    if os.environ.get("FIREWATCH_BENCH_KEEP") != "1":
        _dirs.append(d)
    return d


def stop_all():
    for p in list(_procs):
        stop(p, grace=3.0)
    while _dirs:
        shutil.rmtree(_dirs.pop(), ignore_errors=True)


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, _on_signal)


def free_port(kind=socket.SOCK_STREAM):
    """A port that is free on 127.0.0.1 for both TCP and UDP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def write_key(path):
    with open(path, "w") as f:
        f.write(secrets.token_hex(32) + "\n")
    os.chmod(path, 0o600)


# ---- /proc readers -------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def oncpu_seconds(pid):
    """Time on CPU of all live threads from /proc/PID/task/*/schedstat (ns resolution;
    threads that already exited are not counted)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def others_cpu_seconds(exclude):
    """{pid: CPU seconds (utime+stime)} of every user-space process except `exclude`
    and this driver. Per-CPU /proc/stat is no good for this: with a tickless kernel it
    misses most of a receiver's short bursts of work. Kernel threads (empty cmdline) are
    left out: some of their work (deferred skb frees, ...) is caused by the benchmark."""
    skip = set(exclude) | {os.getpid()}
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if not f.read(1):
                    continue
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        out[int(name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def others_delta(before, after):
    """CPU seconds used between two others_cpu_seconds() snapshots by the processes in
    both (processes that start or end in between are not counted)."""
    return sum(max(0.0, after[p] - before[p]) for p in after if p in before)


def status_kb(pid):
    """The kB fields of /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile, ...)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            m = re.match(r"(\w+):\s+(\d+) kB", line)
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def udp_socket_drops(port):
    """Kernel drop counter of the UDP socket bound to 127.0.0.1:port (/proc/net/udp)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            cols = line.split()
            if cols[1] == want:
                return int(cols[-1])
    return None


def snmp_udp():
    """System-wide Udp counters from /proc/net/snmp (InDatagrams, RcvbufErrors, ...)."""
    with open("/proc/net/snmp") as f:
        lines = [l.split() for l in f if l.startswith("Udp:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))


# ---- HTTP / metrics ------------------------------------------------------------------

def http_get(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode("utf-8", "replace")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')


def parse_metrics(text):
    """Prometheus text format -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric_sum(metrics, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))


# ---- the collector -------------------------------------------------------------------

class Collector:
    """A real firewatch-collector on loopback with its own data dir and config."""

    def __init__(self, binary, key_file, workdir, cpu=None, per_source=False,
                 log_level="warn", key_id="bench", collector_extra=""):
        self.dir = tempfile.mkdtemp(prefix="collector-", dir=workdir)
        self.http_port = free_port()
        self.udp_port = free_port(socket.SOCK_DGRAM)
        self.config = os.path.join(self.dir, "collector.yml")
        with open(self.config, "w") as f:
            f.write(f"""# written by bench/benchlib.py
collector:
  id: bench
  data_dir: {self.dir}/data
  http_listen: 127.0.0.1:{self.http_port}
  udp_listen: 127.0.0.1:{self.udp_port}
  log_level: {log_level}
  max_sources: 1000000                 # benchmarks measure capacity, not the limits
  new_sources_per_key_per_minute: 0
{collector_extra}keys:
  - id: {key_id}
    file: {key_file}
metrics:
  per_source: {'true' if per_source else 'false'}
""")
        self.log = open(os.path.join(self.dir, "collector.log"), "w")
        self.proc = start([binary, "--config", self.config], cpu=cpu,
                          stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.url = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited ({self.proc.returncode}); see "
                                   f"{self.dir}/collector.log")
            try:
                if http_get(self.url + "/readyz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("collector not ready after 20 s")
            time.sleep(0.05)

    def metrics(self):
        return parse_metrics(http_get(self.url + "/metrics", timeout=30)[1])

    def counters(self):
        m = self.metrics()
        return {
            "accepted": metric_sum(m, "firewatch_heartbeats_received_total", transport="udp"),
            "rejected": metric_sum(m, "firewatch_frames_rejected_total"),
            "datagrams": metric_sum(m, "firewatch_udp_datagrams_received_total"),
            "kernel_drops": metric_sum(m, "firewatch_udp_kernel_drops_total"),
            "sources": metric_sum(m, "firewatch_sources"),
            "store_queue": metric_sum(m, "firewatch_store_queue_depth"),
        }

    def settle(self, expect_accepted=None, timeout=10.0):
        """Polls the counters until `accepted` reaches the expectation or stops moving."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            c = self.counters()
            if expect_accepted is not None and c["accepted"] >= expect_accepted:
                return c
            if last is not None and c["accepted"] == last["accepted"] and \
                    c["datagrams"] == last["datagrams"]:
                return c
            if time.monotonic() > deadline:
                return c
            last = c
            time.sleep(0.3)

    def stop(self):
        stop(self.proc, grace=10)
        self.log.close()


# ---- machine -------------------------------------------------------------------------

def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": os.uname().release,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rmem_max": int(open("/proc/sys/net/core/rmem_max").read()),
    }


def size_for_fleet(config_path, sources, udp_buffer_mib=None, more=""):
    """Edits a system-test collector config (tests/system) for a benchmark's fleet: room
    for twice --sources, no new-source rate limit, and --udp-buffer-mib when given
    (otherwise the collector's default); `more` adds collector: lines."""
    with open(config_path) as f:
        text = f.read()
    lines = (f"  max_sources: {sources * 2}\n  new_sources_per_key_per_minute: 0\n" + more
             + (f"  udp_buffer_mib: {udp_buffer_mib}\n" if udp_buffer_mib else ""))
    assert "collector:\n" in text, config_path
    with open(config_path, "w") as f:
        f.write(text.replace("collector:\n", "collector:\n" + lines, 1))


def add_udp_buffer_arg(ap):
    ap.add_argument("--udp-buffer-mib", type=int, default=None,
                    help="collector.udp_buffer_mib (default: the collector's own default)")


def arg_parser(doc):
    """The drivers' common arguments: --build (the tree), --out (JSON), --workdir."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workdir", default=None)
    return ap


def save(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
