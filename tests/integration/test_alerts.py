# SPDX-License-Identifier: ISC
"""The rates behind the alerts, end to end: real signed notifications
through nginx into ses-feedback serve and PostgreSQL, then the metrics
location: the sending-rate gauges after a refresh, equal to
ses_feedback.sending_rates; a scrape that answers from the cache while the
database is stuck; one refresh a minute however many scrapes; label values
escaped; and the shipped Prometheus rules checked and unit-tested with
promtool.

The service's clock is moved with libfaketime (Debian's faketime), through
a file the test rewrites, so that "a minute later" takes no minute; the
tests that need it are skipped without it."""
import datetime
import glob
import json
import os
import re
import shutil
import subprocess
import time
import uuid

import harness as H

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
TOPIC_MANUAL = "arn:aws:sns:us-east-1:123456789012:ses-manual"
TOPIC_GONE = "arn:aws:sns:us-east-1:123456789012:ses-gone"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-*"
FAKETIME_LIBS = ("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1")
RULES = os.path.join(H.TOP, "contrib", "prometheus", "ses-feedback.rules.yml")
RULES_TEST = os.path.join(H.TOP, "contrib", "prometheus", "ses-feedback.rules.test.yml")
# A configuration set name that tries to end the label, start a series of
# its own and leave a dangling backslash.
HOSTILE = 'evil"} 1\nses_feedback_forged 1\n# x \\'


def faketime_lib():
    for p in FAKETIME_LIBS:
        if os.path.exists(p):
            return p
    return None


class AlertsWorld(H.World):
    def __init__(self):
        super().__init__(ALLOWED)
        self.offset = 0       # seconds the service's clock is ahead of ours
        self.clock = None     # the faketime file, when there is libfaketime

    def locations(self):
        return [("/sns", {}),
                ("/sns-manual", {"SES_FEEDBACK_AUTO_CONFIRM": "off"}),
                ("/metrics", {"SES_FEEDBACK_ENDPOINT": "metrics"}),
                # as the service runs in production: a login role granted
                # ses_feedback_writer (made by the test that uses it)
                ("/metrics-writer", {"SES_FEEDBACK_ENDPOINT": "metrics",
                                     "SES_FEEDBACK_DSN": "host=%s dbname=sesfb user=alerts_writer"
                                     % self.pg.sock})]

    def start_service(self):
        lib = faketime_lib()
        if lib is not None:
            self.clock = self.tmp.path("faketime")
            self.set_offset(0)
            san = os.environ.get("ASAN_OPTIONS", "")
            self.serve_env.update({
                "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": self.clock,
                "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
                # a sanitizer build wants its runtime first; faketime
                # only wraps the clock
                "ASAN_OPTIONS": (san + ":" if san else "") + "verify_asan_link_order=0"})
        super().start_service()

    def set_offset(self, seconds):
        with open(self.clock, "w") as f:
            f.write("+%ds\n" % seconds)
        os.chmod(self.clock, 0o644)
        self.offset = seconds

    def later(self, seconds):
        """Move the service's clock on (the tests' own stays)."""
        if self.clock is None:
            raise H.Skip("no libfaketime (Debian package faketime): cannot move the "
                         "service's clock")
        self.set_offset(self.offset + seconds)


W = AlertsWorld()


def setup():
    W.start()


def teardown():
    W.stop()


# ---- helpers ---------------------------------------------------------------

def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def restamp(d, ts):
    """Every "timestamp" in the message made now: the rates count the
    last 7 days only."""
    if isinstance(d, dict):
        for k, v in d.items():
            if k == "timestamp" and isinstance(v, str):
                d[k] = ts
            else:
                restamp(v, ts)
    elif isinstance(d, list):
        for v in d:
            restamp(v, ts)


def event(kind, cs, email):
    """A configuration-set event (Delivery, Bounce or Complaint) for one
    recipient, of configuration set cs (None: none), happening now."""
    m = json.loads(H.fixture("event-%s.json" % kind.lower()))
    restamp(m, now_iso())
    m["mail"]["messageId"] = "0100-" + uuid.uuid4().hex
    m["mail"]["destination"] = [email]
    tags = m["mail"].setdefault("tags", {})
    if cs is None:
        tags.pop("ses:configuration-set", None)
    else:
        tags["ses:configuration-set"] = [cs]
    if kind == "Delivery":
        m["delivery"]["recipients"] = [email]
    elif kind == "Bounce":
        m["bounce"]["bounceType"] = "Permanent"
        m["bounce"]["bouncedRecipients"][0]["emailAddress"] = email
        del m["bounce"]["bouncedRecipients"][1:]
    else:
        m["complaint"]["complainedRecipients"][0]["emailAddress"] = email
        del m["complaint"]["complainedRecipients"][1:]
    return json.dumps(m)


def send(kind, cs, n=1):
    for _ in range(n):
        env = W.signed(event(kind, cs, "r-%s@example.com" % uuid.uuid4().hex[:10]), TOPIC)
        st, _, body = W.post(env)
        assert st == 200, (st, body)


SCRAPED = []  # not empty once this world has been scraped


def scrape_raw():
    SCRAPED.append(1)
    st, hdr, body = H.request(W.port, "GET", "/metrics")
    assert st == 200 and hdr["content-type"].startswith("text/plain; version=0.0.4"), (st, hdr)
    return body


def parse(body):
    """{series as written (name and labels): value}."""
    vals = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            assert k not in vals, "series twice: " + k
            vals[k] = float(v)
    return vals


def scrape():
    return parse(scrape_raw())


def refreshes():
    return scrape()["ses_feedback_rates_refreshes_total"]


def wait_refreshed(after, timeout=15):
    """Scrape until a refresh that succeeded after `after` (service time)
    shows; the scrapes' own, not any query, are what is waited on."""
    got = {}

    def done():
        got.clear()
        got.update(scrape())
        return got["ses_feedback_rates_refreshed_timestamp_seconds"] >= after
    H.wait_for(done, timeout, "a refresh of the rates")
    return got


def ensure_refreshed():
    """At least one good refresh, with marketing in it (for a test run
    alone): the first scrape of this world claims it, so the notification
    goes first."""
    if not SCRAPED:
        send("Delivery", "marketing")
    scrape()
    wait_refreshed(1)


def label(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def key(metric, scope, name):
    if scope == "all":
        return '%s{scope="all"}' % metric
    return '%s{scope="configuration_set",configuration_set="%s"}' % (metric, label(name))


def view_rows():
    return W.pg.query("SELECT scope, name, delivered, hard_bounces, complaints, "
                      "bounce_rate_pct, complaint_rate_pct FROM ses_feedback.sending_rates "
                      "WHERE scope IN ('all', 'configuration_set') ORDER BY 1, 2")


def assert_matches_view(m):
    rows = view_rows()
    assert rows, "sending_rates is empty"
    shown = {k for k in m if k.startswith(("ses_feedback_sending_", "ses_feedback_bounce_rate",
                                           "ses_feedback_complaint_rate"))}
    want = set()
    for scope, name, dl, hb, co, br, cr in rows:
        for metric, v in (("ses_feedback_sending_delivered", dl),
                          ("ses_feedback_sending_hard_bounces", hb),
                          ("ses_feedback_sending_complaints", co),
                          ("ses_feedback_bounce_rate_percent", br),
                          ("ses_feedback_complaint_rate_percent", cr)):
            k = key(metric, scope, name)
            if v is None:
                assert k not in m, k
                continue
            want.add(k)
            assert m.get(k) == float(v), (k, m.get(k), v)
    assert shown == want, (shown - want, want - shown)


def subscription(kind, topic, path):
    env = W.signed("You have chosen to subscribe to the topic %s." % topic, topic, kind=kind)
    st, _, body = W.post(env, path=path)
    assert st == 200, (st, body)


class Locker:
    """A transaction holding an ACCESS EXCLUSIVE lock on a table: every
    read of it waits until the lock goes."""

    def __init__(self, table):
        self.p = subprocess.Popen(
            ["psql", "-X", "-q", "-h", W.pg.sock, "-U", "postgres", "-d", "sesfb", "-c",
             "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);" % table],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        H.wait_for(lambda: W.pg.scalar(
            "SELECT count(*) FROM pg_locks WHERE relation = '%s'::regclass "
            "AND mode = 'AccessExclusiveLock' AND granted" % table) == "1", 10, "the lock")

    def release(self):
        self.p.terminate()
        self.p.wait(10)
        W.pg.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()")


# ---- the tests -----------------------------------------------------------

def test_rates_and_subscriptions_after_a_refresh_equal_the_view():
    """Nothing is shown before the first refresh, which the first scrape
    starts after its answer; then every gauge equals sending_rates."""
    send("Delivery", "marketing", 40)
    send("Bounce", "marketing", 3)
    send("Complaint", "marketing", 1)
    send("Delivery", "transactional", 25)
    send("Bounce", "transactional", 1)
    send("Delivery", None, 5)          # no configuration set: '(none)'
    send("Complaint", "complaints-only", 1)  # no delivery: no rate at all
    subscription("SubscriptionConfirmation", TOPIC, "/sns")          # confirmed
    subscription("SubscriptionConfirmation", TOPIC_MANUAL, "/sns-manual")  # pending
    subscription("UnsubscribeConfirmation", TOPIC_GONE, "/sns")     # unsubscribed
    t0 = time.time() + W.offset
    first = scrape()
    assert first["ses_feedback_rates_refreshed_timestamp_seconds"] == 0, first
    assert not [k for k in first if k.startswith(("ses_feedback_bounce_rate",
                                                  "ses_feedback_subscriptions"))], first
    m = wait_refreshed(int(t0))
    assert m["ses_feedback_rates_refreshes_total"] == 1, m
    assert m["ses_feedback_rates_refresh_errors_total"] == 0, m
    assert_matches_view(m)
    assert m['ses_feedback_bounce_rate_percent{scope="configuration_set",'
             'configuration_set="marketing"}'] == 6.977  # 3 / 43
    assert 'ses_feedback_bounce_rate_percent{scope="configuration_set",' \
        'configuration_set="complaints-only"}' not in m
    subs = dict((s, float(n)) for s, n in W.pg.query(
        "SELECT status, count(*) FROM ses_feedback.subscriptions GROUP BY 1"))
    assert subs == {"confirmed": 1, "pending": 1, "unsubscribed": 1}, subs
    for s in ("pending", "confirmed", "unsubscribed"):
        assert m['ses_feedback_subscriptions{status="%s"}' % s] == subs[s], (s, m)
    assert m["ses_feedback_rates_configuration_sets_omitted"] == 0
    assert 0 <= m["ses_feedback_rates_refresh_duration_seconds"] < 4


def test_many_scrapes_one_refresh_a_minute():
    """Within the minute every scrape, on either worker, renders the cache:
    a notification stored meanwhile shows only after the next refresh."""
    ensure_refreshed()
    before = refreshes()
    assert before >= 1
    cached = scrape()
    send("Delivery", "marketing", 2)
    for _ in range(30):
        m = scrape()
    assert m["ses_feedback_rates_refreshes_total"] == before, m
    k = key("ses_feedback_sending_delivered", "configuration_set", "marketing")
    assert m[k] == cached[k], (m[k], cached[k])
    t = time.time() + W.offset
    W.later(61)
    scrape()
    m = wait_refreshed(int(t) + 61)
    assert m["ses_feedback_rates_refreshes_total"] == before + 1, m
    assert m[k] == cached[k] + 2, (m[k], cached[k])
    assert_matches_view(m)


def test_scrape_answers_from_cache_while_the_query_is_stuck():
    """The table the refresh reads is locked: scrapes still answer at once,
    with the last good values; the refresh gives up at its deadline and
    counts an error."""
    if W.clock is None:
        raise H.Skip("no libfaketime (Debian package faketime)")
    ensure_refreshed()
    good = scrape()
    errors = good["ses_feedback_rates_refresh_errors_total"]
    lock = Locker("ses_feedback.subscriptions")
    try:
        W.later(61)
        times = []
        for _ in range(20):
            t0 = time.time()
            m = scrape()
            times.append(time.time() - t0)
            time.sleep(0.1)
        worst = max(times)
        print("# scrape while the refresh waits on a lock: worst %.3f s of %d" % (
            worst, len(times)))
        assert worst < 0.5, times
        H.wait_for(lambda: scrape()["ses_feedback_rates_refresh_errors_total"] == errors + 1,
                   10, "the refresh to give up")
        m = scrape()
        assert m["ses_feedback_rates_refreshed_timestamp_seconds"] == \
            good["ses_feedback_rates_refreshed_timestamp_seconds"]
        assert m["ses_feedback_rates_refreshes_total"] == \
            good["ses_feedback_rates_refreshes_total"] + 1, m
        for k, v in good.items():
            if k.startswith(("ses_feedback_sending_", "ses_feedback_bounce_rate",
                             "ses_feedback_subscriptions")):
                assert m[k] == v, (k, m[k], v)
        assert "sending rates for the metrics not read" in W.serve.text()
    finally:
        lock.release()


def test_refresh_as_the_writer_role():
    """migrate --roles grants ses_feedback_writer what the refresh reads."""
    r = H.run([H.BIN, "migrate", "--roles"], env=H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn}))
    assert r.returncode == 0, r.stderr + r.stdout
    W.pg.psql_admin("CREATE ROLE alerts_writer LOGIN IN ROLE ses_feedback_writer", db="sesfb")
    ensure_refreshed()
    m0 = scrape()
    t = time.time() + W.offset
    W.later(61)
    st, _, _ = H.request(W.port, "GET", "/metrics-writer")
    assert st == 200
    m = wait_refreshed(int(t) + 61)
    assert m["ses_feedback_rates_refresh_errors_total"] == \
        m0["ses_feedback_rates_refresh_errors_total"], W.serve.text()[-2000:]
    assert m["ses_feedback_rates_refreshes_total"] == m0["ses_feedback_rates_refreshes_total"] + 1


def test_last_notification_time():
    m0 = scrape()
    assert m0["ses_feedback_start_time_seconds"] > 0
    t0 = time.time() + W.offset
    send("Delivery", "marketing")
    t1 = time.time() + W.offset
    got = scrape()["ses_feedback_last_notification_timestamp_seconds"]
    assert int(t0) <= got <= t1 + 1, (t0, got, t1)
    # a duplicate is not news
    env = W.signed(event("Delivery", "marketing", "dup@example.com"), TOPIC)
    assert W.post(env)[0] == 200
    first = scrape()["ses_feedback_last_notification_timestamp_seconds"]
    time.sleep(1.1)
    assert W.post(env)[0] == 200
    assert scrape()["ses_feedback_last_notification_timestamp_seconds"] == first


def test_hostile_and_too_many_configuration_sets():
    """A configuration set name that tries to forge a series is escaped; a
    name too long for a label and the sets past the 64 largest are counted
    as omitted, not shown."""
    send("Delivery", HOSTILE, 3)
    send("Bounce", HOSTILE, 1)
    long_name = "x" * 65
    send("Delivery", long_name, 1)
    for i in range(70):
        send("Delivery", "small-%02d" % i, 1)
    t = time.time() + W.offset
    W.later(61)
    scrape()
    m = wait_refreshed(int(t) + 61)
    body = scrape_raw()
    want = ('ses_feedback_bounce_rate_percent{scope="configuration_set",configuration_set='
            '"evil\\"} 1\\nses_feedback_forged 1\\n# x \\\\"} 25\n')
    assert want in body, [l for l in body.splitlines() if "evil" in l]
    assert not re.search(r"^ses_feedback_forged", body, re.M)
    assert long_name not in body
    sets = int(W.pg.scalar("SELECT count(*) FROM ses_feedback.sending_rates "
                           "WHERE scope = 'configuration_set'"))
    shown = {k for k in m if k.startswith("ses_feedback_sending_delivered{scope=\"config")}
    assert len(shown) == 64, sorted(k for k in shown if "small-" not in k)
    assert m["ses_feedback_rates_configuration_sets_omitted"] == sets - 64, (
        sets, m["ses_feedback_rates_configuration_sets_omitted"])
    # the largest are the ones shown, then by name
    for name in (HOSTILE, "small-00"):
        assert key("ses_feedback_sending_delivered", "configuration_set", name) in m, name
    assert key("ses_feedback_sending_delivered", "configuration_set", "small-69") not in m
    promtool = shutil.which("promtool")
    if promtool:
        # Prometheus's own parser and linter: a label value not escaped
        # is a parse error, a bad name or help text a finding
        r = H.run([promtool, "check", "metrics"], input=body)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


def test_every_series_is_documented():
    ensure_refreshed()  # the rates' series are there
    names = set(re.findall(r"^# TYPE (ses_feedback_\w+) ", scrape_raw(), re.M))
    assert len(names) > 15, names
    man = open(os.path.join(H.TOP, "doc", "ses-feedback.8")).read().replace("\\_", "_")
    readme = open(os.path.join(H.TOP, "README.md")).read()
    for n in sorted(names):
        assert n in man, "man page lacks " + n
        assert n in readme, "README lacks " + n


def test_promtool_checks_and_unit_tests_the_rules():
    promtool = shutil.which("promtool")
    if promtool is None:
        raise H.Skip("no promtool (Debian package prometheus)")
    r = H.run([promtool, "check", "rules", RULES])
    assert r.returncode == 0, r.stdout + r.stderr
    r = H.run([promtool, "test", "rules", RULES_TEST], cwd=os.path.dirname(RULES_TEST))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    # every alert of the rules is tested, firing and not firing
    rules = open(RULES).read()
    tests = open(RULES_TEST).read()
    alerts = re.findall(r"^\s*- alert: (\w+)", rules, re.M)
    assert len(alerts) >= 8, alerts
    for a in alerts:
        n = len(re.findall(r"alertname: %s\n" % a, tests))
        assert n >= 2, "%s is tested %d times (firing and not firing wanted)" % (a, n)


def test_no_crash_or_sanitizer_report_in_the_logs():
    """Last on purpose: serve stopped, so that its workers' exit (and a leak
    report, when built with the sanitizers) is in its log."""
    W.serve.stop()
    marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
             "Segmentation fault")
    found = []
    for path in glob.glob(os.path.join(W.tmp.dir, "*.log")):
        with open(path, errors="replace") as f:
            text = f.read()
        found += [(os.path.basename(path), m) for m in marks if m in text]
        if os.path.basename(path).startswith("serve"):
            found += [(path, line) for line in text.splitlines()
                      if "killed by signal" in line]
    assert not found, found
