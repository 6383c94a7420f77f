#!/usr/bin/python3
"""Benchmark 8 (issue #13), the worst moment in a cluster: three collectors of --sources
sources each, and one dc of them goes dark at once.

Three real collectors (a, b, c: one cluster, sync every second, the failure-domain routes
of docs/domains.md, per-source metrics off; configs from tests/system/fwcluster.py), a
real SMTP server (aiosmtpd) and the Twilio fake on loopback. Every collector hears every
source: one bench_udp_blaster per collector sends the same signed heartbeats (sources
first made known at --warm-rate in all declaring a long interval, two rounds, all three
collectors at once; then one run of --blast-seconds each, every source each --interval). Source i
is in dc i / (sources / 10); --stop-after seconds into the run all three blasters skip the
last dc's block (--down sources) at once.

In a cluster a source is DOWN only when no live collector hears it (the merged verdict,
docs/cluster.md), and the domain decision is made on merged verdicts: so the storm is
100,000 local transitions on each collector, their verdicts exchanged through the peer
sync, and the merged ones feeding each collector's domain watch; each collector may page,
and incidents are adopted across the cluster so that every contact is paged once.

The interval: three collectors at --sources / --interval frames/s each, plus three
senders, on two cores. The default 30 s is 100,000 frames/s in all at a million sources.

Measured: stop -> all --down DOWN on each collector (its own tracker, from its own
blaster's stop; polled every 0.5 s); the last blaster's stop -> first email in the Maildir; decision -> email (firewatch_page_delivery_seconds,
summed over the collectors); pages per contact once every host group_wait has passed;
peer-sync bytes and each collector's CPU from the stop to the count; kernel drops, store
queue and VmRSS per collector. No timing is asserted: the figures go to --out (JSON) and
docs/benchmarks.md section 8.
Usage: bench/cluster_dark_bench.py --build build-release --out cdark.json
"""

import json
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # it imports tests/system: no __pycache__ in the tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import benchlib as bl  # noqa: E402

IDS = ("a", "b", "c")


def main():
    ap = bl.arg_parser(__doc__)
    ap.add_argument("--sources", type=int, default=1000000)
    ap.add_argument("--down", type=int, default=100000)
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--warm-rate", type=int, default=50000)
    ap.add_argument("--timings", choices=("test", "defaults"), default="test",
                    help="cluster timings: the system tests' fast ones (peer_timeout 3 s, "
                    "alone_hold 5 s) or the documented defaults (5 s, 20 s)")
    bl.add_udp_buffer_arg(ap)
    ap.add_argument("--stop-after", type=float, default=None,
                    help="seconds into the run; default two intervals + 5 s, so that every "
                    "source has declared --interval before it stops")
    args = ap.parse_args()
    if args.sources // args.down != 10 or args.sources % args.down:
        ap.error("--down must be a tenth of --sources (the blaster's dc blocks)")
    if args.stop_after is None:
        args.stop_after = 2 * args.interval + 5
    os.environ["FIREWATCH_BIN_DIR"] = os.path.abspath(args.build)
    os.environ["FIREWATCH_SOURCE_DIR"] = os.path.join(HERE, "..")
    from fwtest import Harness  # noqa: E402 (reads FIREWATCH_BIN_DIR)
    from fwcluster import Member, write_cluster  # noqa: E402
    from paging import FakeTwilio, SmtpServer  # noqa: E402

    work = bl.workdir("fw-cdark-", args.workdir)
    h = Harness(work)
    twilio = FakeTwilio("ACtest", "demo-token")
    blasters = []
    try:
        smtp = SmtpServer(h).start()
        interval_ms = int(args.interval * 1000)
        window = args.interval * 3 + 1  # backstop_intervals x interval + grace (fwcluster)
        dwin = int(args.interval + 10)  # the stopped sources' last frames span one interval
        # Until the last DOWN, the domain decision, the hosts' group_wait, and margin: the
        # sources must keep sending while the pages are counted.
        blast_seconds = args.stop_after + window + 2 * dwin + 15
        if blast_seconds > 300:
            ap.error("the run would outlast the blaster's 300 s: a shorter --interval")
        routes = f"""route:
  escalation_policy: default
  group_by: [alertname, dc, source]
  group_wait: {dwin + 5}s
  group_interval: 2s
  routes:
    - matchers: ['alertname="DomainDown"']
      group_by: [alertname, dc]
      group_wait: 0s
"""
        domains = f"""domains:
  window: {dwin}s
metrics:
  per_source: false
"""

        def tweak(_mid, text):
            text, n = re.subn(r"route:\n(  .*\n)+", routes, text, count=1)
            assert n == 1, "fwcluster's route block moved"
            return text + domains

        members = [Member(i, dc=f"site-{i}") for i in IDS]
        timings = {} if args.timings == "test" else {
            "sync_interval": "1s", "peer_timeout": "5s", "full_sync_every": "30s",
            "alone_hold": "20s"}  # docs/configuration.md, cluster:
        collectors = write_cluster(h, members, f"127.0.0.1:{smtp.port}",
                                   f"127.0.0.1:{twilio.port}", tweak=tweak, wait="1h",
                                   cluster=timings)
        for c in collectors:
            bl.size_for_fleet(c.config_path, args.sources, args.udp_buffer_mib,
                              more="  log_level: info\n")
        for c in collectors:
            c.start()
        pids = {c.name: c.proc.pid for c in collectors}

        def metrics(c):
            return bl.parse_metrics(c.metrics())

        def count(m, state):
            return bl.metric_sum(m, "firewatch_sources", state=state)

        blaster = os.path.join(args.build, "bench", "bench_udp_blaster")

        def blast(c, extra):
            return [blaster, "--port", str(c.udp_port), "--key-file", h.key_path,
                    "--key-id", "fleet", "--sources", str(args.sources), "--prefix", "dark-",
                    "--dc-block", str(args.down), "--burst", "64", "--gso", "32"] + extra

        # Known everywhere first, declaring an interval no wait below outlasts (two
        # rounds: a first frame a socket dropped comes again). All collectors at once, so
        # each learns the same rhythm: warmed one after the other, the first ones had a
        # ~100 s gap before the steady frames in their detectors' history, never judged a
        # source LATE, and the last one alone made LATE transitions (and 3-4x the sync).
        t0 = time.monotonic()
        each = max(1, args.warm_rate // len(collectors))
        warms = [subprocess.Popen(blast(c, ["--seq-base", "1", "--rate", str(each),
                                            "--count", str(2 * args.sources), "--duration",
                                            str(2 * args.sources / each + 5),
                                            "--interval-ms", "600000"]),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for c in collectors]
        try:
            for warm in warms:
                _, err = warm.communicate(timeout=600)
                if warm.returncode != 0:
                    raise RuntimeError(err)
        finally:
            for warm in warms:  # a failed one must not leave the others sending
                if warm.poll() is None:
                    warm.kill()
                    warm.wait()
        for c in collectors:
            while count(metrics(c), "UP") < args.sources:
                if time.monotonic() - t0 > 600:
                    raise RuntimeError(f"{c.name}: only {count(metrics(c), 'UP'):,.0f} UP")
                time.sleep(2)
        bl.log(f"{args.sources:,} sources UP on {len(collectors)} collectors after "
               f"{time.monotonic() - t0:.0f} s")
        time.sleep(5)  # the peers' tables settle

        rate = int(args.sources / args.interval)
        for c in collectors:
            blasters.append(bl.start(blast(c, ["--seq-base", "3", "--rate", str(rate),
                                               "--duration", str(blast_seconds),
                                               "--interval-ms", str(interval_ms),
                                               "--stop-after", str(args.stop_after),
                                               "--stop-from", str(args.sources - args.down),
                                               "--stop-to", str(args.sources)]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for b in blasters:
            line = b.stderr.readline()  # "encoded ...; sending"
            if "sending" not in line:
                raise RuntimeError(f"blaster: {line}{b.stderr.read()}")
        drops0 = {c.name: bl.metric_sum(metrics(c), "firewatch_udp_kernel_drops_total")
                  for c in collectors}
        stops = {}
        for c, b in zip(collectors, blasters):
            line = b.stderr.readline()  # "stopped sources A..B at monotonic T"
            if "stopped sources" not in line:
                raise RuntimeError(f"blaster: {line}{b.stderr.read()}")
            stops[c.name] = float(line.rsplit(" ", 1)[1])
        # A source is DOWN in the cluster once the last collector stopped hearing it:
        # the pages count from the last blaster's stop, each collector's own DOWNs from
        # its own blaster's.
        stopped = max(stops.values())
        cpu0 = {n: bl.cpu_seconds(p) for n, p in pids.items()}
        sync0 = {c.name: bl.metric_sum(metrics(c), "firewatch_cluster_sync_bytes_total",
                                       direction="sent") for c in collectors}
        rss_steady = {n: bl.status_kb(p)["VmRSS"] for n, p in pids.items()}
        spread = max(stops.values()) - min(stops.values())
        bl.log(f"{rate:,} frames/s to each; the last dc stopped "
               f"(the three blasters within {1000 * spread:.0f} ms)")

        all_down = {c.name: None for c in collectors}
        first_mail = None
        queue_max = {c.name: 0.0 for c in collectors}
        samples = []  # (s after the stop, {collector: [DOWN, kernel drops, sync bytes sent]})

        def sample(now, c, m):
            if not samples or samples[-1][0] != now:
                samples.append((now, {}))
            samples[-1][1][c.name] = [
                int(count(m, "DOWN")),
                int(bl.metric_sum(m, "firewatch_udp_kernel_drops_total") - drops0[c.name]),
                int(bl.metric_sum(m, "firewatch_cluster_sync_bytes_total", direction="sent")
                    - sync0[c.name])]

        deadline = stopped + window + dwin + 5
        while time.monotonic() < deadline:
            now = round(time.monotonic() - stopped, 1)
            for c in collectors:
                m = metrics(c)
                sample(now, c, m)
                queue_max[c.name] = max(queue_max[c.name],
                                        bl.metric_sum(m, "firewatch_store_queue_depth"))
                if all_down[c.name] is None and count(m, "DOWN") >= args.down:
                    all_down[c.name] = round(time.monotonic() - stops[c.name], 1)
            if first_mail is None and smtp.messages():
                first_mail = round(now, 1)
            if first_mail is not None and None not in all_down.values():
                break
            time.sleep(0.5)
        bl.log(f"all DOWN at {all_down}; first email at {first_mail} s")
        # Past every host group's group_wait (the last DOWN + dwin + 5), while the others
        # still send.
        until = stopped + window + 2 * dwin + 10
        while time.monotonic() < until:
            now = round(time.monotonic() - stopped, 1)
            for c in collectors:
                sample(now, c, metrics(c))
            time.sleep(2)
        span = time.monotonic() - stopped
        ms = {c.name: metrics(c) for c in collectors}
        mails, sms = smtp.messages(), twilio.sent()
        per_contact = {}
        for to in [msg["To"] for msg in mails] + [s["To"] for s in sms]:
            per_contact[to] = per_contact.get(to, 0) + 1
        delivered = sum(bl.metric_sum(m, "firewatch_page_delivery_seconds_count",
                                      channel="email") for m in ms.values())
        delay = sum(bl.metric_sum(m, "firewatch_page_delivery_seconds_sum", channel="email")
                    for m in ms.values())
        res = {
            "machine": bl.machine(), "sources": args.sources, "down": args.down,
            "collectors": len(collectors), "interval_s": args.interval,
            "udp_buffer_mib": args.udp_buffer_mib,
            "cluster_timings": args.timings,
            "frames_per_s_each": rate, "detection_window_s": window, "domain_window_s": dwin,
            "stop_spread_s": round(spread, 3),
            "stop_to_all_down_s": all_down, "stop_to_first_email_s": first_mail,
            "decision_to_email_s": round(delay / delivered, 3) if delivered else None,
            "subjects": [msg["Subject"] for msg in mails],
            "pages_per_contact": per_contact,
            "down_now": {n: count(m, "DOWN") for n, m in ms.items()},
            "up_now": {n: count(m, "UP") for n, m in ms.items()},
            "store_queue_max": queue_max,
            "store_batches_dropped": {n: bl.metric_sum(m, "firewatch_store_batches_dropped_total")
                                      for n, m in ms.items()},
            "kernel_drops_storm": {n: bl.metric_sum(m, "firewatch_udp_kernel_drops_total")
                                   - drops0[n] for n, m in ms.items()},
            "sync_sent_bytes_per_s_storm": {
                n: round((bl.metric_sum(m, "firewatch_cluster_sync_bytes_total",
                                        direction="sent") - sync0[n]) / span)
                for n, m in ms.items()},
            "cpu_share_storm": {n: round((bl.cpu_seconds(p) - cpu0[n]) / span, 2)
                                for n, p in pids.items()},
            "rss_mib": {n: [round(rss_steady[n] / 1024), round(bl.status_kb(p)["VmRSS"] / 1024)]
                        for n, p in pids.items()},
            "span_s": round(span, 1),
            "collectors_alive": {c.name: c.proc.alive() for c in collectors},
            "samples": samples[::max(1, len(samples) // 60)],
        }
        res["blasters"] = []
        for b in blasters:
            out, _ = b.communicate(timeout=blast_seconds * 2 + 60)
            res["blasters"].append(json.loads(out) if out.strip() else None)
        blasters = []
        bl.save(args.out, res)
        print(json.dumps({k: v for k, v in res.items() if k not in ("blasters", "samples")},
                         indent=2))
    finally:
        for b in blasters:
            bl.stop(b)
        twilio.close()
        h.close()  # every process it started, by pid
        bl.stop_all()


if __name__ == "__main__":
    main()
