"""Headless Chromium (Debian `chromium`) driven over the DevTools protocol, for the status
page test: open a URL, evaluate JavaScript, take a screenshot. Started and stopped by pid
like every other process of a test; its profile lives in the test's temporary directory."""
import base64
import itertools
import json
import os
import urllib.request

import websocket  # Debian python3-websocket

from fwtest import free_port, wait_for

CHROMIUM = "/usr/bin/chromium"


class Browser:
    def __init__(self, harness):
        self.h = harness
        self.port = free_port()
        profile = os.path.join(harness.dir, "chromium-profile")
        self.proc = harness.start(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}",
             "--remote-debugging-address=127.0.0.1", f"--remote-debugging-port={self.port}",
             "--window-size=1400,1000", "about:blank"],
            "chromium")
        self.ws = None
        self.ids = itertools.count(1)

    def _targets(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as r:
            return json.loads(r.read())

    def connect(self):
        def page():
            if not self.proc.alive():
                raise AssertionError("chromium exited:\n" + self.proc.output()[-2000:])
            pages = [t for t in self._targets() if t.get("type") == "page"]
            return pages[0] if pages else None
        target = wait_for(page, 30, what="chromium's DevTools endpoint")
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=20,
                                              suppress_origin=True)
        return self

    def call(self, method, **params):
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        wait_for(lambda: self.eval("document.readyState") == "complete", 20, what=f"{url} to load")

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError(f"{expression}: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass
        self.proc.stop()
