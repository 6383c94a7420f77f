"""deploy/examples/collector.yml and agent.yml, as a new user runs them: an SMTP server on
127.0.0.1:2525 and a Twilio-compatible API on 127.0.0.1:2526 (fixed by the example), the
collector on 9760/9761. A killed agent gives one email and one SMS within 30 s, and the
README's ack command (with the demo operator token) acks it.

The configs run from a copy in the test's temporary directory, without the state a run by
hand leaves in deploy/examples/firewatch-data/ (issue #17: a leftover outbox was delivered
into this test's SMTP server)."""
import json
import os
import socket
import subprocess
import time

import pytest

from fwtest import AGENT, COLLECTOR, CTL, SOURCE_DIR, copy_example, http_get, wait_for, port_free
from paging import FakeTwilio, SmtpServer

FIXED_PORTS = ((2525, socket.SOCK_STREAM), (2526, socket.SOCK_STREAM), (9760, socket.SOCK_STREAM),
               (9761, socket.SOCK_DGRAM), (9762, socket.SOCK_STREAM))


def test_example_configs_page_by_email_and_sms(harness):
    for port, kind in FIXED_PORTS:
        if not port_free(port, kind):
            pytest.fail(f"port {port} is in use; the example configs use 2525, 2526, 9760-9762")
    # The examples use paths relative to their own directory: run a copy in the temp dir.
    examples = copy_example(os.path.join(SOURCE_DIR, "deploy", "examples"),
                            os.path.join(harness.dir, "examples"))
    data_dir = os.path.join(examples, "firewatch-data")
    assert not os.path.exists(data_dir)
    twilio = FakeTwilio("ACdemo0000000000000000000000000000", "demo-token-not-a-secret", port=2526)
    try:
        smtp = SmtpServer(harness, port=2525).start()
        collector = harness.start([COLLECTOR, "--config", os.path.join(examples, "collector.yml")],
                                  "example-collector")
        wait_for(lambda: http_get("http://127.0.0.1:9760/readyz", timeout=1)[0] == 200, 20,
                 what="the example collector")
        assert data_dir in collector.output()   # a run by hand says where its state is
        agent = harness.start([AGENT, "--config", os.path.join(examples, "agent.yml")], "example-agent")

        def agent_up():
            import json
            body = http_get("http://127.0.0.1:9760/api/v1/sources", timeout=1)[1]
            return any(s["state"] == "UP" for s in json.loads(body)["sources"])
        wait_for(agent_up, 15, what="the example agent to be UP")

        agent.kill()
        killed = time.monotonic()
        wait_for(lambda: len(smtp.messages()) >= 1 and len(twilio.sent()) >= 1, 30,
                 what="an email and an SMS from the example config")
        assert time.monotonic() - killed <= 30
        assert [m["To"] for m in smtp.messages()] == ["alice@example.com"]
        assert [s["To"] for s in twilio.sent()] == ["+15550100001"]
        assert twilio.errors == []
        assert "Is the host powered" in smtp.messages()[0].get_payload(decode=True).decode()
        assert collector.alive()

        # README: "Ack it ... as the demo operator" (without a token: 401).
        incident_id = twilio.sent()[0]["Body"].rsplit(" ", 1)[1]
        ack = [CTL, "ack", incident_id, "--collector", "http://127.0.0.1:9760"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWATCH_TOKEN")}
        r = subprocess.run(ack, capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 1 and "401" in r.stderr, r.stderr
        r = subprocess.run([CTL, "--token-file", os.path.join(examples, "demo-operator.token"), *ack[1:]],
                           capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 0 and f"acknowledged {incident_id}" in r.stdout, r.stderr
        listed = json.loads(http_get("http://127.0.0.1:9760/api/v1/incidents")[1])["incidents"]
        assert [(i["id"], i["acked_by"]) for i in listed] == [(incident_id, "demo")]
    finally:
        twilio.close()


def test_copy_example_leaves_state_of_a_run_by_hand_behind(tmp_path):
    src = tmp_path / "examples"
    (src / "firewatch-data").mkdir(parents=True)
    (src / "firewatch-data" / "outbox.db").write_text("a page for bob")
    (src / "three-sites" / "data-a").mkdir(parents=True)
    (src / "collector.yml").write_text("collector: {}\n")
    (src / "demo-twilio.token").write_text("token\n")
    dst = copy_example(str(src), str(tmp_path / "copy"))
    assert sorted(os.listdir(dst)) == ["collector.yml", "demo-twilio.token"]
