#!/usr/bin/env python3
"""Browser test of residents, reveal and audit against a running city demo.

Usage:
    python3 .ci/browser/people_test.py http://127.0.0.1:PORT [screenshot_dir]

Start the server first with the city demo and a few thousand residents, e.g.:
    shequ demo --db sqlite:///tmp/pt.db --scale city --people 3000 --serve --bind 127.0.0.1:8098

Story: a community worker signs in, registers a resident, finds them by ID
number, sees the number masked, reveals it; the auditor sees the reveal in the
audit log; a county login cannot open a resident of another county.
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import json
import os
import random
import signal
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, wait_for  # noqa: E402

PASSWORD = os.environ.get("SHEQU_DEMO_PASSWORD", "Shequ@2025")
BASE = ""
SHOTS = None
state = {}


class CheckFailed(Exception):
    pass


def expect(cond, detail):
    if not cond:
        raise CheckFailed(detail)


def id_number(region, birth, seq):
    """A valid GB 11643 number: 17 digits and the ISO 7064 MOD 11-2 check."""
    body = f"{region}{birth}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


def masked(idn):
    return idn[:6] + "********" + idn[14:]


def api(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def wait_loaded(b, old_body):
    wait_for(lambda: b.is_stale(old_body), timeout=15, what="the next page")
    wait_for(lambda: b.execute_script("return document.readyState") == "complete", timeout=15)


def submit(b, button_css):
    body = b.find("body")
    b.click(b.find(button_css))
    wait_loaded(b, body)


def fill(b, css, value):
    b.find(css)  # fails clearly when the field is missing
    b.execute_script("document.querySelector(arguments[0]).value = arguments[1];", css, value)


def sign_in(b, username):
    b.navigate(BASE + "/login")
    fill(b, "#username", username)
    fill(b, "#password", PASSWORD)
    submit(b, "#login-submit")
    expect("/login" not in b.current_url(), f"still on the login page as {username}: {b.current_url()}")


def sign_out(b):
    submit(b, "#logout")


def shot(b, name):
    if SHOTS:
        b.screenshot(os.path.join(SHOTS, name + ".png"))


# ---- checks ------------------------------------------------------------------

def check_sign_in_community(b):
    sign_in(b, "community")
    b.find("#logout")  # the sign-out button shows a session
    who = b.execute_script("return document.querySelector('.who-name').textContent;")
    expect("community" in (who or ""), f"the header names {who!r}, not the signed-in user")


def check_register(b):
    idn = id_number("430502", f"19{random.randint(30, 60)}0{random.randint(1, 9)}1{random.randint(0, 9)}", random.randint(1, 999))
    state["idn"] = idn
    b.navigate(BASE + "/people/new")
    fill(b, "#name", "测试居民")
    fill(b, "#id_number", idn)
    fill(b, "#phone", "13907391234")
    fill(b, "#division", "430502001001")
    submit(b, "form.stack button[type=submit]")
    expect("/people/" in b.current_url(), f"registration did not open the record: {b.current_url()}")
    state["person_url"] = b.current_url()


def check_find_by_id_masked(b):
    b.navigate(BASE + "/people?id_number=" + state["idn"])
    rows = b.find_all("#people tbody tr")
    expect(len(rows) == 1, f"expected one resident for the ID number, got {len(rows)}")
    text = b.text(rows[0])
    expect(masked(state["idn"]) in text, f"list shows {text!r}, not the masked number")
    expect(state["idn"] not in b.text(b.find("#people")), "the clear ID number is in the result table")
    shot(b, "people-list")
    body = b.find("body")
    b.click(b.find("#people tbody tr a"))
    wait_loaded(b, body)
    shown = b.text(b.find("#id-number")).strip()
    expect(shown == masked(state["idn"]), f"detail shows {shown!r}")


def check_reveal(b):
    submit(b, "#reveal-id")
    shown = b.text(b.find("#id-number")).strip()
    expect(shown == state["idn"], f"after reveal the page shows {shown!r}")
    shot(b, "people-revealed")
    sign_out(b)


def check_auditor_sees_reveal(b):
    sign_in(b, "auditor")
    b.navigate(BASE + "/audit?actor=community&action=reveal")
    rows = b.find_all("#audit tbody tr")
    expect(rows, "no audit rows for community's reveal")
    text = b.text(rows[0])
    expect("community" in text, f"audit row {text!r} does not name the community worker")
    shot(b, "audit")
    sign_out(b)


def check_other_county_hidden(b):
    token = api("POST", "/api/v1/auth/token", {"username": "city", "password": PASSWORD})["token"]
    found = api("GET", "/api/v1/people?division=430503&per_page=1", token=token)
    expect(found["items"], "the demo has no resident in 大祥区 (430503)")
    other = found["items"][0]["id"]
    sign_in(b, "county")
    b.navigate(f"{BASE}/people/{other}")
    heading = b.text(b.find("h1"))
    expect("页面不存在" in heading, f"county login opened another county's resident: h1 {heading!r}")
    expect(found["items"][0]["name"] not in b.page_source(), "the other county's resident's name is on the page")
    b.navigate(BASE + "/")
    sign_out(b)


CHECKS = [
    check_sign_in_community,
    check_register,
    check_find_by_id_masked,
    check_reveal,
    check_auditor_sees_reveal,
    check_other_county_hidden,
]


def main(argv):
    global BASE, SHOTS
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/people_test.py http://127.0.0.1:PORT [screenshot_dir]", file=sys.stderr)
        return 2
    BASE = argv[1].rstrip("/")
    if len(argv) == 3:
        SHOTS = argv[2]
        os.makedirs(SHOTS, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = 0
    browser = None
    try:
        browser = Browser(width=360, height=800)
        for check in CHECKS:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            try:
                check(browser)
                print(f"ok - {name}")
                passed += 1
            except Exception as e:
                detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
                print(f"not ok - {name}: {detail}")
                failed += 1
            sys.stdout.flush()
    except Exception as e:
        print(f"not ok - start headless Chromium: {e}")
        failed += 1
    finally:
        if browser:
            browser.quit()
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
