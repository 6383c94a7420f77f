#!/usr/bin/python3
"""Benchmark 3: agent footprint, side by side with prometheus-node-exporter
(docs/benchmarks.md).

Runs, at the same time, for --seconds (after --warmup seconds):
  - firewatch-agent: interval 1s, heartbeats over UDP to a local firewatch-collector,
    and its own /metrics fetched with curl every second;
  - a second firewatch-agent ("agent-checks"), the same plus 20 checks at their default
    interval (60s; CHECKS below: built-in disk, load, memory, tcp, process, file_age, and
    real monitoring-plugins when installed). Plugins' CPU is counted apart (cutime+cstime
    of the agent: the children it reaped), since it is the plugins' cost, not the agent's;
  - /usr/bin/prometheus-node-exporter on 127.0.0.1 (default collectors), fetched with
    curl every second so it does comparable periodic work.
Once a second it samples /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile) and
/proc/PID/stat (utime+stime); /proc/PID/task/*/schedstat gives CPU time at ns
resolution (the agent uses less than one 10 ms tick per second). CPU% is CPU time over
the measured window divided by its wall time (100% = one core). RssFile is pages of the
program and its shared libraries (shared with every other process that maps them);
RssAnon is what the process itself allocated (heap, stacks, private data). At the end it
also records /proc/PID/smaps_rollup (Pss, Private_*) and RSS per mapping from
/proc/PID/smaps, so the report can say where the resident pages come from.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"


PLUGINS = "/usr/lib/nagios/plugins"


def checks_yaml(http_port, collector):
    """20 checks at their default interval (60s) and timeout, as a host might have."""
    checks = [
        "{name: root, type: disk, path: /}",
        "{name: tmp, type: disk, path: /tmp}",
        "{name: dev-shm, type: disk, path: /dev/shm}",
        "{name: proc, type: disk, path: /proc}",
        "{name: load, type: load}",
        "{name: memory, type: memory}",
        f'{{name: agent-http, type: tcp, address: "127.0.0.1:{http_port}"}}',
        f'{{name: collector-http, type: tcp, address: "127.0.0.1:{collector.http_port}"}}',
        '{name: closed-port, type: tcp, address: "127.0.0.1:1"}',
        "{name: init, type: process, process: systemd}",
        "{name: agent-proc, type: process, process: firewatch-agent}",
        "{name: python, type: process, process: python3}",
        "{name: passwd-age, type: file_age, path: /etc/passwd, critical: 3650d}",
        "{name: hosts-age, type: file_age, path: /etc/hosts, critical: 3650d}",
        "{name: true, type: exec, command: [/bin/true]}",
        "{name: sh-echo, type: exec, shell: true, command: 'echo OK - fine | x=1'}",
    ]
    plugins = [
        "{name: dummy, type: exec, command: [check_dummy, '0', fine]}",
        "{name: plugin-disk, type: exec, command: [check_disk, -w, '10%', -c, '5%', -p, /]}",
        "{name: plugin-load, type: exec, command: [check_load, -w, '5,5,5', -c, '9,9,9']}",
        f"{{name: plugin-tcp, type: exec, command: [check_tcp, -H, 127.0.0.1, -p, '{collector.http_port}']}}",
    ]
    if not os.path.exists(os.path.join(PLUGINS, "check_dummy")):
        plugins = [
            f"{{name: exec-{i}, type: exec, command: [/bin/true]}}" for i in range(4)]
    return "checks:\n" + "".join(f"  - {c}\n" for c in checks + plugins)


def agent_config(path, source_id, http_port, key, collector, extra=""):
    with open(path, "w") as f:
        f.write(f"""# written by bench/agent_footprint.py
agent:
  source_id: {source_id}
  interval: 1s
  http_listen: 127.0.0.1:{http_port}
  labels: {{dc: dc1, role: web, service: shop}}
  log_level: warn
key:
  id: bench
  file: {key}
collectors:
  - name: local
    udp: 127.0.0.1:{collector.udp_port}
    http: 127.0.0.1:{collector.http_port}
{extra}""")


def wait_http(url, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited ({proc.returncode})")
        try:
            if bl.http_get(url, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not answering")


def smaps_rollup_kb(pid):
    """The kB fields of /proc/PID/smaps_rollup (Rss, Pss, Private_Clean, Private_Dirty...)."""
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    out[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        pass
    return out


def rss_by_mapping_kb(pid):
    """RSS per mapped file (basename) or anonymous region kind, from /proc/PID/smaps."""
    out = {}
    name = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if head and not head[0].endswith(":") and "-" in head[0]:
                    name = os.path.basename(head[5]) if len(head) > 5 else "[anon]"
                elif head and head[0] == "Rss:":
                    out[name] = out.get(name, 0) + int(head[1])
    except OSError:
        pass
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def node_exporter_version():
    r = subprocess.run([NODE_EXPORTER, "--version"], capture_output=True, text=True)
    lines = (r.stdout + r.stderr).splitlines()
    return lines[0] if lines else None


def children_cpu_seconds(pid):
    """cutime + cstime: CPU of the children the process waited for (its check plugins)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[13]) + int(fields[14])) / bl.CLK_TCK


def curl(url):
    return subprocess.run(["curl", "-sf", "-o", "/dev/null", "--max-time", "5", url]).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--collector", default=None,
                    help="firewatch-collector binary (default: BUILD/collector/firewatch-collector)")
    ap.add_argument("--agent", default=None,
                    help="firewatch-agent binary (default: BUILD/agent/firewatch-agent)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    work = bl.workdir("fw-agent-", args.workdir)
    key = os.path.join(work, "fleet.key")
    bl.write_key(key)

    collector = bl.Collector(
        args.collector or os.path.join(args.build, "collector", "firewatch-collector"), key, work)
    agent_bin = args.agent or os.path.join(args.build, "agent", "firewatch-agent")
    procs = {}
    urls = {}
    for name in ("agent", "agent-checks"):
        port = bl.free_port()
        cfg = os.path.join(work, f"{name}.yml")
        extra = checks_yaml(port, collector) if name == "agent-checks" else ""
        agent_config(cfg, f"bench-{name}", port, key, collector, extra)
        log = open(os.path.join(work, f"{name}.log"), "w")
        procs[name] = bl.start([agent_bin, "--config", cfg], stdout=log, stderr=subprocess.STDOUT)
        urls[name] = f"http://127.0.0.1:{port}/metrics"
    ne_port = bl.free_port()
    ne_log = open(os.path.join(work, "node-exporter.log"), "w")
    procs["node-exporter"] = bl.start(
        [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ne_port}"],
        stdout=ne_log, stderr=subprocess.STDOUT)
    urls["node-exporter"] = f"http://127.0.0.1:{ne_port}/metrics"
    for name, p in procs.items():
        wait_http(urls[name], p)
    scraped = ("agent", "agent-checks", "node-exporter")

    for _ in range(args.warmup):
        for name in scraped:
            curl(urls[name])
        time.sleep(1)
    before_hb = collector.counters()["accepted"]

    samples = {name: [] for name in procs}
    cpu0 = {name: bl.cpu_seconds(p.pid) for name, p in procs.items()}
    children0 = {name: children_cpu_seconds(p.pid) for name, p in procs.items()}
    oncpu0 = {name: bl.oncpu_seconds(p.pid) for name, p in procs.items()}
    t0 = time.monotonic()
    scrape_failures = {name: 0 for name in scraped}
    for i in range(args.seconds):
        for name in scraped:
            if curl(urls[name]) != 0:
                scrape_failures[name] += 1
        for name, p in procs.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited during the run ({p.returncode})")
            st = bl.status_kb(p.pid)
            samples[name].append({"t": round(time.monotonic() - t0, 2), "rss": st["VmRSS"],
                                  "hwm": st["VmHWM"], "anon": st.get("RssAnon"),
                                  "file": st.get("RssFile"), "cpu": bl.cpu_seconds(p.pid)})
        time.sleep(max(0.0, t0 + i + 1 - time.monotonic()))
    wall = time.monotonic() - t0
    hb = collector.counters()["accepted"] - before_hb

    res = {"machine": bl.machine(), "seconds": args.seconds, "wall_s": round(wall, 2),
           "collector_heartbeats": int(hb), "scrape_failures": scrape_failures,
           "node_exporter_version": node_exporter_version(),
           "processes": {}}
    for name, p in procs.items():
        s = samples[name]
        last_half = [x["rss"] for x in s[len(s) // 2:]]
        st = bl.status_kb(p.pid)
        rollup = smaps_rollup_kb(p.pid)
        res["processes"][name] = {
            "rss_max_kb": max(x["rss"] for x in s),
            "rss_steady_kb": int(statistics.median(last_half)),
            "hwm_kb": st["VmHWM"],
            "rss_anon_kb": st.get("RssAnon"),
            "rss_file_kb": st.get("RssFile"),
            "pss_kb": rollup.get("Pss"),
            "private_kb": (rollup["Private_Clean"] + rollup["Private_Dirty"]
                           if "Private_Clean" in rollup and "Private_Dirty" in rollup else None),
            "smaps_rollup_kb": rollup,
            "rss_by_mapping_kb": rss_by_mapping_kb(p.pid),
            "cpu_pct": round(100.0 * (bl.cpu_seconds(p.pid) - cpu0[name]) / wall, 3),
            "cpu_pct_schedstat": round(100.0 * (bl.oncpu_seconds(p.pid) - oncpu0[name]) / wall, 4),
            "children_cpu_pct": round(
                100.0 * (children_cpu_seconds(p.pid) - children0[name]) / wall, 3),
            "threads": int(open(f"/proc/{p.pid}/status").read().split("Threads:")[1].split()[0]),
            "samples": s,
        }
        bl.log(f"{name:14s} RSS max {res['processes'][name]['rss_max_kb']} kB, steady "
               f"{res['processes'][name]['rss_steady_kb']} kB, CPU "
               f"{res['processes'][name]['cpu_pct']}% (schedstat "
               f"{res['processes'][name]['cpu_pct_schedstat']}%), children "
               f"{res['processes'][name]['children_cpu_pct']}%")
    # What the 20 checks reported (runs and states), so the run shows they did run.
    status, body = bl.http_get(urls["agent-checks"], timeout=2)
    checks = {}
    for line in body.splitlines() if status == 200 else []:
        for family, key in (("firewatch_agent_check_state{", "state"),
                            ("firewatch_agent_check_runs_total{", "runs")):
            if line.startswith(family):
                name = line.split('check="', 1)[1].split('"', 1)[0]
                checks.setdefault(name, {})[key] = float(line.rsplit(" ", 1)[1])
    res["agent_checks"] = checks
    bl.log(f"agent-checks: {len(checks)} checks, {sum(c.get('runs', 0) for c in checks.values()):.0f} "
           f"runs, states {sorted(int(c.get('state', -1)) for c in checks.values())}")
    for p in procs.values():
        bl.stop(p)
    collector.stop()
    bl.save(args.out, res)


if __name__ == "__main__":
    main()
