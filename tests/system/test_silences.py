"""Silences mute pages for matching alerts until they expire or are deleted, and survive
a collector restart; `firewatchctl silence` adds, lists and expires them."""
import calendar
import json
import os
import subprocess
import time

from fwtest import CTL, api_call, free_port, http_get, wait_for
from paging import SmtpServer, paging_config


def test_silence_mutes_until_expired_and_survives_restart(harness, twilio):
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    now = time.time()
    silence = {
        "matchers": [{"name": "source", "value": "db-03", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600)),
        "comment": "db-03 maintenance",
    }
    status, body = api_call(collector, "POST", "/api/v1/silences", silence)
    assert status == 200, body
    silence_id = body["silenceID"]
    status, body = api_call(collector, "POST", "/api/v1/silences", dict(silence, comment=""))
    assert status == 400 and "comment" in body["error"], body
    # createdBy is the token's operator: another name is refused.
    status, body = api_call(collector, "POST", "/api/v1/silences", dict(silence, createdBy="alice"))
    assert status == 400 and "createdBy" in body["error"], body

    agent = harness.agent_config("db-03", [collector], interval="1s").start()
    collector.wait_state("db-03", "UP", timeout=10)
    agent.proc.kill()
    collector.wait_state("db-03", "DOWN", timeout=20)
    time.sleep(4)  # two group intervals: a page, if the silence failed, would be out by now
    assert twilio.sent() == [] and smtp.messages() == []

    collector.proc.kill()
    collector.start()
    listed = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert [s["id"] for s in listed] == [silence_id]
    assert listed[0]["comment"] == "db-03 maintenance"

    assert listed[0]["createdBy"] == harness.operator
    status, body = api_call(collector, "DELETE", f"/api/v1/silences/{silence_id}")
    assert status == 200, body
    wait_for(lambda: len(twilio.sent()) == 1, 20, what="the page once the silence expired")
    assert twilio.sent()[0]["Body"].startswith("FIRING db-03 DOWN")


def ctl(*args, token_file=None):
    """firewatchctl with the operator token from $FIREWATCH_TOKEN_FILE (when given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWATCH_TOKEN")}
    if token_file:
        env["FIREWATCH_TOKEN_FILE"] = token_file
    r = subprocess.run([CTL, *args], capture_output=True, text=True, timeout=30, env=env)
    return r.returncode, r.stdout, r.stderr


def test_firewatchctl_silence_add_list_expire(harness):
    collector = harness.collector_config(extra=paging_config(harness, free_port(), free_port()))
    collector.start()
    url = ["--collector", collector.url]
    # Without a token the collector refuses, and firewatchctl says what to do.
    code, _, err = ctl("silence", "add", "source=web-1", "--comment", "x", *url)
    assert code == 1 and "answered 401" in err and "FIREWATCH_TOKEN" in err, err
    assert json.loads(http_get(collector.url + "/api/v1/silences")[1]) == []

    def as_operator(*args):
        return ctl(*args, token_file=harness.operator_token_file)

    code, out, err = as_operator("silence", "add", "source=web-1", "dc=~dc1.*", "--duration", "2h",
                         "--comment", "CHG-42 rack move", *url)
    assert code == 0, err
    silence_id = out.strip()
    assert len(silence_id) == 36 and "until" in err, (out, err)
    stored = json.loads(http_get(collector.url + "/api/v1/silences")[1])
    assert [s["id"] for s in stored] == [silence_id]
    s = stored[0]
    assert s["createdBy"] == harness.operator and s["comment"] == "CHG-42 rack move"
    assert sorted((m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in s["matchers"]) == [
        ("dc", "dc1.*", True, True), ("source", "web-1", False, True)]
    ends = calendar.timegm(time.strptime(s["endsAt"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert abs(ends - (time.time() + 7200)) < 60, s["endsAt"]

    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    code, out, err = as_operator("silence", "add", "team!=db", "source=db-9", "--until", until,
                         "--comment", "short one", *url)
    assert code == 0, err
    second_id = out.strip()

    code, out, err = as_operator("silence", "list", *url)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["ID", "STATE"]
    # Soonest end first; matchers and comment shown.
    assert lines[1].startswith(second_id) and "active" in lines[1] and "short one" in lines[1]
    assert lines[2].startswith(silence_id) and 'dc=~"dc1.*"' in lines[2], out

    code, out, err = as_operator("silence", "expire", silence_id, *url)
    assert code == 0 and out.strip() == f"expired {silence_id}", (out, err)
    code, out, _ = as_operator("silence", "list", *url)
    assert silence_id not in out and second_id in out
    code, out, _ = as_operator("silence", "list", "--all", *url)
    assert silence_id in out and "expired" in out
    code, out, _ = as_operator("silence", "list", "--json", *url)
    assert {s["id"] for s in json.loads(out)} == {silence_id, second_id}

    # The collector's 4xx message reaches the operator.
    code, _, err = as_operator("silence", "expire", silence_id, *url)
    assert code == 1 and "answered 400" in err and "expired" in err, err
    code, _, err = as_operator("silence", "expire", "no-such-id", *url)
    assert code == 1 and "answered 404" in err and "no-such-id" in err, err


def test_firewatchctl_silence_errors_are_clear(harness):
    dead = ["--collector", f"http://127.0.0.1:{free_port()}"]
    code, _, err = ctl("silence", "list", *dead)
    assert code == 1 and "cannot reach" in err, err
    code, _, err = ctl("silence", "add", "source=web-1", "--comment", "x", *dead)
    assert code == 1 and "cannot reach" in err, err
    # Checked before any request: bad matcher, bad time, a silence that mutes everything.
    code, _, err = ctl("silence", "add", "dc=~", "--comment", "x", *dead)
    assert code == 2 and "matcher 'dc=~'" in err, err
    code, _, err = ctl("silence", "add", "dc=dc1", "--until", "tomorrow", "--comment", "x", *dead)
    assert code == 2 and "--until 'tomorrow'" in err, err
    code, _, err = ctl("silence", "add", "dc=~.*", "--comment", "x", *dead)
    assert code == 2 and "matchers" in err, err
    code, _, err = ctl("silence", "add", "dc=dc1", *dead)  # --comment is required
    assert code != 0 and "comment" in err, err
    code, _, err = ctl("silence", "add", "dc=dc1", "--duration", "1h", "--until",
                       "2030-01-01T00:00:00Z", "--comment", "x", *dead)
    assert code != 0 and "excludes" in err, err
