"""The status page in a real browser (headless Chromium over DevTools): it loads with no
external assets, groups sources by failure domain with what is not UP first, shows a DOWN
source after its agent is killed, shows the incident with who was paged, filters, and acks
the incident from the page. A screenshot is kept as an artifact of the run
(<build>/test-artifacts/status-page.png)."""
import json
import os
import shutil

from browser import Browser
from fwtest import BIN_DIR, http_get, wait_for
from incident_life import start_paging_collector

ROWS = "Array.from(document.querySelectorAll('#rows tr.row-{state} td.id')).map(e => e.textContent)"
GROUPS = "Array.from(document.querySelectorAll('#rows tr.group')).map(r => r.getAttribute('data-domain'))"


def test_status_page_shows_what_is_down_and_acks_from_the_page(harness, twilio):
    smtp, collector, inbox = start_paging_collector(harness, twilio, step_wait="1h")
    collector.start()
    harness.agent_config("web-01", [collector], labels={"dc": "dc1", "role": "web"}).start()
    db = harness.agent_config("db-01", [collector], labels={"dc": "dc2", "role": "db"}).start()
    collector.wait_state("web-01", "UP", timeout=10)
    collector.wait_state("db-01", "UP", timeout=10)

    browser = Browser(harness).connect()
    try:
        browser.open(collector.url + "/")
        # Rendered by the server, then by the script (which refreshes every 5 s).
        wait_for(lambda: browser.eval("document.body.getAttribute('data-rendered')") == "js", 15,
                 what="the page's script to render")
        assert browser.eval(GROUPS) == ["dc1", "dc2"]
        assert browser.eval("document.getElementById('incidents').hidden") is False
        # No stale or isolation banner while the collector answers and hears its sources.
        assert browser.eval("document.getElementById('stale').offsetHeight") == 0
        assert browser.eval("document.getElementById('isolated-banner')") is None
        # Self-contained: no resource came from anywhere but this collector.
        origins = browser.eval("performance.getEntriesByType('resource').map(e => e.name)")
        assert all(o.startswith(collector.url) for o in origins), origins

        db.proc.kill()
        wait_for(lambda: browser.eval(ROWS.format(state="DOWN")) == ["db-01"], 30,
                 what="db-01 DOWN on the page")
        assert browser.eval(GROUPS)[0] == "dc2", "the domain with a DOWN source comes first"
        wait_for(lambda: browser.eval("document.querySelectorAll('#incident-rows tr.incident').length") == 1,
                 15, what="the incident on the page")
        wait_for(lambda: "alice" in browser.eval("document.querySelector('#incident-rows tr.incident').textContent"),
                 15, what="who was paged")
        incident_id = browser.eval("document.querySelector('#incident-rows tr.incident').getAttribute('data-incident')")

        # Search: only web-01 is left.
        browser.eval("var f = document.getElementById('filter'); f.value = 'role=web';"
                     "f.dispatchEvent(new Event('input'))")
        assert browser.eval("Array.from(document.querySelectorAll('#rows td.id')).map(e => e.textContent)") == ["web-01"]
        browser.eval("var f = document.getElementById('filter'); f.value = '';"
                     "f.dispatchEvent(new Event('input'))")

        # Ack from the page, with the operator's token typed into the page's token field.
        browser.eval(f"document.getElementById('token').value = '{harness.operator_token}'")
        browser.eval(f"document.querySelector('button.ack[data-id=\"{incident_id}\"]').click()")

        def acked():
            status, body = http_get(collector.url + "/api/v1/incidents")
            return {i["id"]: i for i in json.loads(body)["incidents"]}[incident_id]["state"] == "acked"
        wait_for(acked, 10, what="the ack made on the page")
        wait_for(lambda: "acked" in browser.eval("document.querySelector('#incident-rows tr.incident').textContent"),
                 10, what="the page to show the ack")
        assert "acknowledged" in browser.eval("document.getElementById('action-result').textContent")
        acked_by = {i["id"]: i for i in json.loads(http_get(collector.url + "/api/v1/incidents")[1])["incidents"]}
        assert acked_by[incident_id]["acked_by"] == harness.operator, acked_by

        shot = browser.screenshot(os.path.join(harness.dir, "status-page.png"))
        artifacts = os.path.join(BIN_DIR, "test-artifacts")
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, os.path.join(artifacts, "status-page.png"))
        assert os.path.getsize(shot) > 10_000
    finally:
        browser.close()
