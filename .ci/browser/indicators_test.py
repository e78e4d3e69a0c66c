#!/usr/bin/env python3
"""Browser test of the plan-target dashboard against a running city demo.

Usage:
    python3 .ci/browser/indicators_test.py http://127.0.0.1:PORT [screenshot_dir]

Story: city staff sign in; the city dashboard shows indicator cards, a bar chart
and a map of the counties; clicking a county drills down; the gap list of one
indicator downloads as xlsx.
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from people_test import CheckFailed, expect, sign_in, wait_loaded  # noqa: E402
import people_test  # noqa: E402
from webdriver import Browser  # noqa: E402

state = {}


def shot(b, name):
    if people_test.SHOTS:
        b.screenshot(os.path.join(people_test.SHOTS, name + ".png"))


def check_city_dashboard(b):
    sign_in(b, "city")
    b.navigate(people_test.BASE + "/indicators")
    cards = b.find_all("#cards .ind-card")
    expect(len(cards) >= 15, f"only {len(cards)} indicator cards")
    text = b.text(b.find("#cards"))
    expect("综合服务设施覆盖率" in text, "the coverage card is missing")
    expect("h1" and "邵阳市" in b.text(b.find("h1")), "the dashboard is not the city's")
    shot(b, "dashboard")


def check_chart_and_map(b):
    bars = b.find_all("svg.chart.bars rect.bar")
    expect(len(bars) == 12, f"the bar chart has {len(bars)} bars, not one per county")
    cells = b.find_all("svg.chart.map polygon.cell")
    expect(len(cells) == 12, f"the map has {len(cells)} cells, not one per county")
    colours = {b.attribute(c, "class") for c in cells}
    expect(any("met" in c or "unmet" in c for c in colours), f"map cells are not coloured: {colours}")


def check_drill_down(b):
    link = b.find_link("双清区", within=b.find("#children"))
    body = b.find("body")
    b.click(link)
    wait_loaded(b, body)
    expect("division=430502" in b.current_url(), f"drill-down went to {b.current_url()}")
    expect("双清区" in b.text(b.find("h1")), "the county's dashboard heading")
    expect(len(b.find_all("#cards .ind-card")) >= 15, "the county shows its cards")
    shot(b, "dashboard-county")


def check_gap_list_xlsx(b):
    b.navigate(people_test.BASE + "/indicators/facility_area_per_100_households/gaps?division=430500")
    expect("短板清单" in b.text(b.find("h1")), "the gap list page")
    href = b.attribute(b.find("#gaps-xlsx"), "href")
    status, ctype, size = b.execute_script(
        "var x = new XMLHttpRequest(); x.open('GET', arguments[0], false); "
        "x.overrideMimeType('text/plain; charset=x-user-defined'); x.send(); "
        "return [x.status, x.getResponseHeader('content-type'), x.responseText.length];", href)
    expect(status == 200, f"download answered {status}")
    expect("spreadsheetml" in (ctype or ""), f"download is {ctype}")
    expect(size > 2000, f"the xlsx is only {size} bytes")
    shot(b, "gaps")
    return f"{size} bytes"


CHECKS = [check_city_dashboard, check_chart_and_map, check_drill_down, check_gap_list_xlsx]


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/indicators_test.py http://127.0.0.1:PORT [screenshot_dir]", file=sys.stderr)
        return 2
    people_test.BASE = argv[1].rstrip("/")
    if len(argv) == 3:
        people_test.SHOTS = argv[2]
        os.makedirs(argv[2], exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    passed = failed = 0
    browser = None
    try:
        browser = Browser(width=360, height=800)
        for check in CHECKS:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            try:
                note = check(browser)
                print(f"ok - {name}" + (f" ({note})" if note else ""))
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
