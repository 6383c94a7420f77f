"""The command lines: --help, --check-config with file:line errors, keygen, status."""
import os
import subprocess

from fwtest import AGENT, COLLECTOR, CTL


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30)


def test_help_describes_every_binary():
    for binary in (COLLECTOR, AGENT, CTL):
        r = run(binary, "--help")
        assert r.returncode == 0, r.stderr
        assert "--config" in r.stdout or "keygen" in r.stdout


def test_check_config_reports_file_line_and_problem(tmp_path):
    bad = tmp_path / "collector.yml"
    bad.write_text("collector:\n  http_listen: 127.0.0.1\n  colour: blue\nkeys:\n  - id: a\n    file: k\n"
                   "detection:\n  down_phi: lots\n")
    r = run(COLLECTOR, "--config", str(bad), "--check-config")
    assert r.returncode == 1
    assert f"{bad}:2: collector.http_listen: expected host:port" in r.stderr, r.stderr
    assert f"{bad}:3: unknown key 'collector.colour'" in r.stderr, r.stderr
    assert f"{bad}:8: detection.down_phi: expected a number" in r.stderr, r.stderr
    r = run(CTL, "check-config", str(bad))
    assert r.returncode == 1 and f"{bad}:2:" in r.stderr


def test_check_config_accepts_good_config_and_defaults(tmp_path):
    key = tmp_path / "k.key"
    assert run(CTL, "keygen", "--out", str(key)).returncode == 0
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    assert run(CTL, "keygen", "--out", str(key)).returncode == 1  # never overwrites silently
    good = tmp_path / "collector.yml"
    good.write_text(f"collector:\n  id: a\nkeys:\n  - id: fleet\n    file: {key}\n")
    r = run(COLLECTOR, "--config", str(good), "--check-config")
    assert r.returncode == 0, r.stderr
    defaults = tmp_path / "defaults.yml"
    defaults.write_text(run(COLLECTOR, "--print-default-config").stdout)
    r = run(COLLECTOR, "--config", str(defaults), "--check-config")
    assert r.returncode == 0, r.stderr


def test_missing_key_file_is_a_clear_error(tmp_path):
    cfg = tmp_path / "collector.yml"
    cfg.write_text("keys:\n  - id: fleet\n    file: /nonexistent/fleet.key\n")
    r = run(COLLECTOR, "--config", str(cfg), "--check-config")
    assert r.returncode == 1
    assert "/nonexistent/fleet.key" in r.stderr and "firewatchctl keygen" in r.stderr


def test_status_lists_sources(harness):
    collector = harness.collector_config().start()
    harness.agent_config("cli-01", [collector], interval="1s").start()
    collector.wait_state("cli-01", "UP", timeout=10)
    r = run(CTL, "status", "--collector", collector.url)
    assert r.returncode == 0, r.stderr
    assert "cli-01" in r.stdout and "UP" in r.stdout
    r = run(CTL, "status", "--collector", "http://127.0.0.1:1")
    assert r.returncode == 1 and "cannot reach" in r.stderr
