#!/usr/bin/python3
"""Ping throughput: how many healthchecks.io-style pings per second a collector accepts,
side by side with Prometheus Pushgateway taking pushes from the same load generator in
the same run (docs/benchmarks.md, "4. Ping throughput").

Both servers get the same wrk setup (threads, connections, duration, one CPU each, wrk
on the other): wrk's Lua script spreads requests over N distinct checks / jobs, so
neither server answers the same cached thing. The collector gets `GET /ping/<uuid>`
for N configured checks (pings_per_minute high enough that the rate limit never
answers); Pushgateway gets `POST /metrics/job/<job>` with a one-sample text body (what
a cron job's `curl --data-binary` to Pushgateway sends). Everything on 127.0.0.1; each
process is stopped by its pid (benchlib).

  /usr/bin/python3 bench/ping_bench.py --build build [--seconds 10] [--out pings.json]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

WRK = "/usr/bin/wrk"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"


def wrk_script(path, method, paths, body=""):
    with open(path, "w") as f:
        f.write("paths = {\n" + ",\n".join(f'  "{p}"' for p in paths) + "\n}\n")
        f.write(f'wrk.method = "{method}"\n')
        # One request per connection for both servers: the collector closes every
        # connection after its response (http_server.h: slow clients cannot pin a worker),
        # and wrk counts a request on a connection the server closed as a read error.
        f.write('wrk.headers["Connection"] = "close"\n')
        if body:
            f.write(f'wrk.body = "{body}"\n')
            f.write('wrk.headers["Content-Type"] = "text/plain"\n')
        f.write("i = 0\nrequest = function()\n  i = i + 1\n"
                "  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n")


def parse_wrk(text):
    out = {"requests_per_second": None, "requests": None, "non_2xx": 0, "socket_errors": 0,
           "latency_p50_ms": None, "latency_p99_ms": None}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if m:
        out["requests_per_second"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non_2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = sum(int(x) for x in m.groups())

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    for pct, key in (("50", "latency_p50_ms"), ("99", "latency_p99_ms")):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            out[key] = ms(*m.groups())
    return out


def run_wrk(url, script, args, cpu):
    cmd = ["nice", WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
           "--latency", "-s", script, url]
    p = benchlib.start(cmd, cpu=cpu, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text, _ = p.communicate(timeout=args.seconds + 60)
    benchlib._procs.remove(p)
    res = parse_wrk(text)
    res["wrk_output"] = text
    return res


def wait_http(url, what, proc):
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode})")
        try:
            if benchlib.http_get(url, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after 20 s")
        time.sleep(0.05)


def bench_collector(args, work):
    binary = os.path.join(args.build, "collector", "firewatch-collector")
    key = os.path.join(work, "bench.key")
    benchlib.write_key(key)
    ids = [str(uuid.uuid4()) for _ in range(args.checks)]
    port, udp = benchlib.free_port(), benchlib.free_port(benchlib.socket.SOCK_DGRAM)
    cfg = os.path.join(work, "collector.yml")
    with open(cfg, "w") as f:
        f.write(f"""# written by bench/ping_bench.py
collector:
  id: bench
  data_dir: {work}/data
  http_listen: 127.0.0.1:{port}
  udp_listen: 127.0.0.1:{udp}
  log_level: warn
  # wrk's connections all come from 127.0.0.1; a fleet's cron jobs come from many
  # hosts. The per-client cap (default 8) would refuse wrk's extra connections at accept.
  http_max_connections_per_client: 0
keys:
  - {{id: bench, file: {key}}}
metrics:
  per_source: false
checks:
  pings_per_minute: 100000
  jobs:
""")
        for i, u in enumerate(ids):
            f.write(f"    - {{name: job-{i}, uuid: {u}, period: 1h, grace: 1h}}\n")
    log = open(os.path.join(work, "collector.log"), "w")
    proc = benchlib.start([binary, "--config", cfg], cpu=args.server_cpu, stdout=log,
                          stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/readyz", "collector", proc)
    script = os.path.join(work, "ping.lua")
    wrk_script(script, "GET", [f"/ping/{u}" for u in ids])
    cpu0 = benchlib.cpu_seconds(proc.pid)
    res = run_wrk(url, script, args, args.wrk_cpu)
    res["server_cpu_seconds"] = benchlib.cpu_seconds(proc.pid) - cpu0
    checks = benchlib.http_get(url + "/api/v1/checks", timeout=30)[1]
    res["accepted_by_server"] = json.loads(checks)["pings"]["accepted"]
    benchlib.stop(proc)
    log.close()
    return res


def bench_pushgateway(args, work):
    port = benchlib.free_port()
    log = open(os.path.join(work, "pushgateway.log"), "w")
    proc = benchlib.start([PUSHGATEWAY, f"--web.listen-address=127.0.0.1:{port}"],
                          cpu=args.server_cpu, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/-/ready", "pushgateway", proc)
    script = os.path.join(work, "push.lua")
    wrk_script(script, "POST", [f"/metrics/job/job-{i}" for i in range(args.checks)],
               body="cron_job_last_success_timestamp_seconds 1.7e9\\n")
    cpu0 = benchlib.cpu_seconds(proc.pid)
    res = run_wrk(url, script, args, args.wrk_cpu)
    res["server_cpu_seconds"] = benchlib.cpu_seconds(proc.pid) - cpu0
    version = subprocess.run([PUSHGATEWAY, "--version"], capture_output=True, text=True)
    res["version"] = ((version.stdout + version.stderr).splitlines() or [""])[0]
    benchlib.stop(proc)
    log.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default=None)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--checks", type=int, default=1000)
    ap.add_argument("--server-cpu", type=int, default=1)
    ap.add_argument("--wrk-cpu", type=int, default=0)
    args = ap.parse_args()
    for tool in (WRK, PUSHGATEWAY):
        if not os.access(tool, os.X_OK):
            sys.exit(f"ping_bench: {tool} is missing (./scripts/setup installs it)")
    load_before = open("/proc/loadavg").read().split()[:3]
    work = benchlib.workdir("ping-bench-", args.workdir)
    benchlib.log(f"collector: {args.checks} checks, wrk -t{args.threads} -c{args.connections} "
                 f"-d{args.seconds}s")
    os.makedirs(os.path.join(work, "fw"))
    fw = bench_collector(args, os.path.join(work, "fw"))
    benchlib.log(f"collector: {fw['requests_per_second']} req/s, non-2xx {fw['non_2xx']}, "
                 f"socket errors {fw['socket_errors']}")
    os.makedirs(os.path.join(work, "pg"))
    pg = bench_pushgateway(args, os.path.join(work, "pg"))
    benchlib.log(f"pushgateway: {pg['requests_per_second']} req/s, non-2xx {pg['non_2xx']}, "
                 f"socket errors {pg['socket_errors']}")
    ratio = (fw["requests_per_second"] / pg["requests_per_second"]
             if fw["requests_per_second"] and pg["requests_per_second"] else None)
    # Server CPU per completed request: what the throughput would be on an idle core.
    for r in (fw, pg):
        r["server_cpu_us_per_request"] = (1e6 * r["server_cpu_seconds"] / r["requests"]
                                          if r["requests"] else None)
    cpu_ratio = (pg["server_cpu_us_per_request"] / fw["server_cpu_us_per_request"]
                 if fw["server_cpu_us_per_request"] and pg["server_cpu_us_per_request"] else None)
    result = {"machine": benchlib.machine(),
              "loadavg_before": load_before,
              "settings": vars(args), "collector": fw, "pushgateway": pg, "ratio": ratio,
              "cpu_ratio": cpu_ratio}
    if args.out:
        benchlib.save(args.out, result)
    print(f"collector   {fw['requests_per_second']:>10.0f} req/s  errors "
          f"{fw['non_2xx'] + fw['socket_errors']}  p99 {fw['latency_p99_ms']} ms  "
          f"server CPU {fw['server_cpu_us_per_request']:.0f} us/request  "
          f"accepted {fw['accepted_by_server']}")
    print(f"pushgateway {pg['requests_per_second']:>10.0f} req/s  errors "
          f"{pg['non_2xx'] + pg['socket_errors']}  p99 {pg['latency_p99_ms']} ms  "
          f"server CPU {pg['server_cpu_us_per_request']:.0f} us/request  ({pg['version']})")
    print(f"ratio       {ratio:.1f}x requests/s, {cpu_ratio:.1f}x server CPU per request"
          if ratio and cpu_ratio else "ratio       n/a")


if __name__ == "__main__":
    main()
