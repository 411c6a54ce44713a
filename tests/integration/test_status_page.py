# SPDX-License-Identifier: ISC
"""The status page end to end: a database filled by real signed SNS
notifications through nginx, the page read back through nginx from a
location with SES_FEEDBACK_ENDPOINT=status, and what it shows compared with
SQL of our own to the last digit. Also its headers, its refusals and its
escaping of hostile values."""
import copy
import datetime
import html.parser
import json
import os
import re
import urllib.parse
import uuid

import harness as H
import sns_signer as S

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
TOPIC_PENDING = "arn:aws:sns:us-east-1:123456789012:ses-waiting"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-*"
SENDER = "sender@example.com"
CS = "marketing"
CS_OTHER = "transactional"
# Markup where a string goes into the page: an address (quoted local parts
# may hold it), a configuration set name (a tag), a diagnostic code.
HOSTILE_CS = '"><svg onload=alert(2)>'
HOSTILE_RCPT = '"<script>alert(1)</script>"@evil.example'
HOSTILE_RCPT2 = "\"'><svg/onload=alert(3)>\"@evil.example"
HOSTILE_DIAG = 'smtp; 550 <script>alert("dc")</script> user unknown'


class StatusWorld(H.World):
    def __init__(self):
        super().__init__(ALLOWED)

    def locations(self):
        return [("/sns", {}),
                ("/sns-manual", {"SES_FEEDBACK_AUTO_CONFIRM": "off"}),
                ("/status", {"SES_FEEDBACK_ENDPOINT": "status"}),
                ("/status-nodb", {"SES_FEEDBACK_ENDPOINT": "status",
                                  "SES_FEEDBACK_DSN": "host=127.0.0.1 port=1 dbname=none"
                                                      " connect_timeout=2"})]


W = StatusWorld()


def setup():
    W.start()
    fill(W)


def teardown():
    W.stop()


# ---- filling the database with real notifications ---------------------------

def _fixture(name):
    return json.loads(H.fixture(name, fresh=False))


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def event(kind, rcpts, when, cs=CS, source=SENDER, diag=None, feedback=None):
    """An SES event publishing message of kind (Delivery, Bounce,
    Complaint) for rcpts at when, from an AWS example."""
    base = {"Delivery": "event-delivery.json", "Bounce": "event-bounce.json",
            "Complaint": "event-complaint.json"}[kind]
    d = copy.deepcopy(_fixture(base))
    d["mail"]["timestamp"] = _iso(when - datetime.timedelta(seconds=5))
    d["mail"]["source"] = source
    d["mail"]["messageId"] = "EXAMPLE-" + uuid.uuid4().hex
    d["mail"]["destination"] = list(rcpts)
    tags = d["mail"].setdefault("tags", {})
    if cs is None:
        tags.pop("ses:configuration-set", None)
    else:
        tags["ses:configuration-set"] = [cs]
    if kind == "Delivery":
        d["delivery"]["timestamp"] = _iso(when)
        d["delivery"]["recipients"] = list(rcpts)
    elif kind == "Bounce":
        b = d["bounce"]
        b["timestamp"] = _iso(when)
        b["feedbackId"] = "fb-" + uuid.uuid4().hex
        tpl = b["bouncedRecipients"][0]
        b["bouncedRecipients"] = []
        for r in rcpts:
            x = dict(tpl, emailAddress=r)
            if diag is not None:
                x["diagnosticCode"] = diag
            b["bouncedRecipients"].append(x)
    else:
        c = d["complaint"]
        c["timestamp"] = _iso(when)
        c["arrivalDate"] = _iso(when)
        c["feedbackId"] = "fb-" + uuid.uuid4().hex
        c["complainedRecipients"] = [{"emailAddress": r} for r in rcpts]
        if feedback is not None:
            c["complaintFeedbackType"] = feedback
    return json.dumps(d)


def send(w, message, topic=TOPIC, path="/sns"):
    env = w.signed(message, topic)
    st, _, body = w.post(env, path)
    assert st == 200, (st, body)


def fill(w):
    """Three days of mail over two configuration sets and one hostile one:
    deliveries, hard bounces (one with a hostile diagnostic code, two to
    hostile addresses), complaints (one not-spam, which does not count),
    and a pending subscription."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    for back, (deliv, hard, compl) in enumerate([(40, 3, 1), (25, 2, 0), (60, 1, 2)]):
        when = now - datetime.timedelta(days=back, minutes=1)
        rc = ["d%d-%d@example.org" % (back, i) for i in range(deliv)]
        send(w, event("Delivery", rc[:deliv // 2], when, cs=CS))
        send(w, event("Delivery", rc[deliv // 2:], when, cs=CS_OTHER))
        send(w, event("Bounce", ["hb%d-%d@bounce.example" % (back, i) for i in range(hard)],
                      when, cs=CS))
        send(w, event("Complaint", ["c%d-%d@example.org" % (back, i) for i in range(compl)],
                      when, cs=CS_OTHER))
    send(w, event("Complaint", ["ns@example.org"], now, cs=CS, feedback="not-spam"))
    send(w, event("Delivery", ["h1@evil.example", "h2@evil.example"], now, cs=HOSTILE_CS))
    send(w, event("Bounce", [HOSTILE_RCPT, HOSTILE_RCPT2], now, cs=HOSTILE_CS,
                  diag=HOSTILE_DIAG))
    send(w, event("Bounce", ["diag@bounce.example"], now, cs=CS, diag=HOSTILE_DIAG))
    conf = S.sign(S.envelope(TOPIC_PENDING, "You have chosen to subscribe",
                             kind="SubscriptionConfirmation",
                             cert=S.cert_url(TOPIC_PENDING, H.CERT_ID)), w.certs.sign_key)
    st, _, body = w.post(conf, "/sns-manual")
    assert st == 200, (st, body)
    for r in (HOSTILE_RCPT, HOSTILE_RCPT2):
        n = int(w.pg.scalar("SELECT count(*) FROM ses_feedback.recipient_events WHERE email = %s"
                            % lit(r)))
        assert n == 1, "hostile address %s not stored as an address (%d)" % (r, n)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


# ---- reading the page --------------------------------------------------------

class Page(html.parser.HTMLParser):
    """The elements with an id (their text), the rows of every table with
    an id, the <data> values, options and attributes seen."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.text = {}       # id -> text inside
        self.tables = {}     # table id -> [[cell text, ...], ...]
        self.data = {}       # enclosing id -> [value of <data>]
        self.options = {}    # select id -> [(value, text, selected)]
        self.tags = []       # (tag, attrs) of every start tag
        self._open = []      # [(tag, id, [text parts])]
        self._table = None
        self._row = None
        self._cell = None
        self._select = None
        self._option = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        void = tag in ("meta", "input", "br", "link", "img")
        if not void:
            self._open.append((tag, a.get("id"), []))
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "data":
            owner = next((i for _, i, _ in reversed(self._open) if i), None)
            self.data.setdefault(owner, []).append(a.get("value"))
        elif tag == "select":
            self._select = a.get("id")
            self.options[self._select] = []
        elif tag == "option" and self._select is not None:
            self._option = [a.get("value"), [], "selected" in a]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "option" and self._option is not None:
            v, t, s = self._option
            self.options[self._select].append((v, "".join(t), s))
            self._option = None
        elif tag == "select":
            self._select = None
        while self._open:
            t, i, parts = self._open.pop()
            if i:
                self.text[i] = "".join(parts)
            if t == tag:
                break

    def handle_data(self, d):
        for _, _, parts in self._open:
            parts.append(d)
        if self._cell is not None:
            self._cell.append(d)
        if self._option is not None:
            self._option[1].append(d)

    def rows(self, table):
        """The body rows (the header row dropped)."""
        return self.tables[table][1:]


def get(path, method="GET", headers=None):
    return H.request(W.port, method, path, headers=headers)


def page(query=""):
    st, hd, body = get("/status" + query)
    assert st == 200, (st, body[:300])
    return hd, body, Page(body)


def q(**kw):
    return "?" + urllib.parse.urlencode(kw)


def sql_rows(sql):
    return W.pg.query(sql)


def rates(scope, name):
    r = sql_rows("SELECT delivered, hard_bounces, complaints, coalesce(bounce_rate_pct::text,''),"
                 " bounce_status, coalesce(complaint_rate_pct::text,''), complaint_status"
                 " FROM ses_feedback.sending_rates WHERE scope = %s AND name = %s"
                 % (lit(scope), lit(name)))
    assert len(r) == 1, r
    return r[0]


def daily(days, scope="all", name="(all)"):
    """Per UTC day, oldest first: delivered, hard bounces, complaints and the
    two rates, the way sending_rates counts and rounds them; our own SQL,
    not the page's function."""
    cond = {"all": "true", "identity": "n.source = %s" % lit(name),
            "configuration_set": "n.configuration_set = %s" % lit(name)}[scope]
    return sql_rows("""
        WITH d AS (SELECT generate_series((now() AT TIME ZONE 'UTC')::date - %d + 1,
                                          (now() AT TIME ZONE 'UTC')::date, '1 day')::date AS day),
        c AS (SELECT (e.occurred_at AT TIME ZONE 'UTC')::date AS day,
                     count(*) FILTER (WHERE e.event_type = 'Delivery') AS dl,
                     count(*) FILTER (WHERE e.event_type = 'Bounce'
                                        AND e.outcome = 'hard_bounce') AS hb,
                     count(*) FILTER (WHERE e.event_type = 'Complaint' AND
                                      e.complaint_feedback_type IS DISTINCT FROM 'not-spam') AS co
                FROM ses_feedback.recipient_events e
                JOIN ses_feedback.notifications n ON n.id = e.notification_id
               WHERE %s GROUP BY 1)
        SELECT d.day, coalesce(dl, 0), coalesce(hb, 0), coalesce(co, 0),
               coalesce(round(100.0 * hb / nullif(dl + hb, 0), 3)::text, ''),
               coalesce(round(100.0 * co / nullif(dl, 0), 3)::text, '')
          FROM d LEFT JOIN c USING (day) ORDER BY d.day""" % (days, cond))


def dash(s):
    """A cell's text as the SQL above writes it: the page shows a dash
    for null."""
    return "" if s == "\u2013" else s


# ---- the tests -----------------------------------------------------------------

def test_big_numbers_equal_sending_rates():
    for scope, name, query in (("all", "(all)", ""),
                               ("configuration_set", CS, q(scope="configuration_set", name=CS)),
                               ("configuration_set", CS_OTHER,
                                q(scope="configuration_set", name=CS_OTHER))):
        _, _, p = page(query)
        dl, hb, co, br, bs, cr, cs = rates(scope, name)
        assert p.data["bounce-now"] == [br], (scope, name, p.data, br)
        assert p.data["complaint-now"] == [cr], (scope, name, p.data, cr)
        assert bs in p.text["bounce-now"], (p.text["bounce-now"], bs)
        assert cs in p.text["complaint-now"], (p.text["complaint-now"], cs)
        bn = re.sub(r"\s+", " ", p.text["bounce-now"])
        assert "%s hard bounces of %d " % (hb, int(dl) + int(hb)) in bn, (bn, dl, hb)
        cn = re.sub(r"\s+", " ", p.text["complaint-now"])
        assert "%s complaints of %s delivered" % (co, dl) in cn, (cn, dl, co)
    # the data is not trivially zero: the filled days show in the rates
    assert rates("all", "(all)")[3] not in ("", "0.000")


def test_daily_tables_equal_sql_for_each_window_and_scope():
    for days in (7, 30, 90):
        for scope, name in (("all", "(all)"), ("configuration_set", CS),
                            ("configuration_set", CS_OTHER)):
            query = q(days=days) if scope == "all" else q(days=days, scope=scope, name=name)
            _, body, p = page(query)
            want = daily(days, scope, name)
            assert len(want) == days
            got_b = list(reversed(p.rows("bounce-table")))
            got_c = list(reversed(p.rows("complaint-table")))
            assert [[r[0], r[1], r[2], dash(r[3])] for r in got_b] == \
                [[w[0], w[1], w[2], w[4]] for w in want], (days, scope, name)
            assert [[r[0], r[1], r[2], dash(r[3])] for r in got_c] == \
                [[w[0], w[1], w[3], w[5]] for w in want], (days, scope, name)
            # one chart point per day with volume, and the bands drawn
            pts = len([1 for w in want if w[4] != ""])
            chart = body.split('id="bounce-chart"', 1)[1].split("</svg>", 1)[0]
            assert chart.count("<circle") == pts, (days, scope, chart.count("<circle"), pts)
            for cls in ("b-ok", "b-above", "b-review", "b-pause", "th-pause"):
                assert cls in chart, cls


def test_suppressions_per_day_equal_sql():
    _, _, p = page(q(days=7))
    want = sql_rows("""
        WITH d AS (SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 6,
                                          (now() AT TIME ZONE 'UTC')::date, '1 day')::date AS day)
        SELECT d.day, %s FROM d ORDER BY d.day""" % ", ".join(
        "(SELECT count(*) FROM ses_feedback.suppression_log l WHERE l.action = 'suppress'"
        " AND l.reason = '%s' AND (l.at AT TIME ZONE 'UTC')::date = d.day)" % r
        for r in ("hard_bounce", "soft_bounce", "complaint", "unsubscribe", "manual")))
    got = list(reversed(p.rows("supp-table")))
    assert got == [list(r) for r in want], (got, want)
    assert sum(int(x) for r in want for x in r[1:]) > 0


def test_domains_and_latest_and_subscriptions():
    _, body, p = page()
    dom = sql_rows("SELECT domain, hard_bounces, soft_bounces, complaints, delivered"
                   " FROM ses_feedback.top_bouncing_domains"
                   " ORDER BY hard_bounces DESC, soft_bounces DESC, domain LIMIT 10")
    assert [r[:5] for r in p.rows("domains-table")] == [list(r) for r in dom]
    latest = p.rows("latest-table")
    assert 0 < len(latest) <= 20
    n = int(W.pg.scalar("SELECT count(*) FROM ses_feedback.suppression_log"))
    assert len(latest) == min(n, 20), (len(latest), n)
    subs = {r[0]: r for r in p.rows("subs-table")}
    assert subs[TOPIC_PENDING][1] == "pending" and "pending" in subs[TOPIC_PENDING][4]
    assert "Subscriptions need attention" in p.text["warnings"]
    assert TOPIC_PENDING in p.text["warnings"]


def test_selector_lists_every_identity_and_configuration_set():
    _, _, p = page()
    want = {r[0] for r in sql_rows("SELECT name FROM ses_feedback.sending_rates"
                                   " WHERE scope = 'configuration_set' AND name <> '(none)'")}
    got = {v for v, _, _ in p.options["sel-configuration_set"] if v}
    assert want <= got and {CS, CS_OTHER, HOSTILE_CS} <= got, (want, got)
    _, _, p = page(q(scope="configuration_set", name=CS_OTHER))
    sel = [v for v, _, s in p.options["sel-configuration_set"] if s]
    assert sel == [CS_OTHER], sel


def test_search_shows_suppression_state_and_history():
    addr = "hb0-0@bounce.example"
    _, _, p = page(q(q="  HB0-0@Bounce.Example "))
    assert "suppressed" in p.text["search-result"]
    assert "not suppressed" not in p.text["search-result"]
    rows = p.rows("search-suppressions")
    want = sql_rows("SELECT count(*) FROM ses_feedback.suppressions WHERE email = %s" % lit(addr))
    assert len(rows) == int(want[0][0]) >= 1, (rows, want)
    assert rows[0][0] == "active" and rows[0][5] == "hard_bounce", rows
    assert len(p.rows("search-history")) >= 1
    _, _, p = page(q(q="nobody@nowhere.example"))
    assert "not suppressed" in p.text["search-result"]


def test_headers_strict():
    st, hd, body = get("/status")
    assert st == 200
    assert hd["content-type"] == "text/html; charset=utf-8"
    csp = hd["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
    assert "script-src" not in csp and "unsafe" not in csp
    # the style element's hash is the one allowed
    import base64
    import hashlib
    style = body.split("<style>", 1)[1].split("</style>", 1)[0]
    h = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert "style-src 'sha256-%s'" % h in csp, (csp, h)
    assert body.count("<style") == 1
    assert hd["x-content-type-options"] == "nosniff"
    assert hd["cache-control"] == "no-store"
    assert hd["referrer-policy"] == "no-referrer"
    # no script, no external reference, no inline style attribute
    assert "<script" not in body.replace("&lt;script", "")
    p = Page(body)
    bad = [(t, k) for t, a in p.tags for k in a
           if k in ("src", "style", "srcset", "xlink:href") or k.startswith("on")]
    assert not bad, bad
    outside = [(t, k, v) for t, a in p.tags for k, v in a.items()
               if k in ("href", "action") and v and not v.startswith("?") and not v.startswith("#")]
    assert not outside, outside
    st, hd, body = get("/status", method="HEAD")
    assert st == 200 and body == ""


def test_bad_query_answers_400_and_logs():
    for bad in ("?days=14", "?days=7&days=30", "?scope=nation", "?scope=identity",
                "?name=x", "?x=1", "?days", "?q=%zz", "?q=a%00b", "?q=%ff%fe",
                "?q=" + "a" * 400, "?days=7&&scope=all"):
        st, hd, body = get("/status" + bad)
        assert st == 400, (bad, st, body)
        assert body.startswith("bad query: "), (bad, body)
        assert "nosniff" in hd.get("x-content-type-options", "")
    H.wait_for(lambda: "status page query: days must be 7, 30 or 90" in W.serve.text(),
               what="the log line of a refused query")
    assert "outcome=bad_request" in W.serve.text()


def test_post_refused():
    st, hd, body = H.request(W.port, "POST", "/status", body=b"{}",
                             headers={"Content-Type": "application/json"})
    assert st == 405, (st, body)
    assert "status page" in body


def test_database_down_answers_503():
    st, hd, body = get("/status-nodb")
    assert st == 503, (st, body)
    assert "unavailable" in body and "host=" not in body
    assert hd.get("retry-after")


def test_hostile_values_render_as_text():
    for query in ("", q(scope="configuration_set", name=HOSTILE_CS),
                  q(q=HOSTILE_RCPT), q(q=HOSTILE_RCPT2), q(q="diag@bounce.example"),
                  q(q='<script>alert(9)</script>"\'')):
        _, body, p = page(query)
        for raw in ("<script", "<svg onload", "<svg/onload"):
            assert raw not in body, (query, raw, body[body.find(raw) - 80:body.find(raw) + 80])
        assert not any(k.startswith("on") for _, a in p.tags for k in a), query
        assert not any(t in ("script", "iframe", "object", "embed") for t, _ in p.tags)
        # the only svg elements are our charts
        assert all(a.get("class") == "chart" for t, a in p.tags if t == "svg"), query
    _, body, p = page()
    assert "&quot;&gt;&lt;svg onload=alert(2)&gt;" in body
    assert HOSTILE_CS in [v for v, _, _ in p.options["sel-configuration_set"]]
    _, body, p = page(q(q=HOSTILE_RCPT))
    assert "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@evil.example" in body
    assert HOSTILE_RCPT in p.text["search-result"]
    # the diagnostic code is stored as sent; wherever the page shows it, as text
    assert int(W.pg.scalar("SELECT count(*) FROM ses_feedback.recipient_events"
                           " WHERE diagnostic_code = %s" % lit(HOSTILE_DIAG))) == 3
    _, body, p = page(q(q="diag@bounce.example"))
    assert 'alert("dc")</script>' not in body
    # in a link the value is percent-encoded
    _, body, p = page(q(scope="configuration_set", name=HOSTILE_CS))
    links = [a["href"] for t, a in p.tags if t == "a" and "href" in a]
    assert "?days=7&scope=configuration_set&name=%22%3E%3Csvg%20onload%3Dalert%282%29%3E" in links


def test_sns_location_never_serves_it():
    st, hd, body = get("/sns" + q(days=7))
    assert st == 200 and body.strip() == "ok", (st, body)
    assert "content-security-policy" not in hd
    st, hd, body = get("/sns" + q(scope="configuration_set", name=CS))
    assert "<html" not in body


def test_example_site_serves_it_to_localhost_only():
    """nginx/example-site.conf as shipped (socket, port, snippet and DSN
    pointed into the test's temp dir): /sns/status is the page, GET only."""
    with open(H.snippet("example-site.conf")) as f:
        site = f.read()
    subs = [("unix:/run/ses-feedback/ses-feedback.sock", "unix:" + W.sock),
            ("listen 127.0.0.1:8080;", "listen 127.0.0.1:@PORT@;"),
            ("/etc/nginx/snippets/ses-feedback.conf", H.snippet()),
            ('"dbname=ses_feedback"', '"%s"' % W.pg.dsn)]
    for a, b in subs:
        assert a in site, a
        site = site.replace(a, b)
    assert "allow 127.0.0.1;" in site.split("location = /sns/status", 1)[1].split("}", 2)[1]
    nx = H.Nginx(W.tmp, "site", site)
    try:
        st, hd, body = H.request(nx.port, "GET", "/sns/status?days=7")
        assert st == 200 and "<svg" in body, (st, body[:200])
        assert "content-security-policy" in hd
        st, _, _ = H.request(nx.port, "POST", "/sns/status", body=b"x")
        assert st in (403, 405), st
        st, _, body = H.request(nx.port, "GET", "/sns/health")
        assert st == 200 and "<html" not in body
    finally:
        nx.stop()
