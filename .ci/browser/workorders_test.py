#!/usr/bin/env python3
"""Browser test of 接诉即办 end to end on a 360 px phone, against a running city demo.

Usage:
    python3 .ci/browser/workorders_test.py http://127.0.0.1:PORT [screenshot_dir]

Start the server first with the city demo, e.g.:
    shequ demo --db sqlite:///tmp/wo.db --scale city --people 3000 --serve --bind 127.0.0.1:8098

Story: a resident, not signed in, opens 居民服务 and reports uncollected
rubbish (我要反映): a category, the county → township → community selects, a
description and a photo; the receipt shows a 查询码. The 12345 dispatcher finds
the order on the workbench by that code and dispatches it to the community it
was reported in; the community worker signs for it (签收), replies (回复) and
closes it (办结); the resident opens the tracking page and rates it 不满意; the
差评 shows up in the community's 差评整改 queue. The portal form, the
workbench and the order page must not scroll sideways at 360 px.
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from people_test import CheckFailed, expect, fill, sign_out, submit, wait_loaded  # noqa: E402
import people_test  # noqa: E402
from webdriver import Browser, wait_for  # noqa: E402

PASSWORD = people_test.PASSWORD
CATEGORY = "environment.garbage"
# The demo's community login works in this community (兴隆街道的第一个社区).
COMMUNITY = "community"
COMMUNITY_CODE = "430502001001"
DISPATCHERS = ("dispatcher", "city")  # the 12345 dispatcher; city staff on older demos
RATING = "4"  # 不满意
# Tracking codes: 10 of these (no 0, O, 1 or I).
CODE_CHARS = set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
state = {}


def base():
    return people_test.BASE


def shot(b, name):
    if people_test.SHOTS:
        b.screenshot(os.path.join(people_test.SHOTS, name + ".png"))


# ---- a photo -------------------------------------------------------------------

def tiny_jpeg(width=48, height=32):
    """A valid baseline greyscale JPEG made by hand: flat 8x8 blocks in a gradient.

    Each block carries only its DC coefficient; the Huffman tables are minimal
    (DC categories 0-11 as 4-bit codes, AC with the end-of-block code only).
    """
    def segment(marker, payload):
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    out = bytearray(b"\xff\xd8")
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += segment(0xDB, bytes([0x00]) + bytes([8] * 64))  # quantisation table 0: all 8
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
    out += segment(0xC4, bytes([0x00]) + bytes([0, 0, 0, 12] + [0] * 12) + bytes(range(12)))
    out += segment(0xC4, bytes([0x10]) + bytes([1] + [0] * 15) + bytes([0x00]))
    out += segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0]))
    bits = []
    prev = 0
    bw, bh = (width + 7) // 8, (height + 7) // 8
    for by in range(bh):
        for bx in range(bw):
            grey = 40 + (bx * 180) // max(1, bw - 1) - by * 10
            dc = grey - 128  # a flat block's DC is 8 x (p - 128); the table divides by 8
            diff, prev = dc - prev, dc
            size = abs(diff).bit_length()
            bits += [int(c) for c in format(size, "04b")]
            if size:
                value = diff if diff > 0 else diff + (1 << size) - 1
                bits += [int(c) for c in format(value, f"0{size}b")]
            bits.append(0)  # end of block
    bits += [1] * (-len(bits) % 8)
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i:i + 8])), 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0x00)  # byte stuffing
    out += b"\xff\xd9"
    return bytes(out)


# ---- helpers -------------------------------------------------------------------

def no_sideways_scroll(b, page):
    """Note whether `page` is wider than the 360 px phone (checked at the end).

    A phone browser zooms out to fit a too-wide page, so window.innerWidth grows
    with the page; the phone's own width is the layout viewport (clientWidth).
    """
    phone, inner, wide, culprits = b.execute_script(
        "var phone = document.documentElement.clientWidth, out = [];"
        "document.querySelectorAll('body *').forEach(function (e) {"
        "  var r = e.getBoundingClientRect();"
        "  if (r.width > 0 && r.right > phone + 0.5 && out.length < 3)"
        "    out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' (right edge '"
        "      + Math.round(r.right) + 'px)');"
        "});"
        "return [phone, window.innerWidth, document.documentElement.scrollWidth, out];")
    state.setdefault("widths", []).append((page, phone, inner, wide, culprits))


def choose(b, css, value):
    """Pick an option of a select as a person would, firing its change event."""
    sel = b.find(css)
    options = b.execute_script(
        "return Array.prototype.map.call(arguments[0].options, function (o) { return o.value; });",
        b.ref(sel))
    expect(value in options, f"{css} offers no {value!r} (it has {len(options)} options)")
    b.execute_script(
        "var s = arguments[0]; s.value = arguments[1];"
        "s.dispatchEvent(new Event('input', {bubbles: true}));"
        "s.dispatchEvent(new Event('change', {bubbles: true}));", b.ref(sel), value)


def option_text(b, css, value):
    return b.execute_script(
        "var s = document.querySelector(arguments[0]);"
        "for (var i = 0; i < s.options.length; i++) if (s.options[i].value === arguments[1])"
        " return s.options[i].textContent.trim();"
        "return '';", css, value)


def place_level(b, css, value, next_css):
    """Choose `value` in `css`; the next select fills in place (script) or after 确定."""
    choose(b, css, value)
    if b.execute_script("var g = document.getElementById('pt-place-go'); return !!g && !g.hidden;"):
        submit(b, "#pt-place-go")  # without the script: one reload per level
    if next_css:
        wait_for(lambda: b.execute_script(
            "var s = document.querySelector(arguments[0]);"
            "return s && !s.disabled && s.options.length > 1;", next_css),
            timeout=15, what=f"{next_css} to offer choices")


def state_label(b):
    return b.text(b.find("#state")).strip()


def act(b, form_css, fields=None):
    """Fill and submit one action form of the order page; return the notice shown."""
    b.find(form_css)  # fails clearly when the action is not offered
    for css, value in (fields or {}).items():
        fill(b, f"{form_css} {css}", value)
    body = b.find("body")
    b.click(b.find(f"{form_css} button[type=submit]"))
    wait_loaded(b, body)
    errors = b.find_all("#form-errors")
    expect(not errors, f"{form_css} was refused: {b.text(errors[0]) if errors else ''}")
    return b.text(b.find("#done")).strip() if b.find_all("#done") else ""


def find_row(b, rows_css, text, max_pages=40):
    """The first row containing `text`, following 下一页 through a paged list."""
    for _ in range(max_pages):
        for row in b.find_all(rows_css):
            if text in b.text(row):
                return row
        nxt = [a for a in b.find_all("nav.pager a") if b.text(a).strip() == "下一页"]
        if not nxt:
            return None
        body = b.find("body")
        b.click(nxt[0])
        wait_loaded(b, body)
    return None


def sign_in_first(b, usernames):
    """Sign in with the first login that works; return its name."""
    for name in usernames:
        b.navigate(base() + "/login")
        fill(b, "#username", name)
        fill(b, "#password", PASSWORD)
        submit(b, "#login-submit")
        if "/login" not in b.current_url():
            return name
    raise CheckFailed(f"none of {', '.join(usernames)} could sign in")


# ---- checks --------------------------------------------------------------------

def check_portal_home(b):
    b.navigate(base() + "/portal")
    expect("居民服务" in b.text(b.find("h1")), f"/portal heading is {b.text(b.find('h1'))!r}")
    expect(not b.find_all("#logout"), "the resident is signed in; the story needs an anonymous visitor")
    link = b.find("#go-new")
    expect("我要反映" in b.text(link), f"the first portal button reads {b.text(link)!r}")
    body = b.find("body")
    b.click(link)
    wait_loaded(b, body)
    expect(urllib.parse.urlparse(b.current_url()).path == "/portal/new",
           f"我要反映 opened {b.current_url()}")
    shot(b, "wo-portal-categories")


def check_choose_category(b):
    links = b.find_all(f"a.pt-cat[data-category='{CATEGORY}']")
    expect(links, f"the category chooser has no button for {CATEGORY}")
    name = b.text(links[0]).strip()
    body = b.find("body")
    b.click(links[0])
    wait_loaded(b, body)
    chosen = b.text(b.find("#chosen-category"))
    expect(name in chosen, f"chose {name!r} but the form says {chosen!r}")
    state["category_name"] = name
    return name


def check_choose_place(b):
    county, township = COMMUNITY_CODE[:6], COMMUNITY_CODE[:9]
    place_level(b, "#pt-county", county, "#pt-township")
    place_level(b, "#pt-township", township, "#pt-community")
    place_level(b, "#pt-community", COMMUNITY_CODE, None)
    names = [option_text(b, css, code) for css, code in
             (("#pt-county", county), ("#pt-township", township), ("#pt-community", COMMUNITY_CODE))]
    expect(all(names), f"an option name is missing: {names}")
    wait_for(lambda: b.execute_script("return document.getElementById('pt-division-value').value;")
             == COMMUNITY_CODE, timeout=5, what="the report form to carry the chosen community")
    chosen = b.text(b.find("#chosen-place"))
    expect(names[2] in chosen, f"chose {names[2]!r} but the page shows {chosen!r}")
    state["community_name"] = names[2]
    no_sideways_scroll(b, "the portal report form")
    return " › ".join(names)


def check_describe_attach_and_submit(b):
    # Extra questions of the category that must be answered.
    for fs in b.find_all("#pt-report fieldset.pt-q"):
        radios = b.find_all("input[type=radio][required]", within=fs)
        if radios:
            b.click(radios[0])
    for el in b.find_all("#pt-report input[required]:not([type=radio]), #pt-report textarea[required]"):
        if b.attribute(el, "id") != "pt-description" and not b.property(el, "value"):
            b.execute_script("arguments[0].value = '1';", b.ref(el))
    text = f"小区门口的垃圾桶满了三天没有清运，气味很大。（浏览器测试 {int(time.time())}）"
    state["description"] = text
    desc = b.find("#pt-description")
    b.cmd("POST", f"/element/{desc}/value", {"text": text})
    expect(b.property(desc, "value") == text, "the description box does not hold what was typed")
    photo = os.path.join(state["tmp"], "garbage.jpg")
    with open(photo, "wb") as f:
        f.write(tiny_jpeg())
    inputs = b.find_all("#pt-report input[type=file][name=photo]")
    expect(inputs, "the report form has no photo field")
    b.cmd("POST", f"/element/{inputs[0]}/value", {"text": photo})
    picked = b.execute_script("var f = arguments[0].files; return f.length ? f[0].name : '';",
                              b.ref(inputs[0]))
    expect(picked == "garbage.jpg", f"the photo field holds {picked!r}")
    shot(b, "wo-portal-form")
    submit(b, "#pt-submit")
    errors = b.find_all("#form-errors")
    expect(not errors, f"the report was refused: {b.text(errors[0]) if errors else ''}")
    expect("/portal/submitted/" in b.current_url(), f"submitting opened {b.current_url()}")
    expect("提交成功" in b.text(b.find("h1")), f"the receipt heading is {b.text(b.find('h1'))!r}")
    code = b.text(b.find("#tracking-code")).strip()
    expect(len(code) == 10 and all(c in CODE_CHARS for c in code),
           f"the 查询码 {code!r} is not 10 letters and digits")
    expect(b.current_url().rstrip("/").endswith(code), f"the receipt URL {b.current_url()} lacks {code}")
    state["code"] = code
    day = re.search(r"\d{4}-\d{2}-\d{2}", b.text(b.find("#pt-receipt dl")))
    expect(day, "the receipt shows no 提交时间")
    state["day"] = day.group(0)
    no_sideways_scroll(b, "the receipt")
    shot(b, "wo-portal-receipt")
    return f"查询码 {code}"


def check_resident_sees_progress(b):
    b.navigate(f"{base()}/portal/track/{state['code']}")
    expect(b.text(b.find("#tracking-code")).strip() == state["code"], "the tracking page shows another code")
    status = b.text(b.find("#status"))
    expect("已收到" in status or "已交给" in status, f"a new order's status reads {status!r}")
    expect(state["description"] in b.text(b.find("#description")), "the tracking page lacks the description")
    imgs = b.find_all("#report-photos img")
    expect(len(imgs) == 1, f"the tracking page shows {len(imgs)} of the resident's photos, not 1")
    wait_for(lambda: b.execute_script("return arguments[0].complete;", b.ref(imgs[0])), timeout=10,
             what="the photo to load")
    natural = b.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight];",
                               b.ref(imgs[0]))
    expect(natural == [48, 32], f"the stored photo decodes as {natural}, not 48x32")
    return status.replace("\n", " ")


def check_dispatcher_finds_order(b):
    who = sign_in_first(b, DISPATCHERS)
    state["dispatcher"] = who
    b.navigate(base() + "/workorders")
    expect("工作台" in b.text(b.find("h1")), f"/workorders heading is {b.text(b.find('h1'))!r}")
    no_sideways_scroll(b, "the workbench")
    shot(b, "wo-bench")
    # All orders of today, of this category, in the township: the newest come first.
    body = b.find("body")
    b.click(b.find("#tab-all"))
    wait_loaded(b, body)
    if not b.property(b.find("details.wo-filters"), "open"):
        b.click(b.find("details.wo-filters summary"))
    day = state["day"]
    choose(b, "#f-category", CATEGORY)
    choose(b, "#f-division", COMMUNITY_CODE[:9])
    fill(b, "#f-from", day)
    fill(b, "#f-to", day)
    submit(b, "#filter")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(b.current_url()).query)
    expect(query.get("queue") == ["all"] and query.get("division") == [COMMUNITY_CODE[:9]],
           f"the filters gave {b.current_url()}")
    shot(b, "wo-bench-filtered")
    row = find_row(b, "#orders li.wo-item", state["code"])
    link = b.find("a.wo-link", within=row) if row else None
    expect(link, f"the workbench has no row for 查询码 {state['code']} ({b.text(b.find('#total'))})")
    body = b.find("body")
    b.click(link)
    wait_loaded(b, body)
    expect(b.text(b.find("#tracking-code")).strip() == state["code"], "the row opened another order")
    state["order_url"] = b.current_url()
    expect(state["description"] in b.text(b.find("#order")), "the order page lacks the description")
    expect(b.find_all("#photos img"), "the order page shows no photo")
    return f"{who}: {b.current_url()}"


def check_dispatch_to_community(b):
    before = state_label(b)
    expect(before == "已受理", f"a new order reads {before!r}, not 已受理")
    expect(b.find_all("#form-dispatch"), "the order page offers the dispatcher no 派单 form")
    choose(b, "#dispatch-unit", COMMUNITY_CODE)
    done = act(b, "#form-dispatch")
    expect("派单" in done, f"after 派单 the notice reads {done!r}")
    expect(state_label(b) == "待签收", f"after 派单 the order reads {state_label(b)!r}, not 待签收")
    unit = b.text(b.find("#unit"))
    expect(state["community_name"] in unit, f"the order went to {unit!r}, not {state['community_name']}")
    shot(b, "wo-dispatched")
    b.navigate(base() + "/")
    sign_out(b)
    return unit


def check_community_signs_replies_closes(b):
    sign_in_first(b, (COMMUNITY,))
    b.navigate(state["order_url"])
    no_sideways_scroll(b, "the order page")
    expect(state_label(b) == "待签收", f"the community sees {state_label(b)!r}, not 待签收")
    shot(b, "wo-to-sign")
    done = act(b, "#form-sign")
    expect("签收" in done and state_label(b) == "已签收",
           f"after 签收: notice {done!r}, state {state_label(b)!r}")
    done = act(b, "#form-reply", {"#reply-text": "已联系环卫站，今天下午清运。"})
    expect("回复" in done and state_label(b) == "已回复",
           f"after 回复: notice {done!r}, state {state_label(b)!r}")
    done = act(b, "#form-close", {"#close-summary": "垃圾已清运，垃圾桶已清洗。"})
    expect("办结" in done and state_label(b) == "已办结",
           f"after 办结: notice {done!r}, state {state_label(b)!r}")
    history = b.text(b.find("#history"))
    for step in ("派单", "签收", "回复", "办结"):
        expect(step in history, f"the history lacks {step}: {history!r}")
    no_sideways_scroll(b, "the closed order page")
    shot(b, "wo-closed")
    b.navigate(base() + "/")
    sign_out(b)


def check_resident_rates_unsatisfied(b):
    b.navigate(f"{base()}/portal/track/{state['code']}")
    status = b.text(b.find("#status"))
    expect("已办结" in status, f"the resident sees {status!r}, not 已办结")
    expect(b.find_all("#rate-form"), "the closed order offers no rating")
    expect("负责单位已答复您" in b.text(b.find("#timeline")), "the resident's timeline lacks the reply")
    shot(b, "wo-rate")
    no_sideways_scroll(b, "the tracking page")
    button = b.find(f"#rate-form button[name=level][value='{RATING}']")
    expect(b.text(button).strip() == "不满意", f"level {RATING} reads {b.text(button)!r}, not 不满意")
    b.click(b.find("#rate-form input[name=solved][value=no]"))
    body = b.find("body")
    b.click(button)
    wait_loaded(b, body)
    errors = b.find_all("#rate-errors")
    expect(not errors, f"the rating was refused: {b.text(errors[0]) if errors else ''}")
    expect(b.find_all("#rated-thanks"), "no thanks after rating")
    rated = b.text(b.find("#rated"))
    expect("不满意" in rated and "非常不满意" not in rated, f"the page records {rated!r}")
    expect(not b.find_all("#rate-form"), "the order can be rated twice")
    return rated


def check_no_sideways_scroll_at_360px(b):
    widths = state.get("widths", [])
    expect(widths, "no page was measured")
    for page, phone, inner, wide, culprits in widths:
        expect(phone == 360, f"{page}: the layout viewport is {phone}px, not a 360px phone")
    bad = [f"{page} is {max(wide, inner)}px wide on a {phone}px phone"
           + (f" ({', '.join(culprits)})" if culprits else "")
           for page, phone, inner, wide, culprits in widths if max(wide, inner) > phone]
    expect(not bad, "; ".join(bad))
    return ", ".join(page for page, *_ in widths)


def check_community_sees_rectification(b):
    sign_in_first(b, (COMMUNITY,))
    b.navigate(base() + "/rectifications")
    expect("差评整改" in b.text(b.find("h1")), f"/rectifications heading is {b.text(b.find('h1'))!r}")
    no_sideways_scroll(b, "the 差评整改 queue")
    row = find_row(b, "#rectifications li.rect-item", state["code"])  # the newest deadline is last
    expect(row, f"the 差评整改 queue has no row for 工单 {state['code']}")
    text = b.text(row)
    expect(f"工单 {state['code']}" in text, f"the row reads {text!r}")
    level = b.text(b.find(".rect-level", within=row)).strip()
    expect(level == "不满意", f"the row's level is {level!r}, not 不满意")
    shot(b, "wo-rectifications")
    b.navigate(base() + "/")
    sign_out(b)
    return text.replace("\n", " · ")


CHECKS = [
    check_portal_home,
    check_choose_category,
    check_choose_place,
    check_describe_attach_and_submit,
    check_resident_sees_progress,
    check_dispatcher_finds_order,
    check_dispatch_to_community,
    check_community_signs_replies_closes,
    check_resident_rates_unsatisfied,
    check_community_sees_rectification,
    check_no_sideways_scroll_at_360px,
]


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/workorders_test.py http://127.0.0.1:PORT [screenshot_dir]",
              file=sys.stderr)
        return 2
    people_test.BASE = argv[1].rstrip("/")
    if len(argv) == 3:
        people_test.SHOTS = argv[2]
        os.makedirs(people_test.SHOTS, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    state["tmp"] = tempfile.mkdtemp(prefix="shequ-wo-")
    passed = failed = skipped = 0
    browser = None
    try:
        browser = Browser(width=360, height=800)
        for check in CHECKS:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            if failed and check is not check_no_sideways_scroll_at_360px:
                # Each step works on the order the steps before it made.
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
                    shot(browser, "wo-failed")
            sys.stdout.flush()
    except Exception as e:
        print(f"not ok - start headless Chromium: {e}")
        failed += 1
    finally:
        if browser:
            browser.quit()
        shutil.rmtree(state["tmp"], ignore_errors=True)
        print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
