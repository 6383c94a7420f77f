"""SIGHUP reloads alerting for real (docs/configuration.md, "Reload"): a new route, policy
and contact address page the new receiver through a real SMTP server; a file that names
a missing secret is refused whole and the running routing still pages; the config digest
peers compare follows the reload, so a two-collector cluster sees its mismatch appear
and disappear without a restart."""
import json
import os
import signal
import time

from fwcluster import Member, wait_all_peers_up, write_cluster
from fwtest import http_get, metric_value, wait_for
from paging import SmtpServer, paging_config


def status(collector):
    code, body = http_get(collector.url + "/api/v1/status")
    assert code == 200, body
    return json.loads(body)


def reloads(collector, result):
    return metric_value(collector.metrics(), "firewatch_config_reloads_total", {"result": result})


def sighup(collector, text, result):
    """Writes `text` as the collector's config, sends SIGHUP and waits until the reload is
    counted with `result` ("success" or "failure")."""
    before = reloads(collector, result)
    with open(collector.config_path, "w") as f:
        f.write(text)
    collector.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads(collector, result) == before + 1, 15,
             what=f"the reload to be counted as {result}")


# The reloaded file: bob (at a new address) is paged first, by email only, under a new
# policy the route now names.
NIGHT_POLICY = """  - name: night
    steps:
      - targets: [bob]
        channels: [email]
        wait: 1h
"""


def test_reload_routes_pages_to_the_new_receiver_and_a_bad_file_keeps_the_running_one(
        harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    with open(collector.config_path) as f:
        original = f.read()
    first = status(collector)["config"]
    assert first["last_reload_ok"] is True and first["reloads"] == 0
    text = collector.metrics()
    assert metric_value(text, "firewatch_config_last_reload_successful") == 1
    assert metric_value(text, "firewatch_config_last_reload_success_timestamp_seconds") > 0
    assert reloads(collector, "success") == 0 and reloads(collector, "failure") == 0

    changed = (original.replace("bob@example.com", "bob-oncall@example.com")
               .replace("escalation_policies:\n", "escalation_policies:\n" + NIGHT_POLICY, 1)
               .replace("route:\n  escalation_policy: default", "route:\n  escalation_policy: night"))
    assert changed.count("bob-oncall@example.com") == 1 and "escalation_policy: night" in changed
    sighup(collector, changed, "success")
    after = status(collector)["config"]
    assert after["digest"] != first["digest"] and after["reloads"] == 1
    out = collector.proc.output()
    assert "SIGHUP: alerting: contacts: ~bob" in out, out
    assert "SIGHUP: alerting: escalation_policies: +night" in out, out

    # A file naming a secret file that does not exist: refused whole, with file and line.
    bad = changed.replace("bob-oncall@example.com", "mallory@example.com").replace(
        os.path.join(harness.dir, "twilio.token"), os.path.join(harness.dir, "missing.token"))
    sighup(collector, bad, "failure")
    out = collector.proc.output()
    assert "config not reloaded, keeping the running one" in out
    assert os.path.basename(collector.config_path) + ":" in out.split("config not reloaded")[-1]
    assert "missing.token" in out.split("config not reloaded")[-1]
    assert status(collector)["config"]["digest"] == after["digest"]
    assert status(collector)["config"]["last_reload_ok"] is False
    assert metric_value(collector.metrics(), "firewatch_config_last_reload_successful") == 0

    # The routing of the good reload pages: bob at his new address, by email only.
    agent = harness.agent_config("db-reload", [collector], interval="1s").start()
    collector.wait_state("db-reload", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(smtp.messages()) == 1, 30, what="the email page to bob")
    mail = smtp.messages()[0]
    assert mail["To"] == "bob-oncall@example.com", mail["To"]
    assert "db-reload" in mail["Subject"]
    # Nobody else: the old policy's first step (alice, email + SMS) would be due now too.
    time.sleep(2)  # an absence can only be observed by waiting past its due time
    assert len(smtp.messages()) == 1 and twilio.sent() == []


def test_an_incident_in_flight_keeps_its_removed_policy_until_it_resolves(harness, twilio):
    smtp = SmtpServer(harness).start()
    # default: alice (email + SMS) at once, bob 12 s later.
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="12s")).start()
    agent = harness.agent_config("db-flight", [collector], interval="1s").start()
    collector.wait_state("db-flight", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(smtp.messages()) == 1 and len(twilio.sent()) == 1, 30,
             what="alice's first page")
    with open(collector.config_path) as f:
        original = f.read()
    # The file renames the policy: "default" is gone; new incidents page alice only.
    day = """  - name: day
    steps:
      - targets: [alice]
        channels: [email]
        wait: 1h
"""
    start = original.index("  - name: default\n")
    end = original.index("route:\n")
    renamed = (original[:start] + day + original[end:]).replace(
        "escalation_policy: default", "escalation_policy: day")
    sighup(collector, renamed, "success")
    out = collector.proc.output()
    assert "kept for incidents in flight until they resolve: policies default" in out, out
    # The open incident still reaches its second step (bob), from the carried policy.
    wait_for(lambda: any(m["To"] == "bob@example.com" for m in smtp.messages()), 30,
             what="bob's page from the removed policy's second step")
    assert [m["To"] for m in smtp.messages()].count("alice@example.com") == 1


def test_cluster_sees_the_digest_mismatch_appear_and_disappear_after_a_reload(harness, twilio):
    smtp = SmtpServer(harness)  # never paged here
    members = [Member("site-a"), Member("site-b")]
    a, b = write_cluster(harness, members, f"127.0.0.1:{smtp.port}", f"127.0.0.1:{twilio.port}")
    for c in (a, b):
        c.start(wait_ready=False)
    for c in (a, b):
        wait_for(c._ready, 20, what=f"{c.name} /readyz")
    wait_all_peers_up([a, b], timeout=15)

    def matches(c, peer):
        return c.peers()[peer]["config_matches"]
    assert matches(a, "site-b") and matches(b, "site-a")
    with open(b.config_path) as f:
        original = f.read()

    # site-b gets another phone number for bob: both sides report the mismatch.
    assert '"+15550100002"' in original
    sighup(b, original.replace('"+15550100002"', '"+15550100009"'), "success")
    wait_for(lambda: not matches(a, "site-b") and not matches(b, "site-a"), 10, interval=0.25,
             what="the mismatch on both collectors")
    assert a.collectors()["config_digest"] != b.collectors()["config_digest"]
    assert status(b)["config"]["digest"] == b.collectors()["config_digest"]
    wait_for(lambda: metric_value(a.metrics(), "firewatch_cluster_config_mismatch",
                                  {"peer": "site-b"}) == 1, 5, what="the mismatch metric")

    # The file back as it was: the mismatch goes away, still without a restart.
    sighup(b, original, "success")
    wait_for(lambda: matches(a, "site-b") and matches(b, "site-a"), 10, interval=0.25,
             what="the configs to match again")
    assert a.collectors()["config_digest"] == b.collectors()["config_digest"]
    wait_for(lambda: metric_value(a.metrics(), "firewatch_cluster_config_mismatch",
                                  {"peer": "site-b"}) == 0, 5, what="the mismatch metric at 0")
    assert b.proc.alive() and a.proc.alive()
