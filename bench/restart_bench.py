#!/usr/bin/python3
"""Restart at scale (docs/benchmarks.md, section 8): a firewatch-collector learns --sources
sources over UDP (one heartbeat each, paced at --rate, rounds repeated until all are
tracked), is stopped with SIGTERM, and is started again on the same data dir. Measures
the time from exec to /readyz 200, the restored source count, and VmRSS per source after
the restart minus VmRSS of the same collector at zero sources (the steady-state memory
without the new-source path's peak), and checks
that nobody is DOWN right after the restart (each restored source gets a full detection
window). Everything on loopback; every process stopped by pid.

  bench/restart_bench.py --build build --out restart.json --sources 1000000
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def fill(args, c, key):
    for rnd in range(1, 4):
        argv = [os.path.join(args.build, "bench", "bench_udp_blaster"),
                "--port", str(c.udp_port), "--key-file", key, "--key-id", "bench",
                "--sources", str(args.sources), "--prefix", "dc1.rack07.host-",
                "--seq-base", str(rnd), "--boot-salt", "7", "--rate", str(args.rate),
                "--count", str(args.sources), "--interval-ms", "300000",
                "--duration", str(min(60, args.sources / args.rate * 1.5 + 1)),
                "--cpu", str(args.sender_cpu)]
        p = bl.start(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        out, _ = p.communicate(timeout=300)
        bl.stop(p)
        if p.returncode != 0:
            raise RuntimeError(f"bench_udp_blaster failed ({p.returncode}): {' '.join(argv)}")
        deadline = time.monotonic() + 120
        while True:
            cnt = c.counters()
            if (cnt["sources"] >= args.sources and cnt["store_queue"] == 0) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.5)
        bl.log(f"round {rnd}: {int(cnt['sources']):,} sources tracked")
        if cnt["sources"] >= args.sources:
            return int(cnt["sources"])
    return int(cnt["sources"])


def main():
    ap = bl.arg_parser(__doc__)
    ap.add_argument("--sources", type=int, default=1000000)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1)
    args = ap.parse_args()
    work = bl.workdir("fw-restart-", args.workdir)
    key = os.path.join(work, "fleet.key")
    bl.write_key(key)
    binary = os.path.join(args.build, "collector", "firewatch-collector")
    c = bl.Collector(binary, key, work, cpu=args.receiver_cpu)
    time.sleep(1.0)
    c.counters()  # one scrape, so its buffers are in the baseline too
    rss0 = bl.status_kb(c.pid)["VmRSS"]
    tracked = fill(args, c, key)
    t0 = time.monotonic()
    c.stop()
    stop_s = time.monotonic() - t0
    db = os.path.join(c.dir, "data", "collector.db")
    db_bytes = os.path.getsize(db)
    bl.log(f"stopped in {stop_s:.1f} s; collector.db {db_bytes / 1e6:.0f} MB")

    log = open(os.path.join(c.dir, "collector-restart.log"), "w")
    t0 = time.monotonic()
    proc = bl.start([binary, "--config", c.config], cpu=args.receiver_cpu, stdout=log,
                    stderr=subprocess.STDOUT)
    url = c.url
    ready_s = None
    while time.monotonic() - t0 < 300:
        if proc.poll() is not None:
            raise RuntimeError(f"collector exited; see {c.dir}/collector-restart.log")
        try:
            if bl.http_get(url + "/readyz", timeout=1)[0] == 200:
                ready_s = time.monotonic() - t0
                break
        except OSError:
            pass
        time.sleep(0.1)
    c.proc, c.pid, c.log = proc, proc.pid, log
    cnt = c.counters()
    m = c.metrics()
    down = bl.metric_sum(m, "firewatch_sources", state="DOWN")
    time.sleep(2.0)
    st = bl.status_kb(proc.pid)
    res = {"machine": bl.machine(), "sources": args.sources, "tracked_before": tracked,
           "stop_seconds": round(stop_s, 2), "db_bytes": db_bytes,
           "ready_seconds": round(ready_s, 2) if ready_s is not None else None,
           "restored": int(cnt["sources"]), "down_at_ready": down,
           "rss_zero_kb": rss0, "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
           "rss_bytes_per_source": round((st["VmRSS"] - rss0) * 1024 / max(1, cnt["sources"]), 1)}
    bl.log(f"restart: /readyz after {res['ready_seconds']} s, {res['restored']:,} sources, "
           f"{down} DOWN, {res['rss_bytes_per_source']} B/source RSS (HWM {st['VmHWM']} kB)")
    c.stop()
    bl.save(args.out, res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
