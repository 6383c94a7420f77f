"""deploy/examples/three-sites as a user runs it: three collectors on loopback (HTTP
9760/9770/9780, UDP 9761/9771/9781), one agent reporting to all three, SMTP on 2525 and
a Twilio-compatible API on 2526. They see each other, agree on the config, and a killed
agent is paged once between the three of them.

Everything runs from a copy in the test's temporary directory, without the data-a|b|c/ a
run by hand leaves in the example's directory (issue #17)."""
import json
import os
import re
import socket
import subprocess
import time

import pytest

from fwcluster import Page
from fwtest import AGENT, COLLECTOR, CTL, SOURCE_DIR, copy_example, http_get, wait_for, port_free
from paging import FakeTwilio, SmtpServer

EXAMPLE = os.path.join(SOURCE_DIR, "deploy", "examples", "three-sites")
HTTP = {"site-a": 9760, "site-b": 9770, "site-c": 9780}
FIXED_PORTS = [(p, socket.SOCK_STREAM) for p in (2525, 2526, 9760, 9770, 9780, 9762)] + \
              [(p, socket.SOCK_DGRAM) for p in (9761, 9771, 9781)]


def without_collector_section(path):
    """The file's lines outside its top-level `collector:` section (and its header)."""
    out, inside = [], False
    with open(path) as f:
        for line in f:
            if re.match(r"^\S", line):
                inside = line.startswith("collector:")
            if not inside:
                out.append(line)
    return out


def test_example_files_are_identical_outside_collector_and_valid(tmp_path):
    example = copy_example(EXAMPLE, str(tmp_path / "three-sites"))
    texts = {x: without_collector_section(os.path.join(example, f"{x}.yml")) for x in "abc"}
    assert texts["a"] == texts["b"] == texts["c"]
    for x in "abc":
        r = subprocess.run([COLLECTOR, "--config", os.path.join(example, f"{x}.yml"), "--check-config"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([CTL, "check-config", os.path.join(example, f"{x}.yml")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([AGENT, "--config", os.path.join(example, "agent.yml"), "--check-config"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for key in ("demo-fleet.key", "demo-cluster.key"):
        with open(os.path.join(example, key)) as f:
            assert "DEMO" in f.read()


def test_three_sites_example_syncs_and_pages_once(harness):
    for port, kind in FIXED_PORTS:
        if not port_free(port, kind):
            pytest.fail(f"port {port} is in use; the three-sites example uses 2525, 2526, 9760-9762, "
                        "9770-9771, 9780-9781")
    examples = copy_example(EXAMPLE, os.path.join(harness.dir, "three-sites"))  # data dirs land here
    assert not any(os.path.exists(os.path.join(examples, f"data-{x}")) for x in "abc")
    twilio = FakeTwilio("ACdemo0000000000000000000000000000", "demo-token-not-a-secret", port=2526)
    try:
        smtp = SmtpServer(harness, port=2525).start()
        collectors = {f"site-{x}": harness.start([COLLECTOR, "--config", os.path.join(examples, f"{x}.yml")],
                                                 f"example-site-{x}") for x in "abc"}
        for cid, port in HTTP.items():
            wait_for(lambda: http_get(f"http://127.0.0.1:{port}/readyz", timeout=1)[0] == 200, 20,
                     what=f"{cid} /readyz")
        for x in "abc":   # a run by hand says where its state is
            assert os.path.join(examples, f"data-{x}") in collectors[f"site-{x}"].output()
        agent = harness.start([AGENT, "--config", os.path.join(examples, "agent.yml")], "example-agent")

        def view(cid):
            status, body = http_get(f"http://127.0.0.1:{HTTP[cid]}/api/v1/collectors", timeout=2)
            assert status == 200, body
            return json.loads(body)

        def all_up():
            for cid in HTTP:
                peers = [m for m in view(cid)["collectors"] if not m["self"]]
                if len(peers) != 2 or any(m["state"] != "up" or m["config_matches"] is not True
                                          for m in peers):
                    return False
            return True
        wait_for(all_up, 15, interval=0.25, what="the three example collectors to see each other")
        assert len({view(cid)["config_digest"] for cid in HTTP}) == 1
        assert [m["id"] for m in view("site-b")["collectors"]] == ["site-a", "site-b", "site-c"]

        def agent_up_everywhere():
            for port in HTTP.values():
                body = http_get(f"http://127.0.0.1:{port}/api/v1/sources", timeout=1)[1]
                srcs = json.loads(body)["sources"]
                if len(srcs) != 1 or srcs[0]["state"] != "UP":
                    return False
            return True
        wait_for(agent_up_everywhere, 15, what="the example agent UP on all three collectors")

        agent.kill()
        killed = time.monotonic()
        # Detection (interval 5 s) + group_wait 25 s.
        wait_for(lambda: smtp.messages() and twilio.sent(), 60, interval=0.5,
                 what="an email and an SMS from the three-sites example")
        assert time.monotonic() - killed <= 60
        time.sleep(12)  # rank 2 would send a duplicate 2 x peer_timeout (5 s) after the owner
        mails = [Page(m) for m in smtp.messages()]
        assert [p.to for p in mails] == ["alice@example.com"], mails
        assert [s["To"] for s in twilio.sent()] == ["+15550100001"], twilio.sent()
        assert mails[0].sender == "site-a", mails     # the owner: first in the member list
        assert mails[0].dcs == {"site-a"}
        assert "Is the host powered" in mails[0].body
        assert twilio.errors == []
        assert all(p.alive() for p in collectors.values())
    finally:
        twilio.close()
