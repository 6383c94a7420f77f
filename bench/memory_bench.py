#!/usr/bin/python3
"""Benchmark 2: resident memory per tracked source at --sources sources (docs/benchmarks.md).

a) In-process: bench_tracker_memory (firewatch_tracker only), label sets shared by the
   fleet, and with an extra unique `host` label per source.
b) The whole collector: a fresh firewatch-collector (fresh data dir, per-source metrics
   off) hears one heartbeat from each of --sources sources over UDP, paced at --rate
   (under the collector's zero-loss rate); rounds are repeated (next sequence number)
   until firewatch_sources totals --sources, at most 3 times. Once the store's queue is
   empty and the process has been quiet for a moment, VmRSS minus VmRSS at zero sources
   (same process, after one /metrics scrape) is divided by --sources. Both label variants.
No malloc_trim anywhere: these are the numbers the kernel reports.
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def tracker_inprocess(build, sources, labels):
    out = subprocess.run([os.path.join(build, "bench", "bench_tracker_memory"), "--sources",
                          str(sources), "--labels", labels], check=True, capture_output=True,
                         text=True, timeout=300).stdout
    return json.loads(out)


def collector_run(args, work, key, labels):
    c = bl.Collector(os.path.join(args.build, "collector", "firewatch-collector"), key, work,
                     cpu=args.receiver_cpu)
    try:
        time.sleep(1.0)
        c.counters()  # one scrape, so its buffers are in the baseline too
        time.sleep(0.5)
        rss0 = bl.status_kb(c.pid)["VmRSS"]
        rounds = []
        # The declared interval outlasts the whole fill (3 rounds): otherwise the first
        # sources go DOWN while the last are still being added, and what is measured is a
        # DOWN storm (transitions and pages queued), not memory per tracked source.
        interval_ms = max(10000, int(args.sources / args.rate * 3 * 1000) + 10000)
        for rnd in range(1, 4):
            argv = [os.path.join(args.build, "bench", "bench_udp_blaster"),
                    "--port", str(c.udp_port), "--key-file", key, "--key-id", "bench",
                    "--sources", str(args.sources), "--prefix", "dc1.rack07.host-",
                    "--seq-base", str(rnd), "--boot-salt", "7", "--rate", str(args.rate),
                    "--count", str(args.sources), "--interval-ms", str(interval_ms),
                    "--duration", str(min(60, args.sources / args.rate * 1.5 + 1)),
                    "--cpu", str(args.sender_cpu)]
            if labels == "unique":
                argv.append("--unique-host-label")
            p = bl.start(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            out, _ = p.communicate(timeout=200)
            bl.stop(p)
            sent = json.loads(out)
            deadline = time.monotonic() + 60
            while True:  # wait for the tracker and the store to catch up
                cnt = c.counters()
                if (cnt["sources"] >= args.sources and cnt["store_queue"] == 0) or \
                        time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            rounds.append({"sent": sent["sent"], "rate": sent["rate_achieved"],
                           "sources_after": int(cnt["sources"])})
            bl.log(f"collector ({labels} labels) round {rnd}: sent {sent['sent']:,} at "
                   f"{sent['rate_achieved']:,.0f}/s, sources {int(cnt['sources']):,}")
            if cnt["sources"] >= args.sources:
                break
        # Quiet for longer than the collector waits between returning freed memory to the
        # kernel after a burst of store writes (10 s, CollectorApp::ReturnFreedMemory).
        time.sleep(12.0)
        c.counters()
        time.sleep(0.5)
        st = bl.status_kb(c.pid)
        db = os.path.join(c.dir, "data")
        db_bytes = sum(os.path.getsize(os.path.join(db, f)) for f in os.listdir(db))
        return {
            "labels": labels, "sources": int(cnt["sources"]), "rounds": rounds,
            "rss_zero_kb": rss0, "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
            "rss_anon_kb": st.get("RssAnon"), "rss_file_kb": st.get("RssFile"),
            "db_bytes": db_bytes,
            "bytes_per_source": round((st["VmRSS"] - rss0) * 1024 / args.sources, 1),
            "ok": int(cnt["sources"]) == args.sources,
        }
    finally:
        c.stop()


def main():
    ap = bl.arg_parser(__doc__)
    ap.add_argument("--sources", type=int, default=100000)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1)
    args = ap.parse_args()
    work = bl.workdir("fw-memory-", args.workdir)
    key = os.path.join(work, "fleet.key")
    bl.write_key(key)
    res = {"machine": bl.machine(), "sources": args.sources, "tracker": {}, "collector": {}}
    for labels in ("shared", "unique"):
        r = tracker_inprocess(args.build, args.sources, labels)
        res["tracker"][labels] = r
        bl.log(f"tracker in-process ({labels} labels): {r['rss_per_source']:.0f} B/source RSS, "
               f"{r['heap_per_source']:.0f} B/source heap")
    for labels in ("shared", "unique"):
        r = collector_run(args, work, key, labels)
        res["collector"][labels] = r
        bl.log(f"collector ({labels} labels): {r['bytes_per_source']:.0f} B/source "
               f"({r['rss_zero_kb']} kB -> {r['rss_kb']} kB, {r['sources']:,} sources)")
    bl.save(args.out, res)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
