#!/usr/bin/python3
"""A three-collector cluster with a million sources each, over real HTTP on loopback
(docs/benchmarks.md, section 8): what peer sync costs when nothing changes, and how long a
member that was killed takes to converge again.

Three real collectors (a, b, c; one cluster key; sync_interval --sync-interval) each hear
the same --sources sources (one signed heartbeat each from bench_udp_blaster, declaring an
interval longer than the whole run, so nobody turns DOWN and no further heartbeat is
needed). Then:
  1. first convergence: until every collector's copy of each peer's table holds every
     source (GET /api/v1/collectors, "sources");
  2. steady state: sync bytes per peer and direction over --steady-seconds
     (firewatch_cluster_sync_bytes_total through /api/v1/collectors), and each
     collector's CPU;
  3. c is killed (SIGKILL) and started again on its data dir: seconds to /readyz and until
     all six copies are whole again, and the bytes that took.

Every process is started here and stopped by its pid (benchlib). Loopback only.
Usage: bench/cluster_bench.py --build build-release --out cluster.json [--sources 1000000]
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

IDS = ("a", "b", "c")


class Member:
    def __init__(self, mid, work):
        self.id = mid
        self.dir = os.path.join(work, mid)
        os.makedirs(self.dir, exist_ok=True)
        self.http_port = bl.free_port()
        self.udp_port = bl.free_port(bl.socket.SOCK_DGRAM)
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.config = os.path.join(self.dir, "collector.yml")
        self.proc = None
        self.log = None


def write_configs(members, key, cluster_key, sync_interval):
    cluster = ["cluster:", f"  key_file: {cluster_key}", f"  sync_interval: {sync_interval}",
               "  members:"]
    for m in members:
        cluster += [f"    - id: {m.id}", f"      url: {m.url}"]
    for m in members:
        with open(m.config, "w") as f:
            f.write(f"""# written by bench/cluster_bench.py
collector:
  id: {m.id}
  data_dir: {m.dir}/data
  http_listen: 127.0.0.1:{m.http_port}
  udp_listen: 127.0.0.1:{m.udp_port}
  log_level: warn
  max_sources: 1000000
  new_sources_per_key_per_minute: 0
keys:
  - id: bench
    file: {key}
metrics:
  per_source: false
""" + "\n".join(cluster) + "\n")


def start(m, binary):
    if m.log is not None:
        m.log.close()  # a restart appends to the same file
    m.log = open(os.path.join(m.dir, "collector.log"), "a")
    m.proc = bl.start([binary, "--config", m.config], stdout=m.log, stderr=subprocess.STDOUT)


def wait_ready(m, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if m.proc.poll() is not None:
            raise RuntimeError(f"collector {m.id} exited; see {m.dir}/collector.log")
        try:
            if bl.http_get(m.url + "/readyz", timeout=2)[0] == 200:
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"collector {m.id} not ready after {timeout} s")


def peers_view(m):
    """{peer id: (sources in our copy, bytes sent, bytes received)} of one collector."""
    body = json.loads(bl.http_get(m.url + "/api/v1/collectors", timeout=30)[1])
    return {c["id"]: (c.get("sources", 0), c.get("sync_bytes_sent", 0),
                      c.get("sync_bytes_received", 0))
            for c in body["collectors"] if not c["self"]}


def whole(members, n):
    """True when every collector's copy of every peer's table holds n sources."""
    for m in members:
        try:
            view = peers_view(m)
        except OSError:
            return False
        if len(view) != len(members) - 1 or any(v[0] != n for v in view.values()):
            return False
    return True


def wait_whole(members, n, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if whole(members, n):
            return time.monotonic() - t0
        time.sleep(0.5)
    return None


def tracked(m):
    """Sources the collector itself tracks."""
    return int(bl.metric_sum(bl.parse_metrics(bl.http_get(m.url + "/metrics", timeout=30)[1]),
                             "firewatch_sources"))


def total_bytes(members):
    return {m.id: peers_view(m) for m in members}


def main():
    ap = bl.arg_parser(__doc__)
    ap.add_argument("--sources", type=int, default=1_000_000)
    ap.add_argument("--sync-interval", default="1s")
    ap.add_argument("--steady-seconds", type=float, default=60)
    ap.add_argument("--warm-rate", type=int, default=25_000)
    ap.add_argument("--max-rounds", type=int, default=6)
    ap.add_argument("--converge-timeout", type=float, default=600)
    a = ap.parse_args()
    binary = os.path.join(a.build, "collector", "firewatch-collector")
    blaster = os.path.join(a.build, "bench", "bench_udp_blaster")
    work = bl.workdir("fw-cluster-", a.workdir)
    key = os.path.join(work, "fleet.key")
    cluster_key = os.path.join(work, "cluster.key")
    bl.write_key(key)
    bl.write_key(cluster_key)
    members = [Member(i, work) for i in IDS]
    write_configs(members, key, cluster_key, a.sync_interval)
    res = {"machine": bl.machine(), "sources": a.sources, "sync_interval": a.sync_interval}
    for m in members:
        start(m, binary)
    for m in members:
        wait_ready(m)

    # Every collector hears every source (an interval longer than the run). A collector
    # busy taking a peer's table drops some of the first round (its socket overflows on
    # two shared cores): rounds repeat, with the next sequence numbers, until each
    # tracks every source.
    t0 = time.monotonic()
    seq = {m.id: 1 for m in members}
    rounds = {m.id: 0 for m in members}
    for _ in range(a.max_rounds):
        short = [m for m in members if tracked(m) < a.sources]
        if not short:
            break
        for m in short:
            out = subprocess.run([blaster, "--port", str(m.udp_port), "--key-file", key,
                                  "--key-id", "bench", "--sources", str(a.sources), "--prefix",
                                  "dc1.host-", "--seq-base", str(seq[m.id]),
                                  "--rate", str(a.warm_rate), "--count", str(a.sources),
                                  "--duration", str(min(60, a.sources / a.warm_rate + 5)),
                                  "--interval-ms", "3600000"],
                                 capture_output=True, text=True, timeout=300)
            if out.returncode != 0:
                raise RuntimeError(out.stderr)
            seq[m.id] = json.loads(out.stdout)["next_seq_base"]
            rounds[m.id] += 1
        time.sleep(3)
    res["fill_s"] = round(time.monotonic() - t0, 1)
    res["fill_rounds"] = rounds
    res["tracked"] = {m.id: tracked(m) for m in members}
    bl.log(f"fill: {res['tracked']} sources tracked after {rounds} rounds, {res['fill_s']} s")
    if any(v < a.sources for v in res["tracked"].values()):
        raise RuntimeError(f"fill incomplete: {res['tracked']}")

    took = wait_whole(members, a.sources, a.converge_timeout)
    res["first_convergence_s"] = round(took, 1) if took is not None else None
    bl.log(f"first convergence: {res['first_convergence_s']} s after the fill")

    # Steady state: bytes per peer and direction, CPU per collector.
    time.sleep(5)
    before = total_bytes(members)
    cpu0 = {m.id: bl.cpu_seconds(m.proc.pid) for m in members}
    t0 = time.monotonic()
    time.sleep(a.steady_seconds)
    span = time.monotonic() - t0
    after = total_bytes(members)
    cpu1 = {m.id: bl.cpu_seconds(m.proc.pid) for m in members}
    steady = {}
    for m in members:
        for peer in after[m.id]:
            sent = after[m.id][peer][1] - before[m.id][peer][1]
            recv = after[m.id][peer][2] - before[m.id][peer][2]
            steady[f"{m.id}->{peer}"] = {"sent_bytes_per_s": round(sent / span),
                                         "received_bytes_per_s": round(recv / span)}
    res["steady"] = steady
    res["steady_cpu_pct"] = {i: round(100 * (cpu1[i] - cpu0[i]) / span, 1) for i in cpu0}
    res["rss_mib"] = {m.id: round(bl.status_kb(m.proc.pid)["VmRSS"] / 1024) for m in members}
    bl.log(f"steady: {steady}, cpu {res['steady_cpu_pct']}")

    # c is killed and comes back on its data dir.
    c = members[2]
    os.kill(c.proc.pid, signal.SIGKILL)
    c.proc.wait()
    bl.stop(c.proc)
    before = {m.id: peers_view(m) for m in members[:2]}
    t0 = time.monotonic()
    start(c, binary)
    res["restart_ready_s"] = round(wait_ready(c, timeout=300), 1)
    took = wait_whole(members, a.sources, a.converge_timeout)
    res["restart_convergence_s"] = round(time.monotonic() - t0, 1) if took is not None else None
    after = {m.id: peers_view(m) for m in members[:2]}
    res["restart_bytes_ab_side"] = sum(after[i][p][1] + after[i][p][2] - before[i][p][1] -
                                       before[i][p][2]
                                       for i in after for p in after[i] if p == "c")
    bl.log(f"c restarted: ready {res['restart_ready_s']} s, whole again "
           f"{res['restart_convergence_s']} s after its start, "
           f"{res['restart_bytes_ab_side']:,} bytes between c and a, b")
    for m in members:
        bl.stop(m.proc, grace=30)
    bl.save(a.out, res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
