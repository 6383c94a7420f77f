"""The command lines: --help, --check-config with file:line errors (alerting keys too),
keygen, token, status/sources, incidents, ack, resolve, test-page, completion; exit codes.
`firewatchctl silence` is in test_silences.py."""
import os
import re
import signal
import json
import subprocess

from fwtest import AGENT, COLLECTOR, CTL, free_port, token_sha256, wait_for
from paging import FakeTwilio, SmtpServer, paging_config


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


def test_incidents_lists_who_was_paged_and_who_acked(harness):
    twilio = FakeTwilio("ACtest", "demo-token")
    smtp = SmtpServer(harness).start()
    try:
        collector = harness.collector_config(
            extra=paging_config(harness, smtp.port, twilio.port, wait="1h")).start()
        agent = harness.agent_config("cli-02", [collector], interval="1s").start()
        collector.wait_state("cli-02", "UP", timeout=10)
        r = run(CTL, "incidents", "--collector", collector.url)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("0 incident(s) open or acked"), r.stdout

        agent.proc.kill()
        wait_for(lambda: len(twilio.sent()) == 1 and len(smtp.messages()) == 1, 30,
                 what="alice's page")
        incident_id = twilio.sent()[0]["Body"].rsplit(" ", 1)[1]

        def row():
            r = run(CTL, "incidents", "--collector", collector.url)
            assert r.returncode == 0, r.stderr
            return next((line for line in r.stdout.splitlines() if line.startswith(incident_id)), "")
        line = wait_for(lambda: "alice" in row() and row(), 10, what="the incident with alice paged")
        assert " open " in line and " 0 " in line and "source=cli-02" in line, line

        r = run(CTL, "ack", incident_id, "--collector", collector.url,
                "--token-file", harness.operator_token_file)
        assert r.returncode == 0, r.stderr
        line = row()
        assert " acked " in line and harness.operator in line, line

        r = run(CTL, "incidents", "--json", "--collector", collector.url)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert [i["id"] for i in doc["incidents"]] == [incident_id]
        assert {p["contact"] for p in doc["incidents"][0]["paged"]} == {"alice"}

        agent.start()  # recovers: resolved, listed only with --all
        wait_for(lambda: incident_id not in run(CTL, "incidents", "--collector", collector.url).stdout,
                 20, what="the resolved incident to leave the default list")
        r = run(CTL, "incidents", "--all", "--collector", collector.url)
        assert r.returncode == 0 and incident_id in r.stdout and "resolved" in r.stdout, r.stdout
    finally:
        twilio.close()
    r = run(CTL, "incidents", "--collector", "http://127.0.0.1:1")
    assert r.returncode == 1 and "cannot reach" in r.stderr


def test_resolve_by_hand_with_a_comment_tables_json_and_exit_codes(harness):
    twilio = FakeTwilio("ACtest", "demo-token")
    smtp = SmtpServer(harness).start()
    try:
        collector = harness.collector_config(
            extra=paging_config(harness, smtp.port, twilio.port, wait="1h")).start()
        agent = harness.agent_config("cli-03", [collector], interval="1s").start()
        collector.wait_state("cli-03", "UP", timeout=10)
        agent.proc.kill()
        wait_for(lambda: len(twilio.sent()) == 1, 30, what="alice's page")
        incident_id = twilio.sent()[0]["Body"].rsplit(" ", 1)[1]
        token = ["--token-file", harness.operator_token_file, "--collector", collector.url]

        r = run(CTL, "resolve", incident_id, "--comment", "rebooted by hand", *token)
        assert r.returncode == 0, r.stderr
        header, row = r.stdout.splitlines()[:2]
        assert header.split() == ["ID", "STATE", "RESOLVED", "BY", "STILL", "FIRING"], r.stdout
        assert row.split() == [incident_id, "resolved", harness.operator, "cli-03"], r.stdout
        assert "still firing: no new incident until" in r.stdout, r.stdout
        wait_for(lambda: any(s["Body"].startswith("RESOLVED") for s in twilio.sent()), 15,
                 what="alice's RESOLVED")

        r = run(CTL, "resolve", incident_id, "--json", *token)  # again: nothing changes
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["state"] == "resolved" and doc["resolved_by"] == harness.operator, doc
        assert doc["resolve_comment"] == "rebooted by hand", doc
        r = run(CTL, "incidents", "--all", "--collector", collector.url)
        assert incident_id in r.stdout and "resolved" in r.stdout, r.stdout

        r = run(CTL, "resolve", "NOSUCH", *token)
        assert r.returncode == 1 and "no incident NOSUCH" in r.stderr and "404" in r.stderr, r.stderr
        r = run(CTL, "resolve", incident_id, "--comment", "x" * 1025, *token)
        assert r.returncode == 1 and "1024" in r.stderr, r.stderr
        r = run(CTL, "resolve", incident_id, "--collector", collector.url)  # no token
        assert r.returncode == 1 and "401" in r.stderr, r.stderr
        assert run(CTL, "resolve").returncode == 2  # no id: a usage error
    finally:
        twilio.close()
    r = run(CTL, "resolve", "NOSUCH", "--collector", "http://127.0.0.1:1")
    assert r.returncode == 1 and "cannot reach" in r.stderr


def test_sources_alias_completion_and_exit_codes(harness):
    r = run(CTL, "completion", "bash")
    assert r.returncode == 0, r.stderr
    for word in ("status", "sources", "incidents", "silence", "ack", "resolve", "completion"):
        assert f" {word} " in r.stdout or f'"{word} ' in r.stdout, (word, r.stdout)
    syntax = subprocess.run(["bash", "-n"], input=r.stdout, text=True, capture_output=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    assert run(CTL, "completion", "zsh").returncode == 2  # a usage error
    assert run(CTL, "no-such-command").returncode != 0
    assert "Exit codes: 0" in run(CTL, "--help").stdout
    r = run(CTL, "sources", "--collector", "http://127.0.0.1:1")
    assert r.returncode == 1 and "cannot reach" in r.stderr


def test_test_page_sends_one_sms_through_the_channel(harness):
    twilio = FakeTwilio("ACtest", "demo-token")
    try:
        # No collector runs: test-page talks to the channel directly. The SMTP port is
        # closed on purpose; only the sms channel is used.
        collector = harness.collector_config(extra=paging_config(harness, free_port(), twilio.port))
        r = run(CTL, "test-page", "--config", collector.config_path, "--channel", "sms")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "delivered" in r.stdout
        sent = twilio.sent()
        assert len(sent) == 1, sent
        assert sent[0]["To"] == "+15550100001"  # the first contact (alice)
        assert "test" in sent[0]["Body"].lower()
        assert twilio.errors == []

        r = run(CTL, "test-page", "--config", collector.config_path, "--channel", "sms",
                "--contact", "bob")
        assert r.returncode == 0, r.stdout + r.stderr
        assert twilio.sent()[-1]["To"] == "+15550100002"

        r = run(CTL, "test-page", "--config", collector.config_path, "--channel", "pager")
        assert r.returncode == 1
        assert "pager" in r.stderr and "email, sms" in r.stderr, r.stderr

        r = run(CTL, "test-page", "--config", collector.config_path, "--channel", "email")
        assert r.returncode == 1  # nothing listens on the SMTP port
        assert "failed (retryable)" in r.stdout, r.stdout + r.stderr
        assert len(twilio.sent()) == 2
    finally:
        twilio.close()


def test_test_page_without_alerting_is_a_clear_error(harness):
    collector = harness.collector_config()
    r = run(CTL, "test-page", "--config", collector.config_path, "--channel", "sms")
    assert r.returncode == 1 and "no alerting channels" in r.stderr, r.stderr


def test_ack_unknown_incident_and_unreachable_collector(harness):
    twilio = FakeTwilio("ACtest", "demo-token")
    try:
        collector = harness.collector_config(
            extra=paging_config(harness, free_port(), twilio.port)).start()
        r = run(CTL, "ack", "NOSUCH", "--collector", collector.url,
                "--token-file", harness.operator_token_file)
        assert r.returncode == 1
        assert "no incident NOSUCH" in r.stderr and "404" in r.stderr, r.stderr
        r = run(CTL, "ack", "NOSUCH", "--collector", collector.url)  # no token
        assert r.returncode == 1 and "401" in r.stderr and "token create" in r.stderr, r.stderr
    finally:
        twilio.close()
    r = run(CTL, "ack", "NOSUCH", "--collector", "http://127.0.0.1:1")
    assert r.returncode == 1 and "cannot reach" in r.stderr


def test_check_config_channel_rate_limit_and_outbox_retention(harness):
    base = paging_config(harness, free_port(), free_port())
    sms_from = '    from: "+15550100000"\n'
    assert sms_from in base and "\nalerting:\n" in base

    def config(rate_limit, retention):
        extra = base.replace(sms_from, sms_from + f"    rate_limit: {rate_limit}\n")
        extra = extra.replace("\nalerting:\n", f"\nalerting:\n  outbox_retention: {retention}\n")
        return harness.collector_config(extra=extra).config_path

    path = config("{count: 100, per: 1m}", "7d")
    r = run(CTL, "check-config", path)
    assert r.returncode == 0, r.stderr
    path = config("{count: 0, per: 1m}", "1h")
    r = run(COLLECTOR, "--config", path, "--check-config")
    assert r.returncode == 1
    assert "channels[1].rate_limit.count: must be between 1 and 1000000, got 0" in r.stderr, r.stderr
    assert "alerting.outbox_retention: must be between" in r.stderr, r.stderr
    assert f"{path}:" in r.stderr


def test_token_create_prints_a_token_and_its_config_line(harness):
    r = run(CTL, "token", "create", "alice")
    assert r.returncode == 0, r.stderr
    token = re.search(r"^  (fwop_[A-Za-z0-9_-]{43})$", r.stdout, re.M).group(1)
    line = re.search(r"^  - \{name: alice, token_sha256: ([0-9a-f]{64})\}$", r.stdout, re.M)
    assert line and line.group(1) == token_sha256(token), r.stdout
    # Into files: the token (0600, never replaced) and the collector's operators file.
    ops = os.path.join(harness.dir, "operators.yml")
    out = os.path.join(harness.dir, "bob.token")
    r = run(CTL, "token", "create", "bob", "--operators-file", ops, "--out", out)
    assert r.returncode == 0, r.stderr
    assert oct(os.stat(out).st_mode & 0o777) == "0o600" and oct(os.stat(ops).st_mode & 0o777) == "0o600"
    with open(out) as f:
        bob = f.read().strip()
    with open(ops) as f:
        assert token_sha256(bob) in f.read() and bob not in open(ops).read()
    assert run(CTL, "token", "create", "bob", "--out", out).returncode == 1
    assert run(CTL, "token", "create", "bad name").returncode == 2
    # The collector accepts it from the file; revoking it takes effect on SIGHUP.
    twilio = FakeTwilio("ACtest", "demo-token")
    try:
        collector = harness.collector_config(
            extra=paging_config(harness, free_port(), twilio.port) + f"api:\n  operators_file: {ops}\n")
        collector.start()
        ack = [CTL, "ack", "NOSUCH", "--collector", collector.url, "--token-file", out]
        r = run(*ack)
        assert "answered 404" in r.stderr, r.stderr  # authenticated: no such incident
        assert run(CTL, "token", "revoke", "bob", "--operators-file", ops).returncode == 0
        collector.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "answered 401" in run(*ack).stderr, 10, what="the revoked token refused")
    finally:
        twilio.close()
