"""Issue #13: GET /api/v1/sources a page at a time, with filters, over the real collector.

Signed heartbeats (fwtest.encode_frame, over POST /api/v1/heartbeat so none is lost) make
60 sources in two dcs, some STOPPED; then a walk page by page lists each exactly once
while more sources arrive between pages, the filters select what they say, bad
parameters are 400 naming what is wrong, `firewatchctl status` follows the pages, and the
status page lists what is not UP first.
"""
import json
import os
import subprocess
import urllib.parse

from fwtest import CTL, encode_frame, http_get, http_post, wait_for


def post_beat(harness, collector, source_id, boot, labels, goodbye=None):
    frame = encode_frame(harness.key, "fleet", source_id, boot, 1, interval_ms=60000,
                         labels=labels, goodbye=goodbye)
    status, body = http_post(collector.url + "/api/v1/heartbeat", frame)
    assert status == 204, body


def get(collector, query):
    status, body = http_get(collector.url + "/api/v1/sources?" + query)
    return status, json.loads(body)


def test_pages_filters_and_errors(harness):
    collector = harness.collector_config().start()
    boot = os.urandom(16)
    for i in range(60):
        post_beat(harness, collector, f"host-{i:02d}", boot,
                  {"dc": "dc2" if i % 3 == 0 else "dc1", "role": "web"},
                  goodbye="maintenance" if i % 10 == 0 else None)
    wait_for(lambda: get(collector, "limit=1")[1]["total"] == 60, 10, what="60 sources")

    # The walk: every source once, also those that arrive between pages (they come last).
    seen, query, added = [], "limit=7", 0
    while True:
        status, page = get(collector, query)
        assert status == 200, page
        assert len(page["sources"]) <= 7
        seen += [s["source_id"] for s in page["sources"]]
        if page["next"] is None:
            break
        added += 1
        post_beat(harness, collector, f"late-{added}", boot, {"dc": "dc1"})
        query = "limit=7&after=" + urllib.parse.quote(page["next"])
    assert len(seen) == len(set(seen)) == 60 + added
    assert seen[:3] == ["host-00", "host-01", "host-02"]  # first contact first

    status, page = get(collector, "state=STOPPED")
    assert status == 200 and page["matched"] == 6
    assert {s["state"] for s in page["sources"]} == {"STOPPED"}
    status, page = get(collector, "match[]=" + urllib.parse.quote('dc="dc2"') + "&state=up")
    assert status == 200 and page["matched"] == 20 - 2  # host-00, -30 are STOPPED
    status, page = get(collector, "q=HOST-5&match=role=~" + urllib.parse.quote('"w.b"'))
    assert [s["source_id"] for s in page["sources"]] == [f"host-5{i}" for i in range(10)]

    for query, needle in (("limit=0", "limit"), ("limit=5001", "limit"),
                          ("state=UP,GONE", "GONE"), ("match[]=dc", "match[]"),
                          ("after=123", "cursor"), ("q=" + "x" * 300, "q:")):
        status, body = http_get(collector.url + "/api/v1/sources?" + query)
        assert status == 400, (query, body)
        assert needle in json.loads(body)["error"], (query, body)

    # firewatchctl status reads every page (one here: it asks for 5,000 at a time).
    r = subprocess.run([CTL, "status", "--collector", collector.url, "--json"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    assert len(listed["sources"]) == 60 + added and "next" not in listed

    # The status page: what is not UP before the UP sources.
    html = http_get(collector.url + "/")[1].decode()
    assert html.index(">host-10<") < html.index(">host-01<")
    assert '<b id="count-total">' + str(60 + added) + "</b>" in html
