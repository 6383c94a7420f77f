"""README's first command: ./scripts/quickstart runs a collector and an agent on the embedded
defaults (fixed ports 9760-9762). The README's demo runs here line by line, as written:
kill -9 the agent, the collector keeps running and pages to stdout and pages.log, the
agent started again with the README's command recovers. Only the collector exiting stops
the quickstart; Ctrl-C and SIGTERM stop it cleanly.

Nothing is written in the work tree: the quickstart runs from the repository with
FIREWATCH_DATA_DIR pointing into the test's temporary directory, and the README's other
commands run in a temporary "repository root" whose firewatch-data/ is that directory
and whose build/ links to the binaries under test."""
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time

import pytest

from fwtest import AGENT, BIN_DIR, SOURCE_DIR, http_get, port_free, token_sha256, wait_for

PORTS = ((9760, socket.SOCK_STREAM), (9761, socket.SOCK_DGRAM), (9762, socket.SOCK_STREAM))
DEMO_MARKER = "<!-- tests/system/test_quickstart.py runs these commands literally -->"


def readme_demo():
    """The commands of README.md's kill -9 demo: the ```sh block after DEMO_MARKER."""
    with open(os.path.join(SOURCE_DIR, "README.md")) as f:
        text = f.read()
    m = re.search(re.escape(DEMO_MARKER) + r"\s*```sh\n(.*?)```", text, re.S)
    assert m, "README.md has no demo block after " + DEMO_MARKER
    return [line for line in m.group(1).splitlines() if line.strip()]


def command_of(line):
    """The words of a README line without its trailing comment."""
    return shlex.split(line, comments=True)


class Quickstart:
    """./scripts/quickstart in its own session (its daemons share its process group)."""

    def __init__(self, tmp_path, data_dir, command="./scripts/quickstart"):
        for port, kind in PORTS:
            if not port_free(port, kind):
                pytest.fail(f"port {port} is in use; the quickstart needs 9760-9762")
        self.data = data_dir
        self.log_path = tmp_path / "quickstart.log"
        self.log = open(self.log_path, "wb")
        env = dict(os.environ, FIREWATCH_SKIP_BUILD="1", FIREWATCH_BUILD_DIR=BIN_DIR,
                   FIREWATCH_DATA_DIR=str(data_dir))
        # `bash -c` as a terminal runs the line; a lone command is exec'd, so the pid is the
        # quickstart's (checked below).
        self.proc = subprocess.Popen(["bash", "-c", command], cwd=SOURCE_DIR, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def wait_running(self):
        def running():
            if self.proc.poll() is not None:
                raise AssertionError(f"the quickstart exited ({self.proc.returncode}):\n{self.output()}")
            return "firewatch is running" in self.output() and source_state() == "UP"
        wait_for(running, 30, what="the quickstart's agent to be UP")
        with open(f"/proc/{self.proc.pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
        assert args[1].endswith(b"scripts/quickstart"), args   # not `bash -c ...`

    def pid(self, name):
        with open(self.data / f"{name}.pid") as f:
            return int(f.read())

    def close(self):
        """Kills whatever is left of the quickstart's process group (a failed test)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def quickstart(tmp_path):
    """start(data_dir, command=...) starts a Quickstart and waits until it runs; whatever is
    left of each is killed after the test."""
    started = []

    def start(data_dir, command="./scripts/quickstart"):
        qs = Quickstart(tmp_path, data_dir, command)
        started.append(qs)
        qs.wait_running()
        return qs
    yield start
    for qs in started:
        qs.close()


def source_state():
    status, body = http_get("http://127.0.0.1:9760/api/v1/sources", timeout=1)
    sources = json.loads(body)["sources"] if status == 200 else []
    return sources[0]["state"] if len(sources) == 1 else None


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent has not reaped it yet).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pages(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_readme_kill_9_demo_runs_as_written(tmp_path, quickstart):
    steps = readme_demo()
    assert len(steps) == 4, steps
    assert command_of(steps[0]) == ["./scripts/quickstart"], steps[0]
    # The README's terminal 2 works in the repository root: here a stand-in whose
    # firewatch-data/ is the quickstart's data dir and whose build/ holds the binaries.
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(os.path.abspath(BIN_DIR), root / "build")
    data = root / "firewatch-data"

    def sh(line, **kw):
        return subprocess.run(["bash", "-c", line], cwd=root, capture_output=True, text=True,
                              timeout=10, **kw)

    qs = quickstart(data, command=steps[0])
    agent = None
    try:
        collector_pid, agent_pid = qs.pid("collector"), qs.pid("agent")
        assert f"kill -9 {agent_pid}" in qs.output()

        # Step 2: kill -9 the agent.
        r = sh(steps[1])
        assert r.returncode == 0, r.stderr
        killed = time.monotonic()
        wait_for(lambda: not pid_alive(agent_pid), 5, what="the agent to die")

        # Step 3: within 20 s the page is in pages.log (the README's command shows it)
        # and on the quickstart's stdout; the collector and the quickstart keep running.
        def firing():
            r = sh(steps[2])
            return any(p["status"] == "firing" and p["state"] == "DOWN" for p in pages(r.stdout)) \
                and re.search(r"^PAGE FIRING \S+ is DOWN", qs.output(), re.M)
        wait_for(firing, 25, interval=0.25, what="PAGE FIRING in pages.log and on stdout")
        assert time.monotonic() - killed <= 20, "the README promises a page within 20 s"
        assert source_state() == "DOWN"
        assert qs.proc.poll() is None and pid_alive(collector_pid), qs.output()
        out = qs.output()
        assert f"the agent (pid {agent_pid}) was killed by signal 9" in out, out

        # The quickstart says how to start the agent again: the README's command, with
        # full paths.
        printed = re.search(r"Start the agent again.*\n\s+(.+)\n", out)
        assert printed, out
        readme_words = command_of(steps[3])
        printed_words = shlex.split(printed.group(1))
        assert len(printed_words) == len(readme_words) == 3, (printed_words, readme_words)
        assert os.path.realpath(printed_words[0]) == os.path.realpath(root / readme_words[0])
        assert printed_words[1] == readme_words[1] == "--config"
        assert os.path.realpath(printed_words[2]) == os.path.realpath(root / readme_words[2])

        # Step 4: the agent, started again with the README's command, recovers the source.
        agent_log = open(tmp_path / "agent-again.log", "wb")
        agent = subprocess.Popen(["bash", "-c", steps[3]], cwd=root, stdout=agent_log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        agent_log.close()
        wait_for(lambda: os.path.realpath(f"/proc/{agent.pid}/exe") == os.path.realpath(AGENT),
                 5, what="bash to exec the agent")

        def resolved():
            log = (data / "pages.log").read_text()
            return any(p["status"] == "resolved" and p["state"] == "UP" for p in pages(log)) \
                and re.search(r"^PAGE RESOLVED \S+ is UP", qs.output(), re.M)
        wait_for(resolved, 30, interval=0.25, what="PAGE RESOLVED in pages.log and on stdout")
        assert source_state() == "UP"

        # The agent stops with a goodbye (no page); Ctrl-C (SIGINT to the quickstart's
        # process group, as a terminal sends it) stops the quickstart and its collector.
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=10) == 0
        wait_for(lambda: source_state() == "STOPPED", 10, what="the goodbye to arrive")
        os.killpg(qs.proc.pid, signal.SIGINT)
        assert qs.proc.wait(timeout=20) == 0, qs.output()
        assert "quickstart: stopped" in qs.output()
        assert not pid_alive(collector_pid)
        assert not (data / "collector.pid").exists() and not (data / "agent.pid").exists()
        assert [p["status"] for p in pages((data / "pages.log").read_text())] == ["firing", "resolved"]
    finally:
        if agent is not None and agent.poll() is None:
            agent.kill()
            agent.wait(timeout=10)


def test_sigterm_stops_agent_with_goodbye_then_collector(tmp_path, quickstart):
    data = tmp_path / "state"
    qs = quickstart(data)
    out = qs.output()
    assert "http://127.0.0.1:9760/" in out
    assert str(data) in out                     # it says where its state is
    assert http_get("http://127.0.0.1:9760/")[0] == 200
    assert http_get("http://127.0.0.1:9762/healthz")[0] == 200
    assert (data / "fleet.key").exists()
    # A local operator token, made on the first run: printed, kept for the user (0600),
    # and only its SHA-256 given to the collector, which accepts it.
    token = (data / "operator.token").read_text().strip()
    assert token.startswith("fwop_") and oct((data / "operator.token").stat().st_mode & 0o777) == "0o600"
    assert f"token {token}" in out and f"FIREWATCH_TOKEN_FILE={data}/operator.token" in out, out
    operators = (data / "operators.yml").read_text()
    assert token_sha256(token) in operators and token not in operators
    assert "no operator tokens configured" not in out, out
    collector_pid, agent_pid = qs.pid("collector"), qs.pid("agent")

    os.kill(qs.proc.pid, signal.SIGTERM)
    assert qs.proc.wait(timeout=20) == 0
    out = qs.output()
    assert "quickstart: stopped" in out, out
    assert "collector stopped" in out, out
    assert not pid_alive(collector_pid) and not pid_alive(agent_pid)
    # The agent said goodbye before the collector stopped, and the state survived.
    rows = subprocess.run(["sqlite3", str(data / "collector.db"), "select state from sources"],
                          capture_output=True, text=True, timeout=10).stdout.split()
    assert rows == ["STOPPED"], rows
    assert (data / "pages.log").read_text() == ""  # a goodbye is not a page


def test_collector_exiting_stops_the_quickstart(tmp_path, quickstart):
    qs = quickstart(tmp_path / "state")
    collector_pid, agent_pid = qs.pid("collector"), qs.pid("agent")
    os.kill(collector_pid, signal.SIGKILL)
    assert qs.proc.wait(timeout=20) == 1
    out = qs.output()
    assert "the collector was killed by signal 9" in out, out
    assert not pid_alive(agent_pid)
