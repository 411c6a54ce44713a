# SPDX-License-Identifier: ISC
"""The status page as a person sees it: headless Chromium (Debian's
chromium and chromium-driver) driven over WebDriver, against the page
served through nginx over a database filled by real signed notifications
(the world of test_status_page). It reads the numbers shown and compares
them with SQL, switches the configuration-set selector, searches an
address, checks that no request left the host, and saves full-page
screenshots at 1280 and 375 CSS pixels wide (their paths are printed).

Run: tests/integration/run.py browser.test_status_browser. Screenshots go
to SES_FEEDBACK_TEST_OUT, else tests/browser/out of the tree."""
import json
import os
import time
import urllib.parse

import harness as H
import test_status_page as T

from browser import webdriver as WD

W = T.StatusWorld()
OUT = os.environ.get("SES_FEEDBACK_TEST_OUT") or os.path.join(H.TOP, "tests", "browser", "out")
B = None
FOUND = WD.find_browser()


def setup():
    global B
    if FOUND is None:
        return
    # test_status_page's helpers (its SQL for the daily figures) read
    # this world
    T.W = W
    W.start()
    T.fill(W)
    os.makedirs(OUT, exist_ok=True)
    B = WD.Browser(FOUND[0], FOUND[1], W.tmp.path("chromedriver.log"))


def teardown():
    global B
    try:
        if B is not None:
            B.close()
        B = None
    finally:
        if W.tmp is not None:
            W.stop()


def need_browser():
    if FOUND is None:
        raise H.Skip("chromium or chromedriver not installed (tests/install-deps.sh installs "
                     "chromium and chromium-driver)")


def base():
    return "http://127.0.0.1:%d/status" % W.port


def rates(scope, name):
    r = W.pg.query("SELECT coalesce(bounce_rate_pct::text, ''), coalesce(complaint_rate_pct::text,"
                   " ''), hard_bounces, complaints, delivered, bounce_status, complaint_status"
                   " FROM ses_feedback.sending_rates WHERE scope = %s AND name = %s"
                   % (T.lit(scope), T.lit(name)))
    assert len(r) == 1, r
    return r[0]


def shown():
    """What the cards show: the two rates, their status texts, counts."""
    out = {}
    for card in ("bounce-now", "complaint-now"):
        out[card] = {
            "rate": B.attr(B.find("#%s data.v" % card), "value"),
            "big": B.text(B.find("#%s .big" % card)),
            "status": B.text(B.find("#%s .st" % card)),
            "count": B.text(B.find("#%s .count" % card)),
            "of": B.text(B.find("#%s .of" % card)),
        }
    return out


def check_against_sql(scope, name):
    br, cr, hb, co, dl, bs, cs = rates(scope, name)
    s = shown()
    assert s["bounce-now"]["rate"] == br and s["bounce-now"]["big"].startswith(br), (s, br)
    assert s["complaint-now"]["rate"] == cr and s["complaint-now"]["big"].startswith(cr), (s, cr)
    assert s["bounce-now"]["status"] == bs and s["complaint-now"]["status"] == cs, s
    assert s["bounce-now"]["count"] == hb and s["bounce-now"]["of"] == str(int(dl) + int(hb)), s
    assert s["complaint-now"]["count"] == co and s["complaint-now"]["of"] == dl, s
    # the card's colour is the status's
    cls = B.attr(B.find("#bounce-now"), "class")
    assert ("s-" + bs.split()[0]) in cls, (cls, bs)
    return s


def wait_url(pred, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        u = B.url()
        if pred(u):
            return u
        time.sleep(0.1)
    raise AssertionError("%s: still at %s" % (what, B.url()))


def requests_seen():
    """URLs of every request the browser sent since the last call
    (DevTools Network events from the performance log), and every resource
    the page loaded (Resource Timing)."""
    urls = []
    for e in B.logs("performance"):
        m = json.loads(e["message"])["message"]
        if m.get("method") == "Network.requestWillBeSent":
            urls.append(m["params"]["request"]["url"])
    urls += B.script("return performance.getEntriesByType('resource').map(e => e.name)"
                     ".concat([location.href])")
    return urls


def local(u):
    p = urllib.parse.urlsplit(u)
    return p.scheme in ("http",) and p.hostname == "127.0.0.1" and p.port == W.port \
        or p.scheme == "data"


# ---- the tests ---------------------------------------------------------------

def test_numbers_shown_equal_sql():
    need_browser()
    B.logs("performance")
    B.get(base())
    assert B.script("return document.title").endswith("SES sending status")
    s = check_against_sql("all", "(all)")
    assert s["bounce-now"]["rate"] not in ("", "0.000")
    # the charts are there and drawn, each with its text equivalent
    for chart, table in (("bounce-chart", "bounce-table"), ("complaint-chart", "complaint-table"),
                         ("supp-chart", "supp-table")):
        el = B.find("#" + chart)
        assert B.attr(el, "role") == "img"
        w = B.script("return document.getElementById(arguments[0]).getBoundingClientRect().width",
                     chart)
        assert w > 300, (chart, w)
        rows = B.find_all("#%s tbody tr" % table)
        assert len(rows) == 30, (table, len(rows))
    # a day's row equals SQL
    want = T.daily(30)
    cells = [B.text(c) for c in B.find_all("#bounce-table tbody tr:first-child td")]
    assert cells[:3] == [want[-1][0], want[-1][1], want[-1][2]], (cells, want[-1])
    # the style element applied (allowed by its hash): the big number is big
    fs = B.script("return getComputedStyle(document.querySelector('#bounce-now .big')).fontSize")
    assert float(fs.rstrip("px")) > 30, fs


def test_selector_switches_configuration_set():
    need_browser()
    B.get(base())
    B.click(B.find('#sel-configuration_set option[value="%s"]' % T.CS_OTHER))
    B.click(B.find("#pick-configuration_set button"))
    u = wait_url(lambda u: "scope=configuration_set" in u, "the selector's form")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(u).query)
    assert q["name"] == [T.CS_OTHER] and q["days"] == ["30"], q
    check_against_sql("configuration_set", T.CS_OTHER)
    assert T.CS_OTHER in B.text(B.find("h1"))
    # the 7-day link keeps the choice
    B.click(B.find('.days a[href^="?days=7"]'))
    u = wait_url(lambda u: "days=7" in u, "the 7 days link")
    assert "name=" + T.CS_OTHER in u
    assert len(B.find_all("#bounce-table tbody tr")) == 7


def test_search_an_address():
    need_browser()
    B.get(base())
    B.type(B.find("#q"), "HB1-0@bounce.example")
    B.click(B.find("#search button"))
    wait_url(lambda u: "q=" in u, "the search form")
    res = B.text(B.find("#search-result"))
    assert "hb1-0@bounce.example: suppressed" in res, res
    state = B.text(B.find("#search-suppressions tbody tr td"))
    want = W.pg.scalar("SELECT CASE WHEN lifted_at IS NULL THEN 'active' ELSE 'lifted' END"
                       " FROM ses_feedback.suppressions WHERE email = 'hb1-0@bounce.example'")
    assert state == want == "active", (state, want)
    # hostile values are text, not markup
    B.type(B.find("#q"), T.HOSTILE_RCPT)
    B.click(B.find("#search button"))
    wait_url(lambda u: "evil.example" in u, "the hostile search")
    assert T.HOSTILE_RCPT in B.text(B.find("#search-result"))
    assert B.script("return document.querySelectorAll('script, [onload]').length") == 0


def test_no_request_leaves_the_host():
    need_browser()
    B.logs("performance")
    B.get(base() + "?days=90")
    B.get(base() + "?scope=configuration_set&name=" + urllib.parse.quote(T.HOSTILE_CS))
    urls = requests_seen()
    assert urls, "no request seen at all: the check would pass vacuously"
    away = [u for u in urls if not local(u)]
    assert not away, away
    # and the browser reports no CSP violation (the style's hash matched)
    csp = [e["message"] for e in B.logs("browser") if "Content Security Policy" in e["message"]]
    assert not csp, csp


def test_screenshots_desktop_and_phone():
    need_browser()
    B.get(base() + "?q=" + urllib.parse.quote("hb0-0@bounce.example"))
    paths = []
    for width, height, name in ((1280, None, "status-1280.png"), (375, None, "status-375.png"),
                                (375, 812, "status-375-first-screen.png")):
        p = B.screenshot(os.path.join(OUT, name), width, height)
        assert os.path.getsize(p) > 10000, p
        paths.append(p)
    B.cdp("Emulation.setDeviceMetricsOverride",
          {"width": 375, "height": 800, "deviceScaleFactor": 1, "mobile": True})
    try:
        # nothing wider than the phone: wide tables scroll in their boxes
        sw = B.script("return document.documentElement.scrollWidth")
        assert sw <= 375, "the page is %d px wide at 375" % sw
    finally:
        B.cdp("Emulation.clearDeviceMetricsOverride")
    for p in paths:
        print("# screenshot %s" % p, flush=True)


def test_print_shows_everything_without_controls():
    need_browser()
    import base64
    B.get(base() + "?days=90")
    B.cdp("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        nav = B.script("return getComputedStyle(document.querySelector('nav.bar')).display")
        assert nav == "none", nav
        boxes = B.script("return [...document.querySelectorAll('.scroll')].map("
                         "e => [getComputedStyle(e).maxHeight, e.scrollHeight - e.clientHeight])")
        assert boxes and all(m == "none" and clipped <= 1 for m, clipped in boxes), boxes
        p = B.screenshot(os.path.join(OUT, "status-print.png"), 800)
    finally:
        B.cdp("Emulation.setEmulatedMedia", {"media": ""})
    pdf = B.cdp("Page.printToPDF", {"printBackground": False, "paperWidth": 8.27,
                                    "paperHeight": 11.69})
    path = os.path.join(OUT, "status.pdf")
    with open(path, "wb") as f:
        f.write(base64.b64decode(pdf["data"]))
    assert os.path.getsize(path) > 10000
    print("# screenshot %s" % p, flush=True)
    print("# print %s" % path, flush=True)
