#!/usr/bin/python3
"""Renders bench results (JSON files written by the *_bench.py scripts) as Markdown."""

import json
import os
import sys


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def rate(x):
    return f"{x / 1000:,.1f}k/s" if x else "—"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def main():
    d = sys.argv[1]
    ing, mem, ag = load(d, "ingest.json"), load(d, "memory.json"), load(d, "agent.json")
    machine = (ing or mem or ag or {}).get("machine")
    out = []
    if machine:
        out.append("Machine: {nproc} CPUs ({cpu}), {ram_gib} GiB RAM, Linux {kernel}, "
                   "net.core.rmem_max {rmem_max}; {date}.".format(**machine))
        load_note = open(os.path.join(d, "loadavg")).read().strip() \
            if os.path.exists(os.path.join(d, "loadavg")) else None
        if load_note:
            out.append(f"Load average before the run: {load_note}.")
        out.append("")
    out.append("| benchmark | firewatch | baseline / comparison | target | result |")
    out.append("|---|---|---|---|---|")
    if ing:
        b, bm, c = ing["bare"], ing["bare+mac"], ing["collector"]

        def zl(x):
            return rate(x["zero_loss_rate"]) + (" (sender-bound: lower bound)" if x["sender_bound"] else "")
        ratio = ing.get("ratio")
        out.append(f"| UDP ingest: highest offered rate with zero loss ({ing['sources']:,} sources, "
                   f"{ing['step_seconds']:g} s steps, best of {ing['repeat']}) | collector {zl(c)} | "
                   f"bare recvmmsg loop {zl(b)}; bare loop + HMAC check {zl(bm)} | ≥ 80% of the "
                   f"bare loop | {100 * ratio:.0f}% of bare {verdict(ratio >= 0.8)}; "
                   f"{100 * ing['ratio_mac']:.0f}% of bare + HMAC |")
        m = ing.get("matched")
        if m:
            out.append(f"| receiver CPU per frame at {rate(m['rate'])} (all three lossless) | "
                       f"collector {m['collector']['us_per_frame']} µs | bare "
                       f"{m['bare']['us_per_frame']} µs; bare + HMAC {m['bare+mac']['us_per_frame']} µs"
                       f" | — | collector {m['collector']['us_per_frame'] / m['bare']['us_per_frame']:.1f}×"
                       f" the bare loop's cost |")
        hm = load(d, "hmac.json")
        if hm:
            r = hm["results"]
            out.append(f"| HMAC-SHA256 of one {hm['message_bytes']}-byte frame "
                       f"(bench_hmac, one core) | built-in ({hm['block_function']}) "
                       f"{r['builtin_sign']['ns_per_op']:.0f} ns; whole DecodeView "
                       f"{r['decode_frame']['ns_per_op']:.0f} ns | OpenSSL 3 one-shot HMAC() "
                       f"{r['openssl_hmac_oneshot']['ns_per_op']:.0f} ns, reused EVP_MAC "
                       f"{r['openssl_evp_mac_reuse']['ns_per_op']:.0f} ns | — | — |")
        ip = load(d, "ingest_path.json")
        if ip:
            out.append(f"| user-space cost per frame without sockets (bench_ingest_path, "
                       f"{ip['sources']:,} sources) | whole ingest path {ip['ingest_ns']:.0f} ns; "
                       f"decode + MAC {ip['decode_ns']:.0f} ns | MAC alone "
                       f"{ip['verify_only_ns']:.0f} ns; copying the frame into a slot "
                       f"{ip['copy_ns']:.0f} ns | — | — |")
        bc, bmc, cc = b["cpu_at_fixed_rate"], bm["cpu_at_fixed_rate"], c["cpu_at_fixed_rate"]
        out.append(f"| receiver CPU at a fixed {rate(cc['rate'])} (% of one core) | collector "
                   f"{cc['cpu_pct']}% ({cc['us_per_frame']} µs/frame) | bare {bc['cpu_pct']}% "
                   f"({bc['us_per_frame']} µs); bare + HMAC {bmc['cpu_pct']}% "
                   f"({bmc['us_per_frame']} µs) | — | — |")
    if mem:
        n = mem["sources"]
        for lab, desc in (("shared", "fleet-shared label sets"),
                          ("unique", "plus a unique `host` label")):
            t = mem["tracker"][lab]
            out.append(f"| memory per source, tracker in-process, {n:,} sources, {desc} | "
                       f"{t['rss_per_source']:.0f} B RSS ({t['heap_per_source']:.0f} B heap) | — "
                       f"| < 1024 B | {verdict(t['rss_per_source'] < 1024)} |")
        for lab, desc in (("shared", "fleet-shared label sets"),
                          ("unique", "plus a unique `host` label")):
            c = mem["collector"][lab]
            ok = c["ok"] and c["bytes_per_source"] < 1024
            out.append(f"| memory per source, whole collector (VmRSS), {c['sources']:,} sources, "
                       f"{desc} | {c['bytes_per_source']:.0f} B ({c['rss_zero_kb'] / 1024:.1f} → "
                       f"{c['rss_kb'] / 1024:.1f} MiB) | — | < 1024 B | {verdict(ok)} |")
    if ag:
        a, ne = ag["processes"]["agent"], ag["processes"]["node-exporter"]

        def mib(kb):
            return f"{kb / 1024:.2f} MiB"
        out.append(f"| agent RSS, interval 1 s, /metrics scraped every 1 s, {ag['seconds']} s "
                   f"(steady / max) | {mib(a['rss_steady_kb'])} / {mib(a['rss_max_kb'])} | "
                   f"node-exporter, scraped every 1 s: {mib(ne['rss_steady_kb'])} / "
                   f"{mib(ne['rss_max_kb'])} | < 5 MB | {verdict(a['rss_max_kb'] * 1024 < 5e6)} |")
        out.append(f"| RSS split at the end: anonymous / file-backed (program + shared libraries) "
                   f"| {mib(a['rss_anon_kb'])} / {mib(a['rss_file_kb'])} | node-exporter "
                   f"{mib(ne['rss_anon_kb'])} / {mib(ne['rss_file_kb'])} | — | — |")
        if a.get("private_kb") is not None and ne.get("private_kb") is not None:
            out.append(f"| Pss / private (smaps_rollup; Pss splits shared pages among the processes "
                       f"mapping them) | {mib(a['pss_kb'])} / {mib(a['private_kb'])} | node-exporter "
                       f"{mib(ne['pss_kb'])} / {mib(ne['private_kb'])} | — | — |")
        out.append(f"| CPU over {ag['seconds']} s (% of one core) | {a['cpu_pct_schedstat']:.3f}% | "
                   f"node-exporter {ne['cpu_pct_schedstat']:.2f}% | — | — |")
    out.append("")
    if ing:
        out.append("Ingest trials, in order (each against a fresh receiver; `lost` = sent − "
                   "received; `others` = CPU time of all other user processes, as a share of one CPU; a "
                   f"trial where others took over 5% was repeated: {ing.get('retries', 0)} repeats, "
                   f"{ing.get('disturbed_trials_kept', 0)} disturbed trials kept):")
        out.append("")
        out.append("| receiver | offered | achieved | sent | received | lost | socket drops "
                   "(/proc/net/udp; collector's own count) | receiver CPU | others |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for t in ing["trials"]:
            other = 100 * t.get("other_s", 0) / (t["send_s"] + 0.2)
            out.append(f"| {t['receiver']} | {rate(t['rate_target'])} | {rate(t['rate_achieved'])}"
                       f"{' (sender-bound)' if t['sender_bound'] else ''} | {t['sent']:,} | "
                       f"{t['received']:,} | {t['lost']:,} | {t['socket_drops']:,}"
                       f"{'; ' + format(t['kernel_drops'], ',') if t['receiver'] == 'collector' else ''} | "
                       f"{t['cpu_pct']}% | {other:.0f}%{' (disturbed)' if t.get('disturbed') else ''} |")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
