# SPDX-License-Identifier: ISC
"""status_page(): its numbers are the views' to the last digit, over a
database filled by real signed notifications posted through nginx and
`ses-feedback serve`; the rollup it reads is folded once per event, also
with two sessions folding at once and a writer still in its transaction;
late events land on their own day; strings come back as stored."""
import copy
import json
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone

import harness as H

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-status"
W = H.World("arn:aws:sns:us-east-1:123456789012:ses-*")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOSTILE = '"<script>alert(1)</script>"@evil.example'


def setup():
    W.start()


def teardown():
    W.stop()


# ---- helpers ---------------------------------------------------------------

def q(sql):
    return W.pg.query(sql)


def one(sql):
    return W.pg.scalar(sql)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def page(days=30, scope="all", name="(all)", search=None):
    return json.loads(one("SELECT ses_feedback.status_page(%d, %s, %s, %s)" % (
        days, lit(scope), lit(name), "NULL" if search is None else lit(search))))


def when(days_ago):
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def post(kind, email, days_ago=0.0, source="news@example.com", cs=None, permanent=True,
         ftype="abuse", diagnostic=None):
    """Post one SES event (from the AWS examples) for email, signed, through
    nginx; assert it is stored."""
    name = {"bounce": "event-bounce.json", "delivery": "event-delivery.json",
            "complaint": "event-complaint.json"}[kind]
    d = json.loads(H.fixture(name, fresh=False))
    d = copy.deepcopy(d)
    t = when(days_ago)
    d["mail"]["timestamp"] = t
    d["mail"]["source"] = source
    d["mail"]["messageId"] = "m-" + uuid.uuid4().hex
    d["mail"]["destination"] = [email]
    d["mail"]["tags"] = {"ses:configuration-set": [cs]} if cs else {}
    if kind == "bounce":
        b = d["bounce"]
        b["timestamp"] = t
        b["feedbackId"] = "fb-" + uuid.uuid4().hex
        b["bounceType"] = "Permanent" if permanent else "Transient"
        b["bounceSubType"] = "General"
        b["bouncedRecipients"] = [{"emailAddress": email, "action": "failed",
                                   "status": "5.1.1" if permanent else "4.4.7",
                                   "diagnosticCode": diagnostic or "smtp; 550 5.1.1 unknown"}]
    elif kind == "complaint":
        c = d["complaint"]
        c["timestamp"] = t
        c["feedbackId"] = "fb-" + uuid.uuid4().hex
        c["complainedRecipients"] = [{"emailAddress": email}]
        c["complaintFeedbackType"] = ftype
        c.pop("complaintSubType", None)
    else:
        d["delivery"]["timestamp"] = t
        d["delivery"]["recipients"] = [email]
    env = W.signed(json.dumps(d), TOPIC)
    st, _, body = W.post(env)
    assert st == 200, (st, body)
    assert W.stored(env) == 1


def recompute_daily(days, scope, name):
    """The daily numbers straight from recipient_events, as sending_rates
    counts, per UTC day."""
    cond = {"all": "true",
            "identity": "coalesce(n.source, '(none)') = %s" % lit(name),
            "configuration_set": "coalesce(n.configuration_set, '(none)') = %s" % lit(name)}[scope]
    rows = q("""
        SELECT d::date, count(e.*) FILTER (WHERE e.event_type = 'Delivery'),
               count(e.*) FILTER (WHERE e.event_type = 'Bounce' AND e.outcome = 'hard_bounce'),
               count(e.*) FILTER (WHERE e.event_type = 'Complaint'
                                    AND e.complaint_feedback_type IS DISTINCT FROM 'not-spam')
          FROM generate_series((now() AT TIME ZONE 'UTC')::date - %d,
                               (now() AT TIME ZONE 'UTC')::date, interval '1 day') d
          LEFT JOIN (ses_feedback.recipient_events e
                     JOIN ses_feedback.notifications n ON n.id = e.notification_id AND %s)
            ON (e.occurred_at AT TIME ZONE 'UTC')::date = d::date
         GROUP BY 1 ORDER BY 1""" % (days - 1, cond))
    return [[r[0], int(r[1]), int(r[2]), int(r[3])] for r in rows]


def rates_rows():
    return q("SELECT scope, name, delivered, hard_bounces, complaints, bounce_rate_pct,"
             " bounce_status, complaint_rate_pct, complaint_status FROM ses_feedback.sending_rates"
             " ORDER BY 1, 2")


def assert_agrees():
    """Every scope's page against sending_rates, the daily recomputation
    and top_bouncing_domains."""
    rows = rates_rows()
    assert rows
    doms = q("SELECT domain, hard_bounces, soft_bounces, complaints, delivered,"
             " ses_feedback.utc_text(last_at) FROM ses_feedback.top_bouncing_domains"
             " ORDER BY hard_bounces DESC, soft_bounces DESC, domain LIMIT 10")
    for r in rows:
        for days in (7, 30, 90):
            p = page(days, r[0], r[1])
            c = p["current"]
            got = [r[0], r[1], str(c["delivered"]), str(c["hard_bounces"]),
                   str(c["complaints"]), c["bounce_rate_pct"], c["bounce_status"],
                   c["complaint_rate_pct"], c["complaint_status"]]
            assert got == r, (got, r)
            daily = [[x["day"], x["delivered"], x["hard_bounces"], x["complaints"]]
                     for x in p["daily"]]
            assert daily == recompute_daily(days, r[0], r[1]), (r[0], r[1], days)
            assert len(p["daily"]) == days and len(p["suppressions_daily"]) == days
            for x in p["daily"]:
                dh = x["delivered"] + x["hard_bounces"]
                assert x["bounce_rate_pct"] == (None if dh == 0 else
                                                "%.3f" % (100.0 * x["hard_bounces"] / dh))
            got_doms = [[x["domain"], str(x["hard_bounces"]), str(x["soft_bounces"]),
                         str(x["complaints"]), str(x["delivered"]), x["last_at"]]
                        for x in p["domains"]]
            assert got_doms == doms, (got_doms, doms)
    return rows


# ---- tests -------------------------------------------------------------------

def test_numbers_agree_with_the_views():
    for i in range(12):
        post("delivery", "d%d@gmail.example" % i, days_ago=i * 0.7)
        post("delivery", "e%d@yahoo.example" % i, days_ago=i * 2.1, source="billing@example.com",
             cs="transactional")
    for i in range(4):
        post("bounce", "b%d@gmail.example" % i, days_ago=i * 1.5)
        post("bounce", "c%d@bad.example" % i, days_ago=i * 3.3, cs="marketing")
    post("bounce", "soft@bad.example", days_ago=1, permanent=False)
    post("complaint", "angry@yahoo.example", days_ago=2, source="billing@example.com",
         cs="transactional")
    post("complaint", "happy@yahoo.example", days_ago=2, ftype="not-spam")
    rows = assert_agrees()
    names = {(r[0], r[1]) for r in rows}
    assert ("configuration_set", "(none)") in names and ("identity", "billing@example.com") in names
    sel = {(x["scope"], x["name"]) for x in page()["selector"]}
    assert names <= sel, (names, sel)
    # zero days are there, as zeros
    p = page(90)
    assert any(x["delivered"] == 0 and x["bounce_rate_pct"] is None for x in p["daily"])
    assert p["daily"][-1]["day"] == one("SELECT (now() AT TIME ZONE 'UTC')::date")
    # suppressions per day: the log's suppress rows per UTC day and reason
    want = int(one("SELECT count(*) FROM ses_feedback.suppression_log WHERE action = 'suppress'"
                   " AND reason = 'hard_bounce' AND at > now() - interval '89 days'"))
    assert sum(x["hard_bounce"] for x in p["suppressions_daily"]) == want > 0


def test_search_gives_state_and_history_verbatim():
    post("bounce", HOSTILE, diagnostic="smtp; 550 <b>gone</b> & 'quoted'")
    p = page(search='  "<script>alert(1)</script>"@EVIL.example ')
    s = p["search"]
    assert s["query"] == '  "<script>alert(1)</script>"@EVIL.example '
    assert s["email"] == HOSTILE
    assert [(x["reason"], x["state"], x["scope"]) for x in s["suppressions"]] == \
        [("hard_bounce", "active", "global")]
    hist = q("SELECT what, detail, note FROM ses_feedback.history(%s) ORDER BY at DESC, what DESC"
             % lit(HOSTILE))
    assert [[h["what"], h["detail"], h["note"]] for h in s["history"]] == hist
    assert any(h["note"] == "smtp; 550 <b>gone</b> & 'quoted'" for h in s["history"])
    assert any(x["email"] == HOSTILE for x in p["latest"])
    assert any(x["domain"] == "evil.example" for x in p["domains"]) or len(p["domains"]) == 10
    # no address: email null, nothing found
    s = page(search="not an address")["search"]
    assert s["email"] is None and s["suppressions"] == [] and s["history"] == []
    assert page()["search"] is None


def test_fold_is_idempotent_and_complete():
    post("delivery", "late-fold@gmail.example")
    one("SELECT ses_feedback.rollup_fold()")
    sums = q("SELECT sum(events), sum(delivered), sum(hard_bounces), sum(complaints)"
             " FROM ses_feedback.rollup_hours")
    assert one("SELECT ses_feedback.rollup_fold()") == "0"
    assert q("SELECT sum(events), sum(delivered), sum(hard_bounces), sum(complaints)"
             " FROM ses_feedback.rollup_hours") == sums
    assert int(sums[0][0]) == W.count("recipient_events")
    assert int(one("SELECT sum(events) FROM ses_feedback.rollup_days")) == \
        W.count("recipient_events")
    assert int(one("SELECT sum(n) FROM ses_feedback.rollup_suppression_days")) == \
        W.count("suppression_log")


def session():
    return subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", W.pg.sock,
                             "-U", "postgres", "-d", "sesfb"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_sessions_folding_at_once_count_once():
    before = assert_agrees()
    post("bounce", "conc1@bad.example")
    post("delivery", "conc2@gmail.example")
    a = session()
    a.stdin.write("BEGIN;\nSELECT ses_feedback.rollup_fold();\n")
    a.stdin.flush()
    H.wait_for(lambda: one("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid ="
                           " l.relation WHERE c.relname = 'rollup_state' AND l.mode ="
                           " 'RowShareLock' AND l.pid <> pg_backend_pid()") != "0",
               what="the first session folding")
    # the second cannot fold now: it reads the rest live, the same numbers
    assert one("SELECT ses_feedback.rollup_fold()") is None
    mid = assert_agrees()
    out, err = a.communicate("COMMIT;\n", timeout=30)
    assert a.returncode == 0, err
    assert int(out.split()[0]) == 2, out
    assert assert_agrees() == mid
    assert mid != before
    assert int(one("SELECT sum(events) FROM ses_feedback.rollup_hours")) == \
        W.count("recipient_events")


def test_writer_still_in_its_transaction_is_not_passed():
    """A recipient event with a lower id that commits after a fold: the
    mark does not pass it, and the next fold counts it."""
    w = session()
    msg = {"sns_message_id": str(uuid.uuid4()), "topic_arn": TOPIC, "sns_type": "Notification",
           "sns_timestamp": when(0), "event_type": "Delivery", "occurred_at": when(0),
           "message": {"eventType": "Delivery", "mail": {"source": "news@example.com"}},
           "source": "news@example.com",
           "recipients": [{"email": "slow@gmail.example", "original": "slow@gmail.example"}]}
    w.stdin.write("BEGIN;\nSELECT result FROM ses_feedback.ingest(%s::jsonb);\n"
                  % lit(json.dumps(msg)))
    w.stdin.flush()
    H.wait_for(lambda: one("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid ="
                           " l.relation WHERE c.relname = 'recipient_events' AND l.mode ="
                           " 'RowExclusiveLock'") != "0", what="the writer")
    post("delivery", "fast@gmail.example")  # a higher id, committed
    t0 = time.time()
    one("SELECT ses_feedback.rollup_fold()")
    assert time.time() - t0 < 5
    assert q("SELECT pending_writers IS NOT NULL FROM ses_feedback.rollup_state") == [["t"]]
    mark = int(one("SELECT event_mark FROM ses_feedback.rollup_state"))
    slow_id = int(one("SELECT last_value FROM ses_feedback.recipient_events_id_seq")) - 1
    assert mark < slow_id, "the mark passed an id still being written"
    assert_agrees()
    out, err = w.communicate("COMMIT;\n", timeout=30)
    assert w.returncode == 0, err
    one("SELECT ses_feedback.rollup_fold()")
    assert q("SELECT pending_writers IS NULL FROM ses_feedback.rollup_state") == [["t"]]
    assert int(one("SELECT sum(events) FROM ses_feedback.rollup_hours")) == \
        W.count("recipient_events")
    assert_agrees()


def test_late_event_counted_on_its_own_day():
    one("SELECT ses_feedback.rollup_fold()")
    day = (NOW - timedelta(days=20)).strftime("%Y-%m-%d")
    before = [x for x in page(30)["daily"] if x["day"] == day][0]["hard_bounces"]
    post("bounce", "late@bad.example", days_ago=20)
    p = page(30)
    assert [x for x in p["daily"] if x["day"] == day][0]["hard_bounces"] == before + 1
    assert_agrees()


def test_subscriptions_and_warnings():
    W.pg.query("INSERT INTO ses_feedback.subscriptions (topic_arn, status) VALUES"
               " ('arn:aws:sns:us-east-1:123456789012:<pending>', 'pending'),"
               " ('arn:aws:sns:us-east-1:123456789012:quiet', 'confirmed'),"
               " (%s, 'confirmed') ON CONFLICT (topic_arn) DO UPDATE SET status = 'confirmed'"
               " RETURNING 1" % lit(TOPIC))
    subs = {s["topic_arn"]: s for s in page()["subscriptions"]}
    assert subs["arn:aws:sns:us-east-1:123456789012:<pending>"]["warning"] == "pending"
    assert subs["arn:aws:sns:us-east-1:123456789012:quiet"]["warning"] == "silent"
    assert subs[TOPIC]["warning"] is None
    assert subs[TOPIC]["last_notification_at"] == one(
        "SELECT ses_feedback.utc_text(max(received_at)) FROM ses_feedback.notifications"
        " WHERE topic_arn = %s" % lit(TOPIC))


def test_writer_role_can_call_it():
    r = H.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", W.pg.sock, "-U",
               "postgres", "-d", "sesfb", "-c",
               "SET ROLE ses_feedback_writer; SELECT ses_feedback.status_page(7, 'all', '(all)',"
               " 'x@example.com') IS NOT NULL; SELECT count(*) >= 0 FROM"
               " ses_feedback.sending_rates"])
    if "role \"ses_feedback_writer\" does not exist" in r.stderr:
        H.run([H.BIN, "migrate", "--roles"], env=H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn}))
        return test_writer_role_can_call_it()
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["t", "t"]
