"""Makes the SQLite files of a real collector run and dumps them as text SQL, for the
forward-migration unit tests (tests/testdata/storage/README.md). Not a ctest (the name does
not start with test_): run it by hand with the build of the release to capture, e.g.

    FIREWATCH_BIN_DIR=build FIREWATCH_DUMP_DIR=tests/testdata/storage \\
        python3 -m pytest -q -p no:cacheprovider tests/system/storage_dumps.py

What it leaves in the files: source db-01 (DOWN, with its transitions), one incident
(acked), one silence, and the notifications of the page and of the ack announcement.
"""
import os
import subprocess
import time

import pytest

from fwtest import api_call, wait_for
from paging import SmtpServer, paging_config


def dump(path, out):
    """`sqlite3 file .dump`, plus the two header fields .dump does not carry."""
    text = subprocess.run(["sqlite3", path, ".dump"], check=True, capture_output=True,
                          text=True).stdout
    header = []
    for pragma in ("application_id", "user_version"):
        value = subprocess.run(["sqlite3", path, f"PRAGMA {pragma}"], check=True,
                               capture_output=True, text=True).stdout.strip()
        header.append(f"PRAGMA {pragma} = {value};")
    with open(out, "w") as f:
        f.write(text + "\n".join(header) + "\n")


def test_make_storage_dumps(harness, twilio):
    out_dir = os.environ.get("FIREWATCH_DUMP_DIR")
    if not out_dir:
        pytest.skip("set FIREWATCH_DUMP_DIR to the folder that receives the dumps")
    smtp = SmtpServer(harness).start()
    collector = harness.collector_config(extra=paging_config(harness, smtp.port, twilio.port,
                                                             wait="1h")).start()
    agent = harness.agent_config("db-01", [collector], interval="1s").start()
    collector.wait_state("db-01", "UP", timeout=10)
    agent.proc.kill()
    wait_for(lambda: len(twilio.sent()) == 1, 30, what="the SMS page")
    incident_id = twilio.sent()[0]["Body"].rsplit(" ", 1)[1]
    status, body = api_call(collector, "POST", f"/api/v1/ack/{incident_id}")
    assert status == 200, body
    now = time.time()
    silence = {
        "matchers": [{"name": "source", "value": "db-02", "isRegex": False, "isEqual": True}],
        "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 5)),
        "endsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 10 * 365 * 86400)),
        "comment": "db-02 maintenance",
    }
    status, body = api_call(collector, "POST", "/api/v1/silences", silence)
    assert status == 200, body
    wait_for(lambda: len(twilio.sent()) == 2, 15, what="the ack announcement")
    collector.proc.stop()  # SIGTERM: a clean close checkpoints the WAL
    for name in ("collector", "outbox", "incidents"):
        dump(os.path.join(collector.data_dir, name + ".db"), os.path.join(out_dir, name + ".sql"))
