#!/usr/bin/python3
"""Benchmark 8 (issue #13, "the worst moment"): one dc of --sources goes dark at once.

A real firewatch-collector (fresh data dir, per-source metrics off, the failure-domain
routes of docs/domains.md), a real SMTP server (aiosmtpd) and the Twilio fake on
loopback: the pieces of tests/system/test_domains.py, which covers the same scenario at
20,000 sources. --sources sources in --dcs dcs (source i in dc i % dcs) send signed UDP
heartbeats every --interval seconds from one Python sender thread (the system test's
Fleet, each round spread over the interval); once all are UP, the --down sources of dc0
stop at once (--down must be sources / dcs).

The interval: 1,000,000 sources at 5 s are 200,000 frames/s, more than this script's
Python sender and the collector can share on two cores; the default 60 s is ~17,000/s.
With --sender blaster the frames come from bench_udp_blaster instead (pre-encoded, one
pinned CPU), which can offer 200,000/s: the sources first become known at 50,000/s
declaring a 120 s interval, in two rounds (the new-source path is not what this
measures, and a first frame the socket dropped would otherwise wait 120 s), then one
blaster run of --blast-seconds sends every source each --interval (it declares it) and,
--stop-after seconds in, skips the last dc's block of sources (dc block = --down
consecutive sources, so the last dc is sources - down .. sources - 1). The pages are
counted before the blaster ends, so the run must be long enough for the detection
window, the domain decision and the hosts' group_wait after the stop (checked).
The detection window grows with it (interval x backstop_intervals + grace), and so must
the domain window (the stopped sources' last frames are spread over one interval), and
the hosts' group_wait (>= the domain window, docs/domains.md).

Measured: stop -> last DOWN; domain decision -> email delivered
(firewatch_page_delivery_seconds); stop -> first email seen in the Maildir; pages per
contact once every host group_wait has passed; the store queue's largest depth and
batches dropped; the collector's CPU seconds and VmRSS/VmHWM; kernel drops. No timing is
asserted: the figures go to --out (JSON) and docs/benchmarks.md section 8.
"""

import json
import os
import resource
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # it imports tests/system: no __pycache__ in the tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "system"))
import benchlib as bl  # noqa: E402


def main():
    ap = bl.arg_parser(__doc__)
    ap.add_argument("--sources", type=int, default=1000000)
    ap.add_argument("--down", type=int, default=100000)
    ap.add_argument("--interval", type=float, default=None,
                    help="heartbeat interval, s (default 60 with the python sender, 5 with the blaster)")
    ap.add_argument("--sender", choices=("python", "blaster"), default="python")
    ap.add_argument("--blast-seconds", type=float, default=60.0)
    ap.add_argument("--stop-after", type=float, default=15.0)
    ap.add_argument("--sender-cpu", type=int, default=0)
    bl.add_udp_buffer_arg(ap)
    args = ap.parse_args()
    if args.interval is None:
        args.interval = 5.0 if args.sender == "blaster" else 60.0
    dcs = args.sources // args.down
    if dcs < 2 or dcs * args.down != args.sources:
        ap.error("--down must divide --sources, at most half of it")
    if args.sender == "blaster" and dcs > 10:
        ap.error("the blaster names ten dcs (dc0..dc9): --down must be at least --sources / 10")
    os.environ["FIREWATCH_BIN_DIR"] = os.path.abspath(args.build)
    os.environ["FIREWATCH_SOURCE_DIR"] = os.path.join(HERE, "..")
    from fwtest import Harness  # noqa: E402 (reads FIREWATCH_BIN_DIR)
    from paging import FakeTwilio, SmtpServer  # noqa: E402
    from test_domains import Fleet, domain_config  # noqa: E402

    work = bl.workdir("fw-dcdark-", args.workdir)
    h = Harness(work)
    twilio = FakeTwilio("ACtest", "demo-token")
    fleet = None
    blaster = None
    drops = {}
    try:
        smtp = SmtpServer(h).start()
        window = args.interval * 3 + 2  # backstop_intervals x interval + grace (defaults)
        dwin = int(args.interval + 10)
        extra = domain_config(h, smtp.port, twilio.port, window=f"{dwin}s",
                              host_group_wait=f"{dwin + 5}s")
        extra += "metrics:\n  per_source: false\n"
        collector = h.collector_config(extra=extra)
        bl.size_for_fleet(collector.config_path, args.sources, args.udp_buffer_mib)
        collector.start()
        pid = collector.proc.pid

        def metrics():
            return bl.parse_metrics(collector.metrics())

        def count(m, state):
            return bl.metric_sum(m, "firewatch_sources", state=state)

        bl.log(f"{args.sources:,} sources in {dcs} dcs, {args.interval:g} s interval "
               f"({args.sources / args.interval:,.0f} frames/s), sender: {args.sender}")

        def wait_all_up(limit):
            t0 = time.monotonic()
            while True:  # the first round brings every source in; a lost frame waits a round
                m = metrics()
                if count(m, "UP") >= args.sources:
                    return time.monotonic() - t0
                if time.monotonic() - t0 > limit:
                    raise RuntimeError(f"only {count(m, 'UP'):,.0f} sources UP")
                time.sleep(2)

        if args.sender == "python":
            t_build = time.monotonic()
            fleet = Fleet(h, collector, args.sources, "dark", interval=args.interval,
                          dcs=tuple(f"dc{i}" for i in range(dcs)),
                          slices=max(20, int(args.interval * 20)))
            bl.log(f"sender built in {time.monotonic() - t_build:.1f} s")
            fleet.start()
            ramp = wait_all_up(args.interval * 4 + 60)
            bl.log(f"all {args.sources:,} UP after {ramp:.0f} s")
            time.sleep(min(args.interval, 30))  # steady state
            cpu0, wall0 = bl.cpu_seconds(pid), time.monotonic()
            rss_steady = bl.status_kb(pid)["VmRSS"]
            self0 = resource.getrusage(resource.RUSAGE_SELF)
            victims = fleet.in_dc("dc0")
            fleet.stop_sources(victims)
            stopped = time.monotonic()
        else:
            needed = args.stop_after + window + dwin + 5 + 5  # last DOWN, group_wait, margin
            if args.blast_seconds < needed:
                ap.error(f"--blast-seconds must be at least {needed:g} (stop, detection window, "
                         "the hosts' group_wait, 5 s)")
            blast = [os.path.join(args.build, "bench", "bench_udp_blaster"), "--port",
                     str(collector.udp_port), "--key-file", h.key_path, "--key-id", "fleet",
                     "--sources", str(args.sources), "--prefix", "dark-",
                     "--dc-block", str(args.down), "--burst", "64", "--gso", "32"]
            # Every source known first, declaring an interval no wait below can outlast.
            warm_rate = 50000
            t0 = time.monotonic()
            # Two rounds: a source whose first frame the socket dropped (a million new
            # sources in 20 s) is known after the second; it declares 120 s, so no third
            # would come in time.
            warm = bl.start(blast + ["--seq-base", "1", "--rate", str(warm_rate),
                                     "--count", str(2 * args.sources), "--duration",
                                     str(min(60, 2 * args.sources / warm_rate + 5)),
                                     "--interval-ms", "120000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            warm.communicate(timeout=300)
            ramp = wait_all_up(120)
            while bl.metric_sum(metrics(), "firewatch_store_queue_depth") > 0:
                time.sleep(1)
            bl.log(f"all {args.sources:,} known and UP after {time.monotonic() - t0:.0f} s")
            rate = int(args.sources / args.interval)
            blaster = bl.start(blast + ["--seq-base", "3", "--rate", str(rate),
                                        "--duration", str(args.blast_seconds),
                                        "--interval-ms", str(int(args.interval * 1000)),
                                        "--stop-after", str(args.stop_after),
                                        "--stop-from", str(args.sources - args.down),
                                        "--stop-to", str(args.sources),
                                        "--cpu", str(args.sender_cpu)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            drops["known"] = bl.metric_sum(metrics(), "firewatch_udp_kernel_drops_total")
            line = blaster.stderr.readline()  # "encoded ...; sending"
            if "sending" not in line:
                raise RuntimeError(f"blaster: {line}{blaster.stderr.read()}")
            cpu0, wall0 = bl.cpu_seconds(pid), time.monotonic()
            self0 = resource.getrusage(resource.RUSAGE_SELF)
            line = blaster.stderr.readline()  # "stopped sources A..B at monotonic T"
            if "stopped sources" not in line:
                raise RuntimeError(f"blaster: {line}{blaster.stderr.read()}")
            stopped = float(line.rsplit(" ", 1)[1])
            drops["stop"] = bl.metric_sum(metrics(), "firewatch_udp_kernel_drops_total")
            rss_steady = bl.status_kb(pid)["VmRSS"]
            victims = range(args.sources - args.down, args.sources)
            bl.log(f"{rate:,} frames/s; sources {args.sources - args.down:,}.."
                   f"{args.sources - 1:,} (dc{dcs - 1}) stopped")
        all_down = first_mail = None
        queue_max, samples = 0.0, []
        deadline = stopped + window + 120
        while time.monotonic() < deadline:
            m = metrics()
            now = time.monotonic() - stopped
            down = count(m, "DOWN")
            queue_max = max(queue_max, bl.metric_sum(m, "firewatch_store_queue_depth"))
            samples.append((round(now, 1), int(down),
                            int(bl.metric_sum(m, "firewatch_udp_kernel_drops_total"))))
            if all_down is None and down >= len(victims):
                all_down = now
            if first_mail is None and smtp.messages():
                first_mail = now
            if all_down is not None and first_mail is not None:
                break
            time.sleep(0.5)
        outage_cpu = bl.cpu_seconds(pid) - cpu0
        outage_wall = time.monotonic() - wall0
        self1 = resource.getrusage(resource.RUSAGE_SELF)  # the python sender, same span
        bl.log(f"DOWN {samples[-1][1]:,} after {all_down} s; first email at {first_mail} s")
        # Past every host group's group_wait: count the pages. Sampled meanwhile.
        until = time.monotonic() + dwin + 5 + 2
        while time.monotonic() < until:
            m = metrics()
            samples.append((round(time.monotonic() - stopped, 1), int(count(m, "DOWN")),
                            int(bl.metric_sum(m, "firewatch_udp_kernel_drops_total"))))
            time.sleep(1)
        m = metrics()
        mails, sms = smtp.messages(), twilio.sent()
        per_contact = {}
        for msg in mails:
            per_contact.setdefault(msg["To"], 0)
            per_contact[msg["To"]] += 1
        for s in sms:
            per_contact.setdefault(s["To"], 0)
            per_contact[s["To"]] += 1
        n = bl.metric_sum(m, "firewatch_page_delivery_seconds_count", channel="email")
        decision_to_email = (bl.metric_sum(m, "firewatch_page_delivery_seconds_sum",
                                           channel="email") / n) if n else None
        st = bl.status_kb(pid)
        res = {
            "machine": bl.machine(), "sources": args.sources, "down": len(victims), "dcs": dcs,
            "interval_s": args.interval, "udp_buffer_mib": args.udp_buffer_mib,
            "detection_window_s": window,
            "domain_window_s": dwin, "ramp_s": round(ramp, 1),
            "stop_to_all_down_s": all_down and round(all_down, 1),
            "stop_to_first_email_s": first_mail and round(first_mail, 1),
            "decision_to_email_s": decision_to_email and round(decision_to_email, 3),
            "subjects": [msg["Subject"] for msg in mails],
            "pages_per_contact": per_contact,
            "down_now": count(m, "DOWN"), "up_now": count(m, "UP"),
            "store_queue_max": queue_max,
            "store_queue_now": bl.metric_sum(m, "firewatch_store_queue_depth"),
            "store_batches_dropped": bl.metric_sum(m, "firewatch_store_batches_dropped_total"),
            "kernel_drops": bl.metric_sum(m, "firewatch_udp_kernel_drops_total"),
            "kernel_drops_when": drops,  # blaster: once all were known, at the stop
            "collector_cpu_s_outage": round(outage_cpu, 1),
            "collector_cpu_share_outage": round(outage_cpu / outage_wall, 2),
            "sender_cpu_s_outage": round(self1.ru_utime + self1.ru_stime - self0.ru_utime
                                         - self0.ru_stime, 1),
            "rss_steady_kb": rss_steady, "rss_kb": st["VmRSS"], "hwm_kb": st["VmHWM"],
            "collector_alive": collector.proc.alive(),
            "down_samples": samples[::max(1, len(samples) // 40)],
        }
        if blaster is not None:
            out, _ = blaster.communicate(timeout=args.blast_seconds * 2 + 60)
            res["blaster"] = json.loads(out) if out.strip() else None
            res["sender_cpu_s_outage"] = None  # a separate process, pinned to --sender-cpu
            blaster = None
        bl.save(args.out, res)
        print(json.dumps({k: v for k, v in res.items() if k != "down_samples"}, indent=2))
    finally:
        if blaster is not None:
            bl.stop(blaster)
        if fleet is not None:
            fleet.close()
        twilio.close()
        h.close()  # every process it started, by pid
        bl.stop_all()


if __name__ == "__main__":
    main()
