#!/usr/bin/env python3
"""Browser test of 探访关爱 on a 360 px phone, against a running demo with care data.

Usage:
    python3 .ci/browser/care_test.py http://127.0.0.1:PORT [screenshot_dir]

Start the server first with a demo that includes the care data (the roster, the
grid worker's assignments and this month's plan), e.g.:
    shequ demo --db sqlite:///tmp/care.db --scale city --people 20000 --serve --bind 127.0.0.1:8099

Story: the grid worker (`grid`, 兴隆街道第一个社区第一网格) signs in, opens
我的探访 and starts a visit to one of the assigned subjects: a home visit (上门)
with a need found in 关爱服务情况 and "同时生成工单" ticked. The saved visit shows
the work order's tracking code with a link; the link opens the order. The list,
the form and the visit page must not scroll sideways at 360 px.
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from people_test import CheckFailed, expect, fill, sign_in, submit, wait_loaded  # noqa: E402
import people_test  # noqa: E402
from webdriver import Browser  # noqa: E402

GRID = "grid"
CATEGORY = "social.elderly"
# Tracking codes: 10 of these (no 0, O, 1 or I).
CODE_RE = re.compile(r"^[A-HJ-NP-Z2-9]{10}$")
state = {}


def base():
    return people_test.BASE


def shot(b, name):
    if people_test.SHOTS:
        b.screenshot(os.path.join(people_test.SHOTS, name + ".png"))


def no_sideways_scroll(b, page):
    """Note whether `page` is wider than the 360 px phone (checked at the end)."""
    phone, wide, culprits = b.execute_script(
        "var phone = document.documentElement.clientWidth, out = [];"
        "document.querySelectorAll('body *').forEach(function (e) {"
        "  var r = e.getBoundingClientRect();"
        "  if (r.width > 0 && r.right > phone + 0.5 && out.length < 3)"
        "    out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' (right edge '"
        "      + Math.round(r.right) + 'px)');"
        "});"
        "return [phone, document.documentElement.scrollWidth, out];")
    state.setdefault("widths", []).append((page, phone, wide, culprits))


# ---- checks --------------------------------------------------------------------

def check_grid_worker_opens_my_visits(b):
    sign_in(b, GRID)
    b.navigate(base() + "/care/mine")
    expect("我的探访" in b.text(b.find("h1")), f"heading is {b.text(b.find('h1'))!r}")
    buttons = b.find_all("a.ca-big")
    expect(buttons, "我的探访 lists no visit to record (is the care demo loaded?)")
    state["form"] = b.attribute(buttons[0], "href")
    no_sideways_scroll(b, "/care/mine")
    shot(b, "care-mine")
    return f"{len(buttons)} due visits"


def check_record_a_home_visit_raising_an_order(b):
    b.navigate(state["form"] if state["form"].startswith("http") else base() + state["form"])
    b.find("#care-visit-form")
    no_sideways_scroll(b, "visit form")
    b.click(b.find("#channel-home"))
    b.click(b.find("#finding-service-need"))
    fill(b, "#note_service", "老人行动不便，需要上门助浴服务")
    if not b.property(b.find("#raise_order"), "checked"):
        b.click(b.find("#raise_order"))
    b.execute_script(
        "var s = document.querySelector('#order_category'); s.value = arguments[0];"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", CATEGORY)
    shot(b, "care-form")
    submit(b, "#care-submit")
    errors = b.find_all("#care-errors")
    expect(not errors, f"the visit was refused: {b.text(errors[0]) if errors else ''}")
    expect("/care/visits/" in b.current_url(), f"not on the visit page: {b.current_url()}")
    b.find("#care-visit-saved")
    no_sideways_scroll(b, "visit page")
    shot(b, "care-visit")


def check_the_order_shows_on_the_visit(b):
    link = b.find("#care-order-link")
    code = b.text(link).strip()
    expect(CODE_RE.match(code), f"the work order link shows {code!r}, not a tracking code")
    href = b.attribute(link, "href")
    expect("/workorders/" in href, f"the link goes to {href!r}")
    submit(b, "#care-order-link")
    expect(code in b.text(b.find("body")), "the order page does not show the tracking code")
    return code


def check_no_sideways_scroll_at_360px(b):
    widths = state.get("widths", [])
    expect(widths, "no page was measured")
    bad = [f"{p}: {wide} px wide on a {phone} px phone ({', '.join(c)})"
           for p, phone, wide, c in widths if wide > phone + 1]
    expect(not bad, "; ".join(bad))
    return f"{len(widths)} pages"


CHECKS = [
    check_grid_worker_opens_my_visits,
    check_record_a_home_visit_raising_an_order,
    check_the_order_shows_on_the_visit,
    check_no_sideways_scroll_at_360px,
]


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/care_test.py http://127.0.0.1:PORT [screenshot_dir]",
              file=sys.stderr)
        return 2
    people_test.BASE = argv[1].rstrip("/")
    if len(argv) == 3:
        people_test.SHOTS = argv[2]
        os.makedirs(people_test.SHOTS, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = skipped = 0
    browser = None
    try:
        browser = Browser(width=360, height=800)
        for check in CHECKS:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            if failed and check is not check_no_sideways_scroll_at_360px:
                print(f"skip - {name} (an earlier step failed)")
                skipped += 1
                continue
            try:
                note = check(browser)
                print(f"ok - {name}" + (f" ({note})" if note else ""))
                passed += 1
            except Exception as e:
                detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
                print(f"not ok - {name}: {detail}")
                failed += 1
                if browser.session:
                    shot(browser, "care-failed")
            sys.stdout.flush()
    except Exception as e:
        print(f"not ok - start headless Chromium: {e}")
        failed += 1
    finally:
        if browser:
            browser.quit()
        print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
