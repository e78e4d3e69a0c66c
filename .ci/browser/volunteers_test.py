#!/usr/bin/env python3
"""Browser test of 志愿者 check-in on a 360 px phone, against a running demo.

Usage:
    python3 .ci/browser/volunteers_test.py http://127.0.0.1:PORT [screenshot_dir]

Start the server first with a demo, e.g.:
    shequ demo --db sqlite:///tmp/vo.db --scale small --people 3000 --serve --bind 127.0.0.1:8099

Story: the community worker publishes an activity starting in a minute or two
(check-in opens 30 minutes before the start), and opens the venue page with the
check-in code in big digits and its QR code. The `volunteer` login (registering
itself first when the demo did not link it to a volunteer record) signs up,
types the code and checks in. Once the activity has started, the organiser
confirms the service minutes on the hours page, and the volunteer finds them
in 我的志愿服务. No page scrolls sideways at 360 px.
Prints "ok - ..." / "not ok - ...: detail" per check, then "N passed, M failed".
"""

import datetime
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from people_test import CheckFailed, expect, fill, id_number, sign_in, sign_out, submit  # noqa: E402
import people_test  # noqa: E402
from webdriver import Browser  # noqa: E402

TITLE = "浏览器测试：社区助老服务"
state = {}


def base():
    return people_test.BASE


def shot(b, name):
    if people_test.SHOTS:
        b.screenshot(os.path.join(people_test.SHOTS, name + ".png"))


def no_sideways_scroll(b, page):
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


def beijing(t):
    """A datetime-local value in Beijing time."""
    return (t + datetime.timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def check_community_publishes_activity(b):
    sign_in(b, "community")
    b.navigate(base() + "/volunteer-activities/new")
    no_sideways_scroll(b, "the publish form")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    start = (now + datetime.timedelta(minutes=2)).replace(second=0, microsecond=0)
    state["start"] = start
    fill(b, "#title", TITLE)
    fill(b, "#place", "党群服务中心一楼")
    fill(b, "#starts", beijing(start))
    fill(b, "#ends", beijing(start + datetime.timedelta(hours=2)))
    fill(b, "#quota", "5")
    submit(b, "#publish")
    m = re.search(r"/volunteer-activities/(\d+)", b.current_url())
    expect(m, f"publishing went to {b.current_url()}: {b.text(b.find('main'))[:300]}")
    state["id"] = m.group(1)
    expect(TITLE in b.text(b.find("h1")), "the activity page shows another title")
    no_sideways_scroll(b, "the activity page (organiser)")
    return f"activity {state['id']}"


def check_venue_page_shows_code_and_qr(b):
    b.navigate(f"{base()}/volunteer-activities/{state['id']}/venue")
    code = b.text(b.find("#checkin-code")).strip()
    expect(re.fullmatch(r"\d{6}", code), f"the venue code reads {code!r}")
    expect(b.find_all("#checkin-qr svg"), "no QR code on the venue page")
    state["code"] = code
    no_sideways_scroll(b, "the venue page")
    shot(b, "vo-venue")
    sign_out(b)
    return code


def check_volunteer_signs_up(b):
    sign_in(b, "volunteer")
    b.navigate(base() + "/my/volunteering")
    if b.find_all("#register-form"):
        seq = int(time.time()) % 900 + 50
        fill(b, "#name", "浏览器志愿者")
        fill(b, "#id_number", id_number("430502", "19850101", seq))
        fill(b, "#phone", "13912345678")
        fill(b, "#skills", "陪诊、理发")
        b.click(b.find("#consent"))
        submit(b, "#register-submit")
        expect(b.find_all("#volunteer-no"), "self-registration did not issue a volunteer number: "
               + b.text(b.find("main"))[:300])
    no_sideways_scroll(b, "我的志愿服务")
    b.navigate(f"{base()}/volunteer-activities/{state['id']}")
    submit(b, "#signup")
    notice = b.text(b.find("#notice")) if b.find_all("#notice") else b.text(b.find("main"))[:300]
    expect("报名成功" in notice, f"signing up says {notice!r}")
    no_sideways_scroll(b, "the activity page (volunteer)")
    return notice


def check_volunteer_checks_in_with_code(b):
    b.navigate(f"{base()}/volunteer-activities/{state['id']}")
    expect(b.find_all("#checkin-form"), "no check-in form within 30 minutes of the start")
    wrong = "000000" if state["code"] != "000000" else "111111"
    fill(b, "#code", wrong)
    submit(b, "#checkin")
    err = b.text(b.find("#error")) if b.find_all("#error") else ""
    expect("签到码不正确" in err, f"a wrong code says {err!r}")
    fill(b, "#code", state["code"])
    submit(b, "#checkin")
    notice = b.text(b.find("#notice")) if b.find_all("#notice") else b.text(b.find("main"))[:300]
    expect("签到成功" in notice, f"checking in says {notice!r}")
    no_sideways_scroll(b, "the check-in page")
    shot(b, "vo-checked-in")
    sign_out(b)
    return notice


def check_organiser_confirms_hours(b):
    wait = (state["start"] - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)).total_seconds()
    if wait > 0:
        time.sleep(wait + 2)
    sign_in(b, "community")
    b.navigate(f"{base()}/volunteer-activities/{state['id']}/hours")
    selects = b.find_all("#signups select")
    expect(selects, "the hours page has nothing to confirm: " + b.text(b.find("main"))[:300])
    b.execute_script(
        "document.querySelectorAll('#signups select').forEach(function (s) { s.value = 'confirm'; });")
    submit(b, "#confirm-hours")
    notice = b.text(b.find("#notice")) if b.find_all("#notice") else b.text(b.find("main"))[:300]
    expect("已确认" in notice, f"confirming says {notice!r}")
    rows = b.text(b.find("#signups"))
    expect("已完成" in rows, f"the sign-ups read {rows!r}")
    no_sideways_scroll(b, "the hours page")
    sign_out(b)
    return rows.replace("\n", " · ")[:120]


def check_volunteer_sees_hours(b):
    sign_in(b, "volunteer")
    b.navigate(base() + "/my/volunteering")
    record = b.text(b.find("#record"))
    expect(TITLE in record and "已完成" in record, f"the record reads {record[:300]!r}")
    total = b.text(b.find("#record-total"))
    if b.find_all("#volunteer-no"):
        state["volunteer_no"] = b.text(b.find("#volunteer-no")).strip()
    no_sideways_scroll(b, "我的志愿服务 (after)")
    sign_out(b)
    return total


def check_organiser_issues_certificate(b):
    expect(state.get("volunteer_no"), "我的志愿服务 showed no volunteer number to certify")
    sign_in(b, "community")
    b.navigate(base() + "/certificates/new")
    expect(b.find_all("#certificate-form"), "no certificate form: " + b.text(b.find("main"))[:300])
    no_sideways_scroll(b, "the certificate form")
    # The form's defaults run from 1 January to the server's today (Beijing time).
    first = b.property(b.find("#from"), "value")
    today = b.property(b.find("#to"), "value")
    served = (state["start"] + datetime.timedelta(hours=8)).strftime("%Y-%m-%d")
    # The duplicate rule is an exact volunteer + period match, so when the demo
    # already certified the default period, a shorter one still holds the new hours.
    periods = [(first, today), (served, today), (served, served)]
    tried = []
    for frm, to in dict.fromkeys(periods):
        if frm > to:
            continue
        if "/certificates/new" not in b.current_url() and not b.find_all("#certificate-form"):
            b.navigate(base() + "/certificates/new")
        fill(b, "#volunteer_no", state["volunteer_no"])
        fill(b, "#from", frm)
        fill(b, "#to", to)
        fill(b, "#issuer_head", "张主任")
        fill(b, "#issuer_contact", "0731-12345678")
        fill(b, "#remarks", "浏览器测试开具")
        submit(b, "#issue")
        if b.find_all("#cert-number"):
            break
        errors = b.text(b.find("#form-errors")) if b.find_all("#form-errors") else b.text(b.find("main"))[:300]
        tried.append(f"{frm}..{to}: {errors!r}")
        expect("已有有效证明" in errors, f"issuing for {frm}..{to} says {errors!r}")
    expect(b.find_all("#cert-number"), "every period collided with an earlier certificate: " + "; ".join(tried))
    number = b.text(b.find("#cert-number")).strip()
    expect(re.search(r"/certificates/" + re.escape(number) + r"$", b.current_url()),
           f"issuing went to {b.current_url()}, not the page of {number!r}")
    paper = b.text(b.find("#certificate"))
    expect("志愿服务记录证明" in paper and state["volunteer_no"] in paper,
           f"the certificate reads {paper[:300]!r}")
    hours = re.search(r"累计服务时长 (\S+ 小时（[^）]*）)", paper)
    expect(hours, f"the certificate states no hours: {paper[:300]!r}")
    items = b.text(b.find("#items"))
    expect(TITLE in items, f"the counted records leave out the confirmed activity: {items[:300]!r}")
    state["number"] = number
    state["hours"] = hours.group(1)
    state["period"] = f"{frm} 至 {to}"
    no_sideways_scroll(b, "the certificate page")
    shot(b, "vo-certificate")
    return f"{number}, {frm}..{to}, {state['hours']}" + (f" (after {len(tried)} collision(s))" if tried else "")


def check_certificate_verifies_publicly(b):
    sign_out(b)
    expect(not b.find_all("#logout"), "still signed in after signing out")
    b.navigate(f"{base()}/v/{state['number']}")
    expect(not b.find_all("#logout"), "the verification page shows a session")
    expect("/login" not in b.current_url(), f"the verification page asks to sign in: {b.current_url()}")
    verdict = b.find("#verdict")
    label = b.text(verdict).strip()
    cls = b.attribute(verdict, "class") or ""
    expect(label == "有效" and "cert-valid" in cls.split(),
           f"the verdict reads {label!r} (class {cls!r}), not 有效")
    facts = b.text(b.find("#verify"))
    for want in (state["number"], state["volunteer_no"], state["hours"], state["period"]):
        expect(want in facts, f"the verification page lacks {want!r}: {facts[:400]!r}")
    no_sideways_scroll(b, "the verification page")
    shot(b, "vo-verify")
    return f"{label}, {state['hours']}"


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


CHECKS = [
    check_community_publishes_activity,
    check_venue_page_shows_code_and_qr,
    check_volunteer_signs_up,
    check_volunteer_checks_in_with_code,
    check_organiser_confirms_hours,
    check_volunteer_sees_hours,
    check_organiser_issues_certificate,
    check_certificate_verifies_publicly,
    check_no_sideways_scroll_at_360px,
]


def main(argv):
    if len(argv) not in (2, 3) or not argv[1].startswith("http"):
        print("usage: python3 .ci/browser/volunteers_test.py http://127.0.0.1:PORT [screenshot_dir]",
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
