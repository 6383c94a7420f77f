"""The Debian packages, installed and run the way their systemd units run them (issue #11).

Builds firewatch-agent and firewatch-collector with CPack (in a temporary directory, from
the build tree), checks that the agent's package and binary need nothing beyond libc,
installs both with `apt-get install ./...deb`, checks the units with systemd-analyze, then
starts what the units start and sees the agent's heartbeat arrive, and purges both.

There is no systemd as PID 1 here (nor in CI), so starting a unit is emulated, honestly
and no further: the installed unit files' [Service] lines are parsed, and their exact
ExecStartPre= and ExecStart= command lines run as their User=/Group= (the system user the
packages' postinst made), with the UMask=, the StateDirectory= made as systemd makes it,
and a notify socket standing in for systemd's ($NOTIFY_SOCKET, $WATCHDOG_USEC from
WatchdogSec=), on which READY=1, WATCHDOG=1 and STOPPING=1 must arrive. The sandboxing
lines (ProtectSystem=, SystemCallFilter=, ...) are not emulated: systemd-analyze checks
them (verify, and the security exposure recorded in docs/operations.md).

Needs root, apt-get, cpack and free example ports (HTTP 9760, UDP 9761, agent 9762: the
packaged configs). Exit 77 (skipped) without them, but a failure under CI=true. Leaves the
machine as found: the packages are purged (state and configs with them) and the
firewatch user and group are deleted if this test made them.
"""
import glob
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess

import pytest

from fwtest import BIN_DIR, SOURCE_DIR, http_get, port_free, wait_for

CI = os.environ.get("CI") == "true"
PACKAGES = ("firewatch-agent", "firewatch-collector")
UNIT_DIRS = ("/usr/lib/systemd/system", "/lib/systemd/system")
LIBC_ONLY = {"libc.so.6", "libm.so.6", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def require(ok, reason):
    if ok:
        return
    if CI:
        pytest.fail("required under CI=true: " + reason)
    pytest.exit("skipped: " + reason, returncode=77)


def run(args, **kw):
    kw.setdefault("check", True)
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def installed(package):
    r = run(["dpkg-query", "-W", "-f=${Status}", package], check=False)
    return r.returncode == 0 and "ok installed" in r.stdout


def service_lines(unit_path):
    """[Service] key -> list of values, in order (a unit may repeat a key)."""
    out, section = {}, None
    with open(unit_path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                key, _, value = line.partition("=")
                out.setdefault(key.strip(), []).append(value.strip())
    return out


def recorded_exposure(unit):
    """The exposure score docs/operations.md records for `unit`."""
    with open(os.path.join(SOURCE_DIR, "docs", "operations.md")) as f:
        m = re.search(r"^\| `" + re.escape(unit) + r"` \| (\d+\.\d+) \|", f.read(), re.M)
    assert m, f"docs/operations.md records no exposure score for {unit}"
    return float(m.group(1))


class NotifySocket:
    """systemd's side of sd_notify: an abstract AF_UNIX datagram socket."""

    def __init__(self, name):
        self.address = "@" + name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name)
        self.sock.setblocking(False)
        self.messages = []

    def drain(self):
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def got(self, assignment):
        return any(assignment in m.split("\n") for m in self.drain())

    def close(self):
        self.sock.close()


class Unit:
    """What systemd would run for one installed unit (see the module docstring)."""

    def __init__(self, name, tmp):
        self.name = name
        self.path = next((os.path.join(d, name) for d in UNIT_DIRS
                          if os.path.exists(os.path.join(d, name))), None)
        assert self.path, f"{name} is not installed in {UNIT_DIRS}"
        self.service = service_lines(self.path)
        self.log_path = os.path.join(tmp, name + ".log")
        self.notify = NotifySocket(f"firewatch-test-{os.getpid()}-{name}")
        self.proc = None

    def one(self, key):
        values = self.service.get(key, [])
        assert len(values) == 1, f"{self.name}: {key}= {values}"
        return values[0]

    def command(self, line):
        assert line[:1] not in "-@+!:", f"{self.name}: prefix in {line!r} is not emulated"
        return shlex.split(line)

    def credentials(self):
        user = pwd.getpwnam(self.one("User"))
        group = grp.getgrnam(self.one("Group"))
        return dict(user=user.pw_uid, group=group.gr_gid, extra_groups=[],
                    umask=int(self.one("UMask"), 8), cwd="/")

    def environment(self):
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "LANG": "C.UTF-8", "NOTIFY_SOCKET": self.notify.address}
        watchdog = self.service.get("WatchdogSec")
        if watchdog:
            env["WATCHDOG_USEC"] = str(int(watchdog[0]) * 1_000_000)
        for d in self.service.get("StateDirectory", []):
            env["STATE_DIRECTORY"] = os.path.join("/var/lib", d)
        for d in self.service.get("ConfigurationDirectory", []):
            env["CONFIGURATION_DIRECTORY"] = os.path.join("/etc", d)
        return env

    def make_state_directories(self):
        # systemd: /var/lib/<name>, owned by User=/Group=, StateDirectoryMode= (0755).
        mode = int(self.service.get("StateDirectoryMode", ["0755"])[0], 8)
        for d in self.service.get("StateDirectory", []):
            path = os.path.join("/var/lib", d)
            os.makedirs(path, exist_ok=True)
            os.chown(path, pwd.getpwnam(self.one("User")).pw_uid,
                     grp.getgrnam(self.one("Group")).gr_gid)
            os.chmod(path, mode)

    def start(self):
        assert self.one("Type") == "notify"
        self.make_state_directories()
        for pre in self.service.get("ExecStartPre", []):
            r = subprocess.run(self.command(pre), env=self.environment(), capture_output=True,
                               text=True, timeout=60, **self.credentials())
            assert r.returncode == 0, f"{self.name}: ExecStartPre={pre}: {r.stdout}{r.stderr}"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(self.one("ExecStart")), env=self.environment(),
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, **self.credentials())
        wait_for(lambda: self.notify.got("READY=1") or self.proc.poll() is not None, 30,
                 what=f"{self.name}: READY=1")
        assert self.proc.poll() is None, f"{self.name} exited: {self.output()}"

    def stop(self):
        """SIGTERM, as systemctl stop sends it; the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=int(self.one("TimeoutStopSec")))
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


def build_packages(out_dir):
    config = os.path.join(BIN_DIR, "CPackConfig.cmake")
    require(os.path.exists(config), f"{config} missing (configure the build first)")
    r = run(["cpack", "--config", config, "-G", "DEB", "-B", out_dir], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    debs = {}
    for package in PACKAGES:
        found = glob.glob(os.path.join(out_dir, package + "_*.deb"))
        assert len(found) == 1, (package, os.listdir(out_dir), r.stdout)
        debs[package] = found[0]
    return debs


def control_field(deb, field):
    r = run(["dpkg-deb", "-f", deb, field])
    return r.stdout.strip()


def check_agent_needs_only_libc(deb, tmp):
    depends = control_field(deb, "Depends")
    assert re.fullmatch(r"libc6( \(>= [0-9.]+\))?", depends), f"agent Depends: {depends!r}"
    assert "libcurl4" in control_field(deb, "Recommends")  # the HTTP fallback dlopen()s it
    root = os.path.join(tmp, "agent-deb")
    run(["dpkg-deb", "-x", deb, root])
    r = run(["objdump", "-p", os.path.join(root, "usr", "bin", "firewatch-agent")])
    needed = set(re.findall(r"^\s*NEEDED\s+(\S+)", r.stdout, re.M))
    assert needed and needed <= LIBC_ONLY, f"firewatch-agent NEEDED: {sorted(needed)}"


def check_units(units):
    analyze = shutil.which("systemd-analyze")
    if not analyze:  # ./scripts/setup installs it (Debian package systemd)
        assert not CI, "systemd-analyze is required under CI=true"
        return
    for unit in units:
        r = run([analyze, "verify", unit.path], check=False)
        assert r.returncode == 0 and not r.stderr.strip(), f"verify {unit.name}: {r.stderr}"
        r = run([analyze, "security", "--offline=true", "--no-pager", unit.path], check=False)
        m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
        assert m, r.stdout + r.stderr
        assert float(m.group(1)) <= recorded_exposure(unit.name), \
            f"{unit.name}: exposure {m.group(1)} > recorded {recorded_exposure(unit.name)}"


def source_state(source_id):
    status, body = http_get(f"http://127.0.0.1:9760/api/v1/sources/{source_id}")
    if status != 200:
        return None
    return json.loads(body).get("state")


def test_packages_install_run_and_purge(tmp_path):
    require(os.geteuid() == 0, "installing packages needs root (CI runs as root)")
    for tool in ("apt-get", "dpkg-deb", "dpkg-shlibdeps", "cpack", "objdump"):
        require(shutil.which(tool), f"{tool} not found (./scripts/setup installs it)")
    for p in PACKAGES:
        require(not installed(p), f"{p} is already installed on this machine")
    for path in ("/etc/firewatch", "/var/lib/firewatch"):
        require(not os.path.exists(path), f"{path} exists: this machine runs firewatch")
    require(port_free(9760) and port_free(9762) and port_free(9761, socket.SOCK_DGRAM),
            "the packaged configs' ports (9760-9762) are in use")
    user_existed = _exists(pwd.getpwnam, "firewatch")
    group_existed = _exists(grp.getgrnam, "firewatch")

    debs = build_packages(str(tmp_path / "packages"))
    check_agent_needs_only_libc(debs["firewatch-agent"], str(tmp_path))

    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    units = []
    try:
        r = run(["apt-get", "install", "-y", debs["firewatch-agent"],
                 debs["firewatch-collector"]], env=env, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert all(installed(p) for p in PACKAGES)
        for binary in ("firewatch-collector", "firewatchctl", "firewatch-agent"):
            r = run(["ldd", "/usr/bin/" + binary])
            assert "not found" not in r.stdout, r.stdout
        key = os.stat("/etc/firewatch/fleet.key")  # made by the collector's postinst
        assert (key.st_uid, grp.getgrgid(key.st_gid).gr_name, oct(key.st_mode & 0o777)) == \
            (0, "firewatch", "0o640")

        units = [Unit("firewatch-collector.service", str(tmp_path)),
                 Unit("firewatch-agent.service", str(tmp_path))]
        check_units(units)
        collector, agent = units
        collector.start()
        agent.start()
        host = socket.gethostname()
        wait_for(lambda: source_state(host) == "UP", 30, what=f"source {host} UP")
        for unit in units:
            assert unit.notify.got("WATCHDOG=1"), f"{unit.name}: {unit.notify.messages}"
        assert os.stat("/var/lib/firewatch").st_uid == pwd.getpwnam("firewatch").pw_uid

        assert agent.stop() == 0, agent.output()
        assert agent.notify.got("STOPPING=1")
        wait_for(lambda: source_state(host) == "STOPPED", 15, what=f"source {host} STOPPED")
        assert collector.stop() == 0, collector.output()
        assert collector.notify.got("STOPPING=1")
        # One line per event: every line of both logs is a text log line.
        line = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d "
                          r"(trace|debug|info|warning|error|critical) firewatch-(agent|collector): ")
        for unit in units:
            for text in unit.output().splitlines():
                assert line.match(text), f"{unit.name}: {text!r}"
    finally:
        for unit in units:
            unit.stop()
            unit.notify.close()
        r = run(["apt-get", "purge", "-y", *PACKAGES], env=env, check=False)
        if not user_existed and _exists(pwd.getpwnam, "firewatch"):
            run(["userdel", "firewatch"], check=False)
        if not group_existed and _exists(grp.getgrnam, "firewatch"):
            run(["groupdel", "firewatch"], check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    left = [p for p in ("/etc/firewatch", "/var/lib/firewatch", "/usr/bin/firewatch-agent",
                        "/usr/bin/firewatch-collector", "/usr/bin/firewatchctl",
                        "/usr/lib/firewatch") if os.path.exists(p)]
    assert not left and not any(installed(p) for p in PACKAGES), left


def _exists(lookup, name):
    try:
        lookup(name)
        return True
    except KeyError:
        return False
