#!/usr/bin/env python3
"""Browser test of the division pages against a running small demo.

Usage:
    python3 .ci/browser/divisions_test.py http://127.0.0.1:PORT [screenshot_dir]

Start the server first, e.g.:
    shequ demo --db sqlite:///tmp/bt.db --scale small --serve --bind 127.0.0.1:8097

Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
Exits 1 if any check failed. Checks run in order and share one browser,
so a failed step usually makes the steps that depend on it fail too.
"""

import os
import re
import signal
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webdriver import Browser, wait_for  # noqa: E402

WIDTH = 360

BASE = ""           # server root, set in main()
SHOTS = None        # screenshot dir or None
state = {}          # values passed between checks (community URL, font sizes)


class CheckFailed(Exception):
    pass


def expect(cond, detail):
    if not cond:
        raise CheckFailed(detail)


# ---- small page helpers ----------------------------------------------------

def h1(b):
    return b.text(b.find("h1")).strip()


def crumbs(b):
    return b.text(b.find("nav.crumbs")).strip()


def click_and_wait(b, el):
    """Click el and wait until the page it was on has been replaced."""
    body = b.find("body")
    b.click(el)
    wait_for(lambda: b.is_stale(body), timeout=15, what="the page to change after the click")
    wait_for(lambda: b.execute_script("return document.readyState") == "complete",
             timeout=15, what="document.readyState == complete")


def shot(b, name):
    if SHOTS:
        b.screenshot(os.path.join(SHOTS, name + ".png"))


def no_overflow(b):
    widths = b.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];")
    expect(widths[0] <= WIDTH + 1,
           f"scrollWidth {widths[0]}px > {WIDTH}px (innerWidth {widths[1]}px)")


def body_font_px(b):
    value = b.execute_script("return getComputedStyle(document.body).fontSize;")
    return float(value.replace("px", ""))


def community(b):
    """Go to the community page found by the walk (unless already there)."""
    url = state.get("community_url")
    expect(url, "community page was not reached by the earlier walk")
    if b.current_url() != url:
        b.navigate(url)


# ---- checks, in order --------------------------------------------------------

def check_viewport(b):
    """viewport is phone width (360 px)"""
    b.navigate(BASE + "/")
    width = b.execute_script("return window.innerWidth;")
    expect(width == WIDTH, f"window.innerWidth is {width}")


def check_home_title(b):
    """home: title contains 社区服务平台"""
    b.navigate(BASE + "/")
    expect("社区服务平台" in b.title(), f"title is {b.title()!r}")


def check_home_h1(b):
    """home: h1 is 邵阳市"""
    expect(h1(b) == "邵阳市", f"h1 is {h1(b)!r}")


def check_home_children(b):
    """home: #children lists 双清区"""
    names = [b.text(a).strip() for a in b.find_all("#children tbody a")]
    expect("双清区" in names, f"#children links: {names}")


def check_home_overflow(b):
    """home: no horizontal overflow at 360 px"""
    shot(b, "home")
    no_overflow(b)


def check_walk_county(b):
    """walk: click 双清区 -> /divisions/430502 with crumbs 邵阳市"""
    b.navigate(BASE + "/")
    click_and_wait(b, b.find_link("双清区", within=b.find("#children")))
    url = b.current_url()
    expect(url.endswith("/divisions/430502"), f"URL is {url}")
    expect(h1(b) == "双清区", f"h1 is {h1(b)!r}")
    expect("邵阳市" in crumbs(b), f"crumbs are {crumbs(b)!r}")


def check_walk_township(b):
    """walk: click 兴隆街道 -> /divisions/430502001"""
    click_and_wait(b, b.find_link("兴隆街道", within=b.find("#children")))
    url = b.current_url()
    expect(url.endswith("/divisions/430502001"), f"URL is {url}")
    expect(h1(b) == "兴隆街道", f"h1 is {h1(b)!r}")


def check_walk_community(b):
    """walk: click the first 社区 -> /divisions/4305020010NN"""
    links = b.find_all("#children tbody a")
    names = [b.text(a).strip() for a in links]
    first = next((a for a, n in zip(links, names) if n.endswith("社区")), None)
    expect(first, f"no link ending in 社区 among {names}")
    click_and_wait(b, first)
    url = b.current_url()
    expect(re.search(r"/divisions/4305020010\d\d$", url), f"URL is {url}")
    state["community_url"] = url


def check_community_heading(b):
    """community: h1 ends with 社区, crumbs 邵阳市 › 双清区 › 兴隆街道"""
    community(b)
    expect(h1(b).endswith("社区"), f"h1 is {h1(b)!r}")
    trail = crumbs(b)
    missing = [n for n in ("邵阳市", "双清区", "兴隆街道") if n not in trail]
    expect(not missing, f"crumbs {trail!r} lack {missing}")


def check_community_population(b):
    """community: #population shows a number"""
    community(b)
    value = b.text(b.find("#population")).strip()
    expect(re.search(r"\d", value), f"#population is {value!r}")


def check_community_grids(b):
    """community: #children lists grids named 第…网格"""
    community(b)
    names = [b.text(a).strip() for a in b.find_all("#children tbody a")]
    expect(names, "no links in #children")
    bad = [n for n in names if not re.fullmatch(r"第.+网格", n)]
    expect(not bad, f"not grid names: {bad}")


def check_community_overflow(b):
    """community: no horizontal overflow at 360 px"""
    community(b)
    shot(b, "community")
    no_overflow(b)


def check_large_text(b):
    """large text: #toggle-large adds body.large and a bigger font"""
    community(b)
    before = body_font_px(b)
    state["font_before"] = before
    click_and_wait(b, b.find("#toggle-large"))
    large = b.execute_script("return document.body.classList.contains('large');")
    expect(large is True, "body has no class 'large' after the click")
    after = body_font_px(b)
    state["font_after"] = after
    expect(after > before, f"body font-size {before}px -> {after}px")
    return f"body font-size {before:g}px -> {after:g}px"


def check_large_text_button(b):
    """large text: button now reads 标准字号 and we stay on the community page"""
    label = b.text(b.find("#toggle-large")).strip()
    expect(label == "标准字号", f"button text is {label!r}")
    url = b.current_url()
    expect(url == state.get("community_url"), f"URL is {url}, not {state.get('community_url')}")


def check_large_text_overflow(b):
    """large text: no horizontal overflow at 360 px"""
    community(b)
    shot(b, "community-large")
    no_overflow(b)


def check_search(b):
    """search: /divisions?q=兴隆 lists 兴隆街道"""
    b.navigate(BASE + "/divisions?q=%E5%85%B4%E9%9A%86")  # q=兴隆
    hits = b.text(b.find("#hits"))
    expect("兴隆街道" in hits, f"#hits is {hits[:200]!r}")


def check_unknown_division(b):
    """unknown code /divisions/430502999 shows an error page with an h1"""
    b.navigate(BASE + "/divisions/430502999")
    heading = h1(b)
    expect(heading, "error page has no h1 text")
    page = b.text(b.find("main"))
    expect("页面不存在" in page or "区划" in page, f"main text is {page[:200]!r}")


CHECKS = [
    check_viewport,
    check_home_title,
    check_home_h1,
    check_home_children,
    check_home_overflow,
    check_walk_county,
    check_walk_township,
    check_walk_community,
    check_community_heading,
    check_community_population,
    check_community_grids,
    check_community_overflow,
    check_large_text,
    check_large_text_button,
    check_large_text_overflow,
    check_search,
    check_unknown_division,
]


def describe(check):
    return check.__doc__.strip()


def server_problem():
    """Return why BASE/ cannot be fetched, or None if it answers 200."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(BASE + "/", timeout=10) as resp:
            return None if resp.status == 200 else f"HTTP {resp.status}"
    except Exception as e:
        return str(e)


def main(argv):
    global BASE, SHOTS
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/divisions_test.py http://127.0.0.1:PORT [screenshot_dir]",
              file=sys.stderr)
        return 2
    BASE = argv[1].rstrip("/")
    if len(argv) == 3:
        SHOTS = argv[2]
        os.makedirs(SHOTS, exist_ok=True)

    # A kill (SIGTERM) should still run the cleanup in `finally` below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    passed = failed = 0
    browser = None
    try:
        problem = server_problem()
        if problem:
            # Without a server every browser check would fail; report it once.
            print(f"not ok - server answers at {BASE}/: {problem}")
            failed += 1
            return 1
        try:
            browser = Browser(width=WIDTH, height=800)
        except Exception as e:
            print(f"not ok - start headless Chromium: {e}")
            failed += 1
            return 1
        for check in CHECKS:
            try:
                note = check(browser)  # a check may return a short note to show
                suffix = f" ({note})" if note else ""
                print(f"ok - {describe(check)}{suffix}")
                passed += 1
            except Exception as e:
                detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
                print(f"not ok - {describe(check)}: {detail}")
                failed += 1
            sys.stdout.flush()
    finally:
        if browser:
            browser.quit()
        print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
