#!/usr/bin/python3
"""Benchmark 1: UDP ingest throughput, the real collector side by side with a bare
recvmmsg loop, same run, same machine, same traffic (docs/benchmarks.md).

Three receivers get the same traffic: the bare loop (bench_bare_recvmmsg), the bare loop
that also checks each frame's HMAC ("bare+mac": the floor for any authenticated
receiver), and the real firewatch-collector. For each it looks for the highest offered
rate with zero loss (received == sent): the rate doubles from --start-rate until a
trial loses frames, then bisects --bisect times; the best of --repeat searches counts.
A trial is one bench_udp_blaster run of --step-seconds against a fresh receiver: a fresh
bare loop, or a fresh collector (new data dir) that first hears one warm-up heartbeat
from each of --sources sources (the new-source path is not what this measures) and
then the measured traffic, whose (source, sequence) pairs are all fresh.

The sender is pinned to CPU --sender-cpu (it pins itself once its frames are encoded,
so encoding can use every CPU while the receiver is idle) and the receiver (all its
threads) to --receiver-cpu with taskset, for all receivers alike. The sender uses UDP
GSO (--gso frames per message; receivers still get ordinary datagrams) because one core
sending plain datagrams over loopback cannot offer more than ~250k/s on a small VM,
below what the bare loop can take.

Then, at the fixed --cpu-rate, each receiver's CPU time (utime+stime of all its threads,
/proc/PID/stat) is sampled from the first sent frame to 0.2 s after the last.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


class Bench:
    def __init__(self, args):
        self.a = args
        self.bin = os.path.join(args.build, "bench")
        self.collector_bin = os.path.join(args.build, "collector", "firewatch-collector")
        self.work = bl.workdir("fw-ingest-", args.workdir)
        self.key = os.path.join(self.work, "fleet.key")
        bl.write_key(self.key)
        self.trials = []
        self.retries = 0

    # -- sender ------------------------------------------------------------------------
    def blast(self, port, rate, seq_base, duration=None, count=None, on_start=None):
        argv = [os.path.join(self.bin, "bench_udp_blaster"), "--port", str(port),
                "--key-file", self.key, "--key-id", "bench", "--sources", str(self.a.sources),
                "--prefix", "bench-host-", "--seq-base", str(seq_base), "--rate", str(int(rate)),
                "--duration", str(duration or self.a.step_seconds),
                "--burst", str(self.a.burst), "--gso", str(self.a.gso),
                "--interval-ms", str(self.a.interval_ms),
                "--cpu", str(self.a.sender_cpu)]  # pins itself once encoding is done
        if count:
            argv += ["--count", str(count)]
        p = bl.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = p.stderr.readline()  # "encoded ...; sending"
        if on_start:
            on_start(p.pid)
        out, err = p.communicate(timeout=200)
        bl.stop(p)
        if not out.strip():
            raise RuntimeError(f"blaster failed: {line}{err}")
        r = json.loads(out)
        if r["send_errors"]:
            raise RuntimeError(f"blaster could not send: {r}")
        return r

    # -- one trial per receiver ----------------------------------------------------------
    def trial_bare_mac(self, rate, duration=None):
        return self.trial_bare(rate, duration, verify=True)

    def trial_bare(self, rate, duration=None, verify=False):
        port = bl.free_port(socket.SOCK_DGRAM)
        ready = os.path.join(self.work, f"bare-{port}.ready")
        argv = [os.path.join(self.bin, "bench_bare_recvmmsg"), "--port", str(port),
                "--idle-ms", "1000", "--max-seconds", "150", "--ready-file", ready]
        if verify:
            argv += ["--verify-key", self.key]
        p = bl.start(argv, cpu=self.a.receiver_cpu, stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(ready):
            if time.monotonic() > deadline or p.poll() is not None:
                raise RuntimeError("bare receiver did not start")
            time.sleep(0.02)
        cpu = {}
        b = self.blast(port, rate, seq_base=2, duration=duration,
                       on_start=lambda sender: self.sample(cpu, "0", p.pid, sender))
        time.sleep(0.2)
        self.sample(cpu, "1", p.pid, None)
        sock_drops = bl.udp_socket_drops(port)
        out, _ = p.communicate(timeout=30)
        bl.stop(p)
        r = json.loads(out)
        if verify and r["mac_ok"] != r["received"]:
            raise RuntimeError(f"bare+mac: {r['received'] - r['mac_ok']} frames failed the MAC")
        res = {"receiver": "bare+mac" if verify else "bare", "rate_target": rate, "rate_achieved": b["rate_achieved"],
               "sent": b["sent"], "received": r["received"], "lost": b["sent"] - r["received"],
               "kernel_drops": r["kernel_drops"], "socket_drops": sock_drops,
               "send_s": b["elapsed_s"], "cpu_s": cpu["t1"] - cpu["t0"],
               "other_s": bl.others_delta(cpu["others0"], cpu["others1"]),
               "batches": r["batches"], "frame_bytes": b["avg_frame_bytes"]}
        self.record(res)
        return res

    def trial_collector(self, rate, duration=None):
        extra = (f"  last_seen_every: {self.a.last_seen_every}\n"
                 if self.a.last_seen_every else "")
        c = bl.Collector(self.collector_bin, self.key, self.work,
                         cpu=self.a.collector_cpus or self.a.receiver_cpu, collector_extra=extra)
        try:
            warm = self.blast(c.udp_port, self.a.warm_rate, seq_base=1, count=self.a.sources,
                              duration=min(60, self.a.sources / self.a.warm_rate + 5))
            before = c.settle(expect_accepted=warm["sent"])
            if before["accepted"] != self.a.sources:
                bl.log(f"warning: warm-up accepted {before['accepted']} of {self.a.sources}")
            deadline = time.monotonic() + 20 + self.a.sources / 50000
            while before["store_queue"] > 0 and time.monotonic() < deadline:
                time.sleep(0.2)  # let the store commit the new sources first
                before = c.counters()
            time.sleep(1.2)  # and one flush cycle with nothing new
            before = c.counters()
            cpu = {}
            b = self.blast(c.udp_port, rate, seq_base=2, duration=duration,
                           on_start=lambda sender: self.sample(cpu, "0", c.pid, sender))
            time.sleep(0.2)
            self.sample(cpu, "1", c.pid, None)
            sock_drops = bl.udp_socket_drops(c.udp_port)
            after = c.settle(expect_accepted=before["accepted"] + b["sent"])
            accepted = after["accepted"] - before["accepted"]
            res = {"receiver": "collector", "rate_target": rate,
                   "rate_achieved": b["rate_achieved"], "sent": b["sent"],
                   "received": int(accepted), "lost": b["sent"] - int(accepted),
                   "rejected": int(after["rejected"] - before["rejected"]),
                   "kernel_drops": int(after["kernel_drops"] - before["kernel_drops"]),
                   "socket_drops": sock_drops, "send_s": b["elapsed_s"],
                   "cpu_s": cpu["t1"] - cpu["t0"],
                   "other_s": bl.others_delta(cpu["others0"], cpu["others1"]),
                   "frame_bytes": b["avg_frame_bytes"]}
        finally:
            c.stop()
        self.record(res)
        return res

    def sample(self, d, tag, receiver, sender):
        d["t" + tag] = bl.cpu_seconds(receiver)
        d["others" + tag] = bl.others_cpu_seconds([receiver] + ([sender] if sender else []))

    def run_trial(self, trial, rate, duration=None):
        """A trial, repeated (at most --retries times in the whole run) when other
        processes used more than --max-other of a CPU during it: on two CPUs anyone
        else running is likely to take time from the pinned receiver."""
        while True:
            r = trial(rate, duration)
            if not r["disturbed"] or self.retries >= self.a.retries:
                return r
            self.retries += 1
            bl.log(f"  other processes used {100 * r['other_s'] / r['send_s']:.0f}% of a CPU: "
                   f"trial repeated ({self.retries}/{self.a.retries})")

    def record(self, res):
        span = res["send_s"] + 0.2
        res["disturbed"] = res["other_s"] > self.a.max_other * span
        res["cpu_pct"] = round(100.0 * res["cpu_s"] / res["send_s"], 1) if res["send_s"] else None
        res["sender_bound"] = res["rate_achieved"] < 0.97 * res["rate_target"]
        res["loadavg"] = os.getloadavg()[0]
        self.trials.append(res)
        bl.log(f"{res['receiver']:9s} target {res['rate_target']:>9,.0f}/s achieved "
               f"{res['rate_achieved']:>9,.0f}/s sent {res['sent']:>9,} lost {res['lost']:>7,}"
               f" cpu {res['cpu_pct']}%{'  (sender-bound)' if res['sender_bound'] else ''}"
               f"{'  (disturbed)' if res['disturbed'] else ''}")

    # -- search --------------------------------------------------------------------------
    def search(self, trial):
        """Highest zero-loss rate. Returns (best trial or None, sender_bound)."""
        good, bad_rate = None, None
        rate = self.a.start_rate
        steps = 0
        while steps < self.a.max_steps:
            steps += 1
            r = self.run_trial(trial, rate)
            if r["lost"] == 0:
                good = r
                if r["sender_bound"]:
                    # The sender could not offer more: the receiver kept up with all it got.
                    return good, True
                rate *= 2
            else:
                bad_rate = rate
                break
        if bad_rate is None:
            return good, False
        lo = good["rate_target"] if good else 0
        hi = bad_rate
        for _ in range(self.a.bisect):
            if steps >= self.a.max_steps:
                break
            mid = round((lo + hi) / 2 / 1000) * 1000
            if mid <= lo or mid >= hi:
                break
            steps += 1
            r = self.run_trial(trial, mid)
            if r["lost"] == 0:
                lo, good = mid, r
                if r["sender_bound"]:
                    return good, True
            else:
                hi = mid
        return good, False

    def run(self):
        results = {"machine": bl.machine(), "sources": self.a.sources,
                   "step_seconds": self.a.step_seconds, "repeat": self.a.repeat,
                   "gso": self.a.gso, "burst": self.a.burst}
        t0 = time.monotonic()
        receivers = tuple(r for r in (("bare", self.trial_bare, self.a.repeat),
                                      ("bare+mac", self.trial_bare_mac, self.a.repeat_mac),
                                      ("collector", self.trial_collector, self.a.repeat))
                          if self.a.only in (None, r[0]))
        for name, trial, repeat in receivers:
            searches = []
            for _ in range(repeat):
                best, sender_bound = self.search(trial)
                searches.append({"zero_loss_rate": best["rate_achieved"] if best else 0,
                                 "zero_loss_target": best["rate_target"] if best else 0,
                                 "sender_bound": sender_bound})
            top = max(searches, key=lambda x: x["zero_loss_rate"])
            results[name] = dict(top, searches=searches)
            bl.log(f"{name}: zero-loss {top['zero_loss_rate']:,.0f}/s"
                   f"{' (sender-bound)' if top['sender_bound'] else ''}")
        for name, trial, _ in receivers:
            r = self.run_trial(trial, self.a.cpu_rate, duration=self.a.cpu_seconds)
            results[name]["cpu_at_fixed_rate"] = {
                "rate": r["rate_achieved"], "cpu_pct": r["cpu_pct"], "lost": r["lost"],
                "us_per_frame": round(1e6 * r["cpu_s"] / max(1, r["received"]), 2)}
        results["trials"] = self.trials
        results["wall_s"] = round(time.monotonic() - t0, 1)
        if self.a.only:
            return results
        b, bm, c = results["bare"], results["bare+mac"], results["collector"]
        results["ratio"] = (c["zero_loss_rate"] / b["zero_loss_rate"]) if b["zero_loss_rate"] else None
        results["ratio_mac"] = (c["zero_loss_rate"] / bm["zero_loss_rate"]) if bm["zero_loss_rate"] else None
        results["matched"] = self.matched_cost()
        results["retries"] = self.retries
        results["disturbed_trials_kept"] = sum(1 for t in self.trials if t["disturbed"]) - self.retries
        return results

    def matched_cost(self):
        """CPU per frame of the receivers at the highest offered rate that all took
        without loss and that the sender really offered: a comparison that does not
        depend on how fast the sender is. 1e6 / (us per frame) is the rate one receiver
        core could sustain if nothing else limited it (an extrapolation)."""
        def ok(t):
            return (t["lost"] == 0 and not t["sender_bound"] and not t["disturbed"]
                    and t["send_s"] >= self.a.step_seconds * 0.9)
        names = ("bare", "bare+mac", "collector")
        rates = set.intersection(*({t["rate_target"] for t in self.trials
                                    if t["receiver"] == n and ok(t)} for n in names))
        if not rates:
            return None
        rate = max(rates)
        out = {"rate": rate}
        for name in names:
            ts = [t for t in self.trials if t["receiver"] == name and t["rate_target"] == rate and ok(t)]
            us = min(1e6 * t["cpu_s"] / t["received"] for t in ts)
            out[name] = {"us_per_frame": round(us, 2), "ceiling": round(1e6 / us)}
        out["cost_ratio"] = round(out["collector"]["us_per_frame"] / out["bare"]["us_per_frame"], 2)
        out["ceiling_ratio"] = round(out["collector"]["ceiling"] / out["bare"]["ceiling"], 3)
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="Release build directory")
    ap.add_argument("--out", required=True, help="results JSON file")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--sources", type=int, default=2000)
    ap.add_argument("--step-seconds", type=float, default=3.0)
    ap.add_argument("--start-rate", type=int, default=100000)
    ap.add_argument("--bisect", type=int, default=4)
    ap.add_argument("--max-steps", type=int, default=9)
    ap.add_argument("--repeat", type=int, default=2,
                    help="searches for the bare loop and the collector; the best counts")
    ap.add_argument("--repeat-mac", type=int, default=1, help="searches for bare+mac")
    ap.add_argument("--cpu-rate", type=int, default=50000)
    ap.add_argument("--cpu-seconds", type=float, default=5.0)
    ap.add_argument("--burst", type=int, default=64, help="frames per paced burst")
    ap.add_argument("--gso", type=int, default=32,
                    help="frames per UDP_SEGMENT message (1 = plain sendmmsg)")
    ap.add_argument("--max-other", type=float, default=0.05,
                    help="share of one CPU other processes may use before a trial is repeated")
    ap.add_argument("--retries", type=int, default=12, help="repeated trials, in total")
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1)
    ap.add_argument("--collector-cpus", default=None,
                    help="taskset CPU list for the collector only (e.g. 0,1: its store writer "
                         "may use the sender's CPU); default: --receiver-cpu, like the bare loops")
    ap.add_argument("--interval-ms", type=int, default=10000,
                    help="the interval the frames declare; at 1,000,000 sources make it longer "
                         "than the warm-up, or the first sources go DOWN before the measurement")
    ap.add_argument("--last-seen-every", default=None,
                    help="the collector's collector.last_seen_every (default: its own, 5s)")
    ap.add_argument("--only", default=None, choices=("bare", "bare+mac", "collector"),
                    help="search one receiver only (no ratio then)")
    ap.add_argument("--warm-rate", type=int, default=20000,
                    help="frames/s of the warm-up round (one per source, new-source path)")
    args = ap.parse_args()
    res = Bench(args).run()
    bl.save(args.out, res)
    print(json.dumps({k: v for k, v in res.items() if k != "trials"}, indent=2))


if __name__ == "__main__":
    main()
