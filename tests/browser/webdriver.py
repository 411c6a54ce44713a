# SPDX-License-Identifier: ISC
"""The few WebDriver calls the browser test needs, spoken to chromedriver
over HTTP with the standard library (the W3C protocol is JSON over HTTP),
plus chromedriver's own pass-through to the DevTools protocol for page
metrics and full-page screenshots. Loopback only."""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def find_browser():
    """(chromium, chromedriver) paths, or None when either is missing."""
    chromium = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p and
                     os.access(p, os.X_OK)), None)
    driver = next((p for p in (shutil.which("chromedriver"), "/usr/bin/chromedriver") if p and
                   os.access(p, os.X_OK)), None)
    if chromium is None or driver is None:
        return None
    return chromium, driver


class WebDriverError(Exception):
    pass


class Browser:
    """One headless Chromium session through a chromedriver of our own.
    Always close() it: it kills both processes and removes the profile."""

    def __init__(self, chromium, driver, log_file):
        self.profile = tempfile.mkdtemp(prefix="sf-chromium-")
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = open(log_file, "w")
        self.proc = subprocess.Popen([driver, "--port=%d" % self.port, "--allowed-ips=127.0.0.1"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.sid = None
        deadline = time.time() + 20
        while True:
            try:
                if self._call("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + self.profile, "--window-size=1280,900",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--metrics-recording-only", "--hide-scrollbars",
                "--font-render-hinting=none"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args,
                                   "perfLoggingPrefs": {"enableNetwork": True,
                                                        "enablePage": False}},
            "goog:loggingPrefs": {"performance": "ALL", "browser": "ALL"}}}}
        try:
            self.sid = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.close()
            raise

    def _call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                out = json.loads(r.read().decode() or "{}")
        except urllib.error.HTTPError as e:
            raise WebDriverError("%s %s: %s" % (method, path, e.read().decode()[:500]))
        return out.get("value", out)

    def s(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.sid, path), body)

    # -- the calls ---------------------------------------------------------------

    def get(self, url):
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in
                self.s("POST", "/elements", {"using": "css selector", "value": css})]

    def text(self, el):
        return self.s("GET", "/element/%s/text" % el)

    def attr(self, el, name):
        return self.s("GET", "/element/%s/attribute/%s" % (el, name))

    def click(self, el):
        self.s("POST", "/element/%s/click" % el, {})

    def type(self, el, text):
        self.s("POST", "/element/%s/clear" % el, {})
        self.s("POST", "/element/%s/value" % el, {"text": text})

    def script(self, js, *args):
        """Run js in the page (WebDriver's, not the page's: the page's CSP
        allows no script of its own)."""
        return self.s("POST", "/execute/sync", {"script": js, "args": list(args)})

    def cdp(self, cmd, params=None):
        return self.s("POST", "/goog/cdp/execute", {"cmd": cmd, "params": params or {}})

    def logs(self, kind):
        """Entries of a chromedriver log ("performance": DevTools events,
        "browser": the console, CSP reports included) since the last call."""
        return self.s("POST", "/se/log", {"type": kind})

    def screenshot(self, path, width, height=None):
        """A PNG of the page at width CSS pixels, written to path: whole,
        or its first height pixels (the first screen)."""
        self.cdp("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 800, "deviceScaleFactor": 1,
                  "mobile": width < 600})
        time.sleep(0.3)
        h = height or self.script("return Math.ceil(document.documentElement.scrollHeight)")
        shot = self.cdp("Page.captureScreenshot",
                        {"format": "png", "captureBeyondViewport": True,
                         "clip": {"x": 0, "y": 0, "width": width, "height": h, "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        self.cdp("Emulation.clearDeviceMetricsOverride")
        return path

    def close(self):
        try:
            if self.sid is not None:
                self.s("DELETE", "")
        except Exception:
            pass
        self.sid = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
