"""The status page in a real browser (headless Chromium over DevTools): it loads with no
external assets, groups sources by failure domain with what is not UP first, shows a DOWN
source after its agent is killed, shows the incident with who was paged, filters, and acts
from the page with the operator token pasted into it: ack, resolve (with a comment),
silence a source for a while and expire that silence, each checked through the API; a
refusal (a wrong token) is shown on the page. A screenshot is kept as an artifact of the run
(<build>/test-artifacts/status-page.png)."""
import datetime
import json
import os
import shutil
import time

from browser import Browser
from fwtest import BIN_DIR, http_get, wait_for
from incident_life import start_paging_collector

ROWS = "Array.from(document.querySelectorAll('#rows tr.row-{state} td.id')).map(e => e.textContent)"
GROUPS = "Array.from(document.querySelectorAll('#rows tr.group')).map(r => r.getAttribute('data-domain'))"


def incident(collector, incident_id):
    return {i["id"]: i for i in json.loads(http_get(collector.url + "/api/v1/incidents")[1])["incidents"]}[incident_id]


def silences(collector):
    return json.loads(http_get(collector.url + "/api/v1/silences")[1])


def iso_ms(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def test_status_page_shows_what_is_down_and_acts_from_the_page(harness, twilio):
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

        # The token is kept in the tab's sessionStorage, and never went into a URL.
        assert browser.eval("sessionStorage.getItem('firewatch-token')") == harness.operator_token
        names = browser.eval("performance.getEntriesByType('resource').map(e => e.name)")
        assert not any(harness.operator_token in n for n in names), names

        # Resolve from the page, with a comment: the host is still DOWN.
        browser.eval("document.getElementById('comment').value = 'fixed from the page'")
        browser.eval(f"document.querySelector('button.resolve[data-id=\"{incident_id}\"]').click()")
        wait_for(lambda: incident(collector, incident_id)["state"] == "resolved", 10,
                 what="the resolve made on the page")
        inc = incident(collector, incident_id)
        assert inc["resolved_by"] == harness.operator and inc["resolve_comment"] == "fixed from the page", inc
        wait_for(lambda: "resolved " + incident_id in browser.eval(
                     "document.getElementById('action-result').textContent"),
                 10, what="the page to say it resolved")
        wait_for(lambda: "resolved by " + harness.operator in browser.eval(
                     "document.querySelector('#incident-rows tr.incident').textContent"),
                 10, what="the page to show who resolved it")

        # A refusal is shown as the API gave it: a wrong token.
        browser.eval("document.getElementById('token').value = 'fwop_not-a-token'")
        browser.eval("document.getElementById('silence-source').value = 'db-01'")
        browser.eval("document.getElementById('silence-add').click()")
        wait_for(lambda: "HTTP 401" in browser.eval("document.getElementById('silence-result').textContent"),
                 10, what="the 401 shown on the page")
        assert browser.eval("document.getElementById('silence-result').className") == "error"
        assert silences(collector) == []

        # Silence db-01 for 2h from the page, then expire it from the page.
        browser.eval(f"document.getElementById('token').value = '{harness.operator_token}'")
        browser.eval("document.getElementById('silence-alert').value = 'SourceDown';"
                     "document.getElementById('silence-duration').value = '2h';"
                     "document.getElementById('comment').value = 'rack move, CHG-3'")
        browser.eval("document.getElementById('silence-add').click()")
        wait_for(lambda: len(silences(collector)) == 1, 10, what="the silence made on the page")
        [silence] = silences(collector)
        assert silence["createdBy"] == harness.operator and silence["comment"] == "rack move, CHG-3"
        assert sorted((m["name"], m["value"], m["isRegex"], m["isEqual"]) for m in silence["matchers"]) == [
            ("alertname", "SourceDown", False, True), ("source", "db-01", False, True)], silence
        length = iso_ms(silence["endsAt"]) - iso_ms(silence["startsAt"])
        assert 2 * 3600_000 - 120_000 <= length <= 2 * 3600_000 + 60_000, silence
        wait_for(lambda: browser.eval(f"document.querySelector('#silence-list li[data-silence=\"{silence['id']}\"]') !== null"),
                 10, what="the silence listed on the page")

        shot = browser.screenshot(os.path.join(harness.dir, "status-page.png"))
        artifacts = os.path.join(BIN_DIR, "test-artifacts")
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(shot, os.path.join(artifacts, "status-page.png"))
        assert os.path.getsize(shot) > 10_000

        browser.eval(f"document.querySelector('button.expire[data-id=\"{silence['id']}\"]').click()")
        wait_for(lambda: iso_ms(silences(collector)[0]["endsAt"]) <= time.time() * 1000, 10,
                 what="the silence expired from the page")
        wait_for(lambda: browser.eval("document.querySelectorAll('#silence-list li').length") == 0, 20,
                 what="the expired silence to leave the page")
    finally:
        browser.close()
