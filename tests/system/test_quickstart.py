"""README's first command: ./scripts/quickstart runs a collector and an agent on the
embedded defaults (fixed ports 9760-9762), and stops both cleanly on SIGTERM."""
import json
import os
import shutil
import signal
import socket
import subprocess

import pytest

from fwtest import BIN_DIR, SOURCE_DIR, http_get, wait_for, port_free


def test_quickstart_runs_on_embedded_defaults_and_stops_cleanly(tmp_path):
    for port, kind in ((9760, socket.SOCK_STREAM), (9761, socket.SOCK_DGRAM), (9762, socket.SOCK_STREAM)):
        if not port_free(port, kind):
            pytest.fail(f"port {port} is in use; the quickstart needs 9760-9762")
    # Run from a copy of the scripts so ./firewatch-data lands in the temp dir.
    work = tmp_path / "repo"
    (work / "scripts").mkdir(parents=True)
    shutil.copy(os.path.join(SOURCE_DIR, "scripts", "quickstart"), work / "scripts" / "quickstart")
    env = dict(os.environ, FIREWATCH_SKIP_BUILD="1", FIREWATCH_BUILD_DIR=BIN_DIR)
    log = open(tmp_path / "quickstart.log", "wb")
    proc = subprocess.Popen([str(work / "scripts" / "quickstart")], cwd=work, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def agent_up():
            status, body = http_get("http://127.0.0.1:9760/api/v1/sources", timeout=1)
            return status == 200 and any(s["state"] == "UP" for s in json.loads(body)["sources"])
        wait_for(agent_up, 30, what="the quickstart agent to be UP")
        assert http_get("http://127.0.0.1:9760/")[0] == 200
        assert http_get("http://127.0.0.1:9762/healthz")[0] == 200
        assert (work / "firewatch-data" / "fleet.key").exists()
        assert "http://127.0.0.1:9760/" in (tmp_path / "quickstart.log").read_text()

        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        out = (tmp_path / "quickstart.log").read_text()
        assert "quickstart: stopped" in out, out
        assert "collector stopped" in out, out
        # The agent said goodbye before the collector stopped, and the state survived.
        db = work / "firewatch-data" / "collector.db"
        rows = subprocess.run(["sqlite3", str(db), "select state from sources"],
                              capture_output=True, text=True, timeout=10).stdout.split()
        assert rows == ["STOPPED"], rows
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
