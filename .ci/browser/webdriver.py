"""A tiny W3C WebDriver client for headless Chromium, standard library only.

Usage:

    from webdriver import Browser, wait_for

    with Browser() as b:
        b.navigate("http://127.0.0.1:8097/")
        h1 = b.find("h1")
        print(b.text(h1))

Element ids are plain strings (the WebDriver "element reference" value).
Every failed WebDriver command raises WebDriverError with the command,
the W3C error code and chromedriver's message.
"""

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

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"

# The key W3C uses for element references in JSON.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"

# Never send WebDriver traffic through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class WebDriverError(Exception):
    """A WebDriver command failed (or chromedriver could not be reached)."""

    def __init__(self, message, error=None):
        super().__init__(message)
        self.error = error  # W3C error code, e.g. "no such element"


def free_port():
    """Ask the kernel for a free TCP port on localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(fn, timeout=10.0, interval=0.1, what="condition"):
    """Call fn() until it returns something truthy; return that value.

    Exceptions from fn() count as "not yet". On timeout raise TimeoutError
    naming `what` and the last exception, if any.
    """
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # keep polling; report the last one
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


class Browser:
    """One chromedriver process with one headless Chromium session."""

    def __init__(self, width=360, height=800, mobile=True, chromedriver=CHROMEDRIVER,
                 chromium=CHROMIUM, startup_timeout=30.0):
        """Start chromedriver and a session with a width x height viewport.

        mobile=True emulates a phone screen of that size (touch, meta viewport);
        mobile=False only sets the window size (headless minimum width is 500 px).
        """
        for path in (chromedriver, chromium):
            if not os.path.exists(path):
                raise WebDriverError(f"{path} not found (install chromium and chromium-driver)")
        self.tmp = tempfile.mkdtemp(prefix="shequ-browser-")
        self.mobile = mobile
        self.proc = None
        self.session = None
        try:
            self._start_driver(chromedriver, startup_timeout)
            self._start_session(chromium, width, height, mobile)
        except BaseException:
            self.quit()
            raise

    # ---- lifecycle -------------------------------------------------------

    def _start_driver(self, chromedriver, timeout):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # chromedriver's own log goes to a file so a full pipe can never block it.
        self.driver_log = os.path.join(self.tmp, "chromedriver.log")
        self._log_file = open(self.driver_log, "wb")
        self.proc = subprocess.Popen(
            [chromedriver, f"--port={self.port}"],
            stdout=self._log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                raise WebDriverError(
                    f"chromedriver exited with code {self.proc.returncode}: {self._driver_log_tail()}")
            return self._request("GET", "/status", timeout=2).get("ready")

        try:
            wait_for(ready, timeout=timeout, what="chromedriver /status ready")
        except TimeoutError as e:
            raise WebDriverError(f"{e}; chromedriver log: {self._driver_log_tail()}") from None

    def _start_session(self, chromium, width, height, mobile):
        profile = os.path.join(self.tmp, "profile")
        args = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", f"--window-size={width},{height}",
        ]
        options = {"binary": chromium, "args": args}
        if mobile:
            # Headless Chromium will not make a window narrower than 500 px, so
            # --window-size alone gives no phone viewport. Device emulation does:
            # the viewport is exactly width x height and <meta name=viewport> applies.
            options["mobileEmulation"] = {"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1.0,
                "mobile": True, "touch": True}}
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": options,
        }}}
        value = self._request("POST", "/session", caps, timeout=60)
        self.session = value["sessionId"]
        self.capabilities = value.get("capabilities", {})
        self.cmd("POST", "/timeouts", {"pageLoad": 30000, "script": 10000, "implicit": 0})

    def quit(self):
        """End the session, stop chromedriver and delete the temp dir. Safe to call twice."""
        if self.session:
            try:
                self.cmd("DELETE", "", timeout=15)
            except Exception:
                pass  # chromedriver may already be gone; we kill it below anyway
            self.session = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if getattr(self, "_log_file", None):
            self._log_file.close()
            self._log_file = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()
        return False

    def _driver_log_tail(self, lines=10):
        try:
            with open(self.driver_log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            return " | ".join(text.strip().splitlines()[-lines:]) or "(empty)"
        except OSError:
            return "(no log)"

    # ---- HTTP plumbing ---------------------------------------------------

    def _request(self, method, path, body=None, timeout=60):
        """Send one WebDriver request and return the "value" of the reply."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                reply = json.loads(resp.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as e:
            # WebDriver errors arrive as 4xx/5xx with {"value": {"error", "message"}}.
            raw = e.read().decode("utf-8", "replace")
            try:
                value = json.loads(raw).get("value", {})
                error, message = value.get("error"), value.get("message", "")
            except (ValueError, AttributeError):
                error, message = None, raw
            message = message.splitlines()[0] if message else f"HTTP {e.code}"
            raise WebDriverError(f"{method} {path}: {error or e.code}: {message}", error) from None
        except (urllib.error.URLError, OSError) as e:
            raise WebDriverError(f"{method} {path}: cannot reach chromedriver: {e}") from None
        return reply.get("value")

    def cmd(self, method, path, body=None, timeout=60):
        """Send a command for the current session (path relative to /session/{id})."""
        if not self.session:
            raise WebDriverError("no WebDriver session")
        if method == "POST" and body is None:
            body = {}
        return self._request(method, f"/session/{self.session}{path}", body, timeout)

    # ---- navigation and page --------------------------------------------

    def navigate(self, url):
        self.cmd("POST", "/url", {"url": url})

    def current_url(self):
        return self.cmd("GET", "/url")

    def title(self):
        return self.cmd("GET", "/title")

    def page_source(self):
        return self.cmd("GET", "/source")

    def execute_script(self, js, *args):
        """Run `js` as a function body; `arguments[i]` are args. Returns its result."""
        return self.cmd("POST", "/execute/sync", {"script": js, "args": list(args)})

    def screenshot(self, path):
        """Save a PNG of the viewport to path."""
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return path

    def set_window_size(self, width, height):
        """Resize the window and, when emulating a phone, the emulated screen too."""
        self.cmd("POST", "/window/rect", {"width": width, "height": height})
        if self.mobile:
            # chromedriver extension: send a DevTools command to the page.
            self.cmd("POST", "/goog/cdp/execute", {
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {"width": width, "height": height, "deviceScaleFactor": 1,
                           "mobile": True}})

    # ---- elements --------------------------------------------------------

    def find(self, css, within=None):
        """Return the id of the first element matching css (optionally inside element `within`)."""
        base = f"/element/{within}" if within else ""
        try:
            value = self.cmd("POST", f"{base}/element", {"using": "css selector", "value": css})
        except WebDriverError as e:
            if e.error == "no such element":
                raise WebDriverError(f"no element matches {css!r}", e.error) from None
            raise
        return value[ELEMENT_KEY]

    def find_all(self, css, within=None):
        """Return ids of all elements matching css (possibly an empty list)."""
        base = f"/element/{within}" if within else ""
        value = self.cmd("POST", f"{base}/elements", {"using": "css selector", "value": css})
        return [v[ELEMENT_KEY] for v in value]

    def find_link(self, text, within=None):
        """Return the id of the first <a> whose visible text is exactly `text`."""
        base = f"/element/{within}" if within else ""
        try:
            value = self.cmd("POST", f"{base}/element", {"using": "link text", "value": text})
        except WebDriverError as e:
            if e.error == "no such element":
                raise WebDriverError(f"no link with text {text!r}", e.error) from None
            raise
        return value[ELEMENT_KEY]

    def click(self, el):
        self.cmd("POST", f"/element/{el}/click")

    def text(self, el):
        """Visible (rendered) text of an element."""
        return self.cmd("GET", f"/element/{el}/text")

    def attribute(self, el, name):
        return self.cmd("GET", f"/element/{el}/attribute/{name}")

    def property(self, el, name):
        return self.cmd("GET", f"/element/{el}/property/{name}")

    def is_stale(self, el):
        """True once el is no longer in the page (e.g. after a navigation)."""
        try:
            self.cmd("GET", f"/element/{el}/name")
            return False
        except WebDriverError as e:
            if e.error in ("stale element reference", "no such element"):
                return True
            raise

    @staticmethod
    def ref(el):
        """Wrap an element id so it can be passed to execute_script."""
        return {ELEMENT_KEY: el}
