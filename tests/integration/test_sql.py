# SPDX-License-Identifier: ISC
"""The suppression policy, the SQL surface and the CLI around it, against a
real PostgreSQL. Events are written through ses_feedback.ingest() exactly as
the handler sends them, with chosen timestamps: time moves by data, not by
sleeping."""
import csv
import json
import os
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import harness as H


class DB:
    pass


D = DB()


def setup():
    D.tmp = H.Tmp()
    D.pg = H.Postgres(D.tmp)
    r = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": D.pg.dsn}))
    assert r.returncode == 0, r.stderr


def teardown():
    try:
        D.pg.stop()
    finally:
        if not os.environ.get("SES_FEEDBACK_KEEP_TMP"):
            D.tmp.cleanup()


# ---- helpers ---------------------------------------------------------------

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def ts(days_ago=0.0):
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def q(sql, db="sesfb"):
    return D.pg.query(sql, db)


def one(sql):
    return D.pg.scalar(sql)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def ingest(event, recipients=(), days_ago=0.0, topic="arn:aws:sns:us-east-1:123456789012:t",
           message=None, message_id=None, db="sesfb", **rcpt_fields):
    """Call ingest() with what the handler would send; returns its answer."""
    p = {"sns_message_id": message_id or str(uuid.uuid4()), "topic_arn": topic,
         "sns_type": "Notification", "sns_timestamp": ts(days_ago),
         "event_type": event, "occurred_at": ts(days_ago),
         "message": message or {"eventType": event, "mail": {"messageId": "m-" + uuid.uuid4().hex,
                                                             "source": "news@example.com"}},
         "ses_message_id": "m", "source": (message or {}).get("mail", {}).get(
             "source", "news@example.com"),
         "recipients": []}
    for r in recipients:
        o = {"email": r.lower(), "original": r}
        o.update({k: v for k, v in rcpt_fields.items() if v is not None})
        p["recipients"].append(o)
    return one("SELECT result FROM ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p)))


def bounce(email, btype="Permanent", sub="General", status="5.1.1", days_ago=0.0, **kw):
    return ingest("Bounce", [email], days_ago, bounce_type=btype, bounce_subtype=sub,
                  status=status, feedback_id=kw.pop("feedback_id", uuid.uuid4().hex), **kw)


def complaint(email, ftype="abuse", sub=None, days_ago=0.0, **kw):
    return ingest("Complaint", [email], days_ago, complaint_feedback_type=ftype,
                  complaint_subtype=sub, feedback_id=kw.pop("feedback_id", uuid.uuid4().hex),
                  **kw)


def delivery(email, days_ago=0.0, **kw):
    return ingest("Delivery", [email], days_ago, **kw)


def sup(email):
    return one("SELECT ses_feedback.is_suppressed(%s)" % lit(email)) == "t"


def reason(email):
    return one("SELECT reason FROM ses_feedback.suppressions WHERE email = %s" % lit(email))


def policy(name, value):
    D.pg.query("UPDATE ses_feedback.policy SET value = %s WHERE name = %s RETURNING name"
               % (lit(value), lit(name)))


def addr():
    return "u%s@example.com" % uuid.uuid4().hex[:10]


def psql_error(sql, db="sesfb", user="postgres"):
    r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U", user,
               "-d", db, "-c", sql])
    assert r.returncode != 0, "expected an error from: " + sql
    return r.stderr


# ---- policy: bounces ---------------------------------------------------------

def test_permanent_bounce_every_subtype_suppresses_without_expiry():
    for sub in ("General", "NoEmail", "Suppressed", "OnAccountSuppressionList", "BrandNew"):
        a = addr()
        assert bounce(a, "Permanent", sub) == "stored"
        assert sup(a) and reason(a) == "hard_bounce", sub
        assert one("SELECT expires_at FROM ses_feedback.suppressions WHERE email = %s"
                   % lit(a)) is None


def test_transient_5xx_treated_as_permanent_and_policy_switch():
    a = addr()
    bounce(a, "Transient", "MailboxFull", "5.2.2")
    assert reason(a) == "hard_bounce"
    policy("transient_5xx_is_permanent", "off")
    try:
        b = addr()
        bounce(b, "Transient", "MailboxFull", "5.2.2")
        assert not sup(b)
        assert one("SELECT outcome FROM ses_feedback.recipient_events WHERE email = %s"
                   % lit(b)) == "soft_bounce"
    finally:
        policy("transient_5xx_is_permanent", "on")


def test_soft_bounces_suppress_at_the_limit_within_the_window():
    a = addr()
    bounce(a, "Transient", "General", "4.4.7", days_ago=20)
    bounce(a, "Transient", "MailboxFull", "4.2.2", days_ago=10)
    assert not sup(a)
    bounce(a, "Transient", "General", "4.4.7", days_ago=1)
    assert sup(a) and reason(a) == "soft_bounce"
    exp = one("SELECT expires_at - last_at FROM ses_feedback.suppressions WHERE email = %s"
              % lit(a))
    assert exp == "30 days", exp


def test_soft_bounces_spread_beyond_the_window_do_not_suppress():
    a = addr()
    for d in (70, 45, 14):
        bounce(a, "Transient", "General", "4.4.7", days_ago=d)
    assert not sup(a)


def test_delivery_between_soft_bounces_resets_the_count():
    a = addr()
    bounce(a, "Transient", "General", "4.0.0", days_ago=9)
    bounce(a, "Transient", "General", "4.0.0", days_ago=8)
    delivery(a, days_ago=7)
    bounce(a, "Transient", "General", "4.0.0", days_ago=6)
    assert not sup(a), "delivery should have reset the count"
    policy("delivery_resets_soft_bounces", "off")
    try:
        b = addr()
        bounce(b, "Transient", "General", "4.0.0", days_ago=9)
        bounce(b, "Transient", "General", "4.0.0", days_ago=8)
        delivery(b, days_ago=7)
        bounce(b, "Transient", "General", "4.0.0", days_ago=6)
        assert sup(b) and reason(b) == "soft_bounce"
    finally:
        policy("delivery_resets_soft_bounces", "on")


def test_soft_bounce_rule_does_not_depend_on_arrival_order():
    """SNS does not keep order: the rule follows the events' timestamps."""
    import itertools
    for order in itertools.permutations([("b", 20), ("b", 10), ("b", 1)]):
        a = addr()
        for _, d in order:
            bounce(a, "Transient", "General", "4.0.0", days_ago=d)
        assert sup(a) and reason(a) == "soft_bounce", order
    for order in itertools.permutations([("b", 9), ("b", 8), ("d", 7), ("b", 6)]):
        a = addr()
        for kind, d in order:
            if kind == "b":
                bounce(a, "Transient", "General", "4.0.0", days_ago=d)
            else:
                delivery(a, days_ago=d)
        assert not sup(a), order


def test_late_delivery_withdraws_the_soft_bounce_suppression_it_breaks():
    a = addr()
    for d in (9, 8, 6):
        bounce(a, "Transient", "General", "4.0.0", days_ago=d)
    assert sup(a)
    delivery(a, days_ago=7)  # happened between them, arrived last
    assert not sup(a)
    assert q("SELECT action, reason, actor FROM ses_feedback.suppression_log WHERE email = %s "
             "ORDER BY id" % lit(a)) == [["suppress", "soft_bounce", "postgres"],
                                         ["expire", "soft_bounce", "ses-feedback"]]
    delivery(a, days_ago=0.5)  # after the run: changes nothing more
    bounce(a, "Transient", "General", "4.0.0", days_ago=0.4)
    assert not sup(a)


def cs_message(event, cs):
    return {"eventType": event, "mail": {"messageId": "m-" + uuid.uuid4().hex,
                                         "source": "news@example.com",
                                         "tags": {"ses:configuration-set": [cs]}}}


def test_delivery_through_another_set_does_not_create_a_soft_bounce_suppression():
    """The scope is the set of the soft bounce that completed the run; a
    delivery re-running the rule never creates a row of its own set."""
    policy("soft_bounce_scope", "configuration_set")
    try:
        a = addr()
        for d in (9, 8, 6):
            bounce(a, "Transient", "General", "4.0.0", days_ago=d,
                   message=cs_message("Bounce", "A"))
        assert scopes(a) == ["configuration_set=A soft_bounce"]
        delivery(a, days_ago=0.5, message=cs_message("Delivery", "B"))
        assert scopes(a) == ["configuration_set=A soft_bounce"]
    finally:
        policy("soft_bounce_scope", "global")


def test_soft_bounce_limit_window_and_expiry_are_tunable():
    policy("soft_bounce_limit", "2")
    policy("soft_bounce_window", "3 days")
    policy("soft_bounce_expiry", "5 days")
    try:
        a = addr()
        bounce(a, "Transient", "General", "4.0.0", days_ago=5)
        bounce(a, "Transient", "General", "4.0.0", days_ago=1)
        assert not sup(a), "outside the 3 day window"
        bounce(a, "Transient", "General", "4.0.0", days_ago=0.5)
        assert sup(a)
        assert one("SELECT expires_at - last_at FROM ses_feedback.suppressions "
                   "WHERE email = %s" % lit(a)) == "5 days"
    finally:
        policy("soft_bounce_limit", "3")
        policy("soft_bounce_window", "30 days")
        policy("soft_bounce_expiry", "30 days")


def test_expired_soft_bounce_suppression_no_longer_applies():
    a = addr()
    for d in (50, 49, 48):
        bounce(a, "Transient", "General", "4.0.0", days_ago=d)
    assert reason(a) == "soft_bounce"
    assert not sup(a), "expired 18 days ago"
    assert one("SELECT count(*) FROM ses_feedback.active_suppressions WHERE email = %s"
               % lit(a)) == "0"


def test_content_bounces_are_record_only():
    for sub in ("MessageTooLarge", "ContentRejected", "AttachmentRejected"):
        a = addr()
        for _ in range(4):
            bounce(a, "Transient", sub, "5.3.4")
        assert not sup(a), sub
        assert one("SELECT string_agg(DISTINCT outcome, ',') FROM ses_feedback.recipient_events "
                   "WHERE email = %s" % lit(a)) == "record_only"


def test_soft_bounce_subtypes_and_undetermined_are_tunable():
    a = addr()
    bounce(a, "Undetermined", "Undetermined", "")
    assert one("SELECT outcome FROM ses_feedback.recipient_events WHERE email = %s"
               % lit(a)) == "soft_bounce"
    policy("soft_bounce_undetermined", "off")
    policy("soft_bounce_subtypes", "General")
    try:
        b = addr()
        bounce(b, "Undetermined", "Undetermined", "")
        bounce(b, "Transient", "MailboxFull", "4.2.2")
        assert one("SELECT string_agg(outcome, ',' ORDER BY id) FROM "
                   "ses_feedback.recipient_events WHERE email = %s" % lit(b)) == \
            "record_only,record_only"
    finally:
        policy("soft_bounce_undetermined", "on")
        policy("soft_bounce_subtypes", "General,MailboxFull")


# ---- policy: complaints and unsubscribes --------------------------------------

def test_complaints_suppress_except_not_spam_and_account_suppression_list():
    a, b, c, d = addr(), addr(), addr(), addr()
    complaint(a, "abuse")
    complaint(b, "not-spam")
    complaint(c, None, "OnAccountSuppressionList")
    complaint(d, None)  # no feedback report
    assert sup(a) and reason(a) == "complaint"
    assert not sup(b) and not sup(c)
    assert sup(d)


def test_complaint_feedback_types_and_expiry_are_tunable():
    policy("complaint_ignore_feedback_types", "not-spam, fraud")
    policy("complaint_expiry", "1 year")
    try:
        a, b = addr(), addr()
        complaint(a, "fraud")
        complaint(b, "abuse", days_ago=2)
        assert not sup(a)
        assert one("SELECT expires_at = first_at + interval '1 year' FROM "
                   "ses_feedback.suppressions WHERE email = %s" % lit(b)) == "t"
    finally:
        policy("complaint_ignore_feedback_types", "not-spam")
        policy("complaint_expiry", "")


def test_subscription_unsubscribe_all_suppresses_when_policy_says_so():
    a, b, c = addr(), addr(), addr()
    ingest("Subscription", [a], unsubscribe_all=True)
    ingest("Subscription", [b])  # unsubscribeAll false
    assert sup(a) and reason(a) == "unsubscribe"
    assert not sup(b)
    policy("unsubscribe_suppresses", "off")
    try:
        ingest("Subscription", [c], unsubscribe_all=True)
        assert not sup(c)
    finally:
        policy("unsubscribe_suppresses", "on")


def sub_event(email, contact_list, unsubscribe_all, topics, days_ago=0.0, cs=None):
    """ingest() a Subscription event in SES's shape (contactList,
    newTopicPreferences); topics is [(topicName, OptIn|OptOut)]."""
    msg = {"eventType": "Subscription",
           "mail": {"messageId": "m-" + uuid.uuid4().hex, "source": "news@example.com",
                    "destination": [email]},
           "subscription": {"contactList": contact_list, "timestamp": ts(days_ago),
                            "newTopicPreferences": {
                                "unsubscribeAll": unsubscribe_all,
                                "topicSubscriptionStatus": [
                                    {"topicName": t, "subscriptionStatus": st}
                                    for t, st in topics]}}}
    if cs:
        msg["mail"]["tags"] = {"ses:configuration-set": [cs]}
    return ingest("Subscription", [email], days_ago, message=msg,
                  unsubscribe_all=True if unsubscribe_all else None)


def scoped(email, **scope):
    args = "".join(", %s => %s" % (k, lit(v)) for k, v in scope.items())
    return one("SELECT ses_feedback.is_suppressed(%s%s)" % (lit(email), args)) == "t"


def scopes(email):
    return [r[0] for r in q("SELECT scope || ' ' || reason FROM ses_feedback.suppressions "
                            "WHERE email = %s AND lifted_at IS NULL AND expired_at IS NULL "
                            "ORDER BY 1" % lit(email))]


def test_default_scopes_hard_bounce_and_complaint_global_unsubscribe_per_list_and_topic():
    a, b, c = addr(), addr(), addr()
    bounce(a)
    complaint(b)
    sub_event(c, "News", False, [("Weekly", "OptOut"), ("Daily", "OptIn")], days_ago=3)
    assert scopes(a) == ["global hard_bounce"] and scopes(b) == ["global complaint"]
    assert scopes(c) == ["contact_list=News topic=Weekly unsubscribe"]
    assert not sup(c)
    assert scoped(c, contact_list="News", topic="Weekly")
    assert not scoped(c, contact_list="News", topic="Daily")
    assert not scoped(c, contact_list="News")  # a send to the whole list, no topic
    assert scoped(a, contact_list="News", topic="Daily")  # global counts everywhere
    sub_event(c, "News", True, [], days_ago=2)
    assert scopes(c) == ["contact_list=News topic=Weekly unsubscribe",
                         "contact_list=News unsubscribe"]
    assert scoped(c, contact_list="News", topic="Daily") and not sup(c)
    assert not scoped(c, contact_list="Other", topic="Daily")
    sub_event(c, "News", False, [("Weekly", "OptIn")], days_ago=1)
    assert scopes(c) == []
    assert one("SELECT count(*) FROM ses_feedback.suppression_log WHERE email = %s AND "
               "action = 'unsuppress' AND actor = 'ses-feedback'" % lit(c)) == "2"


def test_scope_policy_rows_decide_and_are_validated():
    assert "is not a scope" in psql_error(
        "UPDATE ses_feedback.policy SET value = 'everywhere' WHERE name = 'complaint_scope'")
    a, b, c, d = addr(), addr(), addr(), addr()
    policy("complaint_scope", "configuration_set")
    policy("unsubscribe_scope", "global")
    policy("topic_opt_out_scope", "off")
    try:
        complaint(a, message={"eventType": "Complaint", "mail": {
            "messageId": "m", "source": "x@example.com",
            "tags": {"ses:configuration-set": ["Marketing"]}}})
        complaint(b)  # no configuration set: falls back to global
        sub_event(c, "News", True, [])
        sub_event(d, "News", False, [("Weekly", "OptOut")])
        assert scopes(a) == ["configuration_set=Marketing complaint"]
        assert not sup(a) and scoped(a, configuration_set="Marketing")
        assert not scoped(a, configuration_set="Receipts")
        assert scopes(b) == ["global complaint"]
        assert scopes(c) == ["global unsubscribe"] and sup(c)
        assert scopes(d) == []
        assert one("SELECT outcome FROM ses_feedback.recipient_events WHERE email = %s"
                   % lit(d)) == "record_only"
    finally:
        policy("complaint_scope", "global")
        policy("unsubscribe_scope", "contact_list")
        policy("topic_opt_out_scope", "topic")


def test_opt_in_never_lifts_a_bounce_or_an_older_event_than_the_opt_out():
    a = addr()
    sub_event(a, "News", True, [], days_ago=2)
    sub_event(a, "News", False, [], days_ago=3)  # older: the opt-out stands
    assert scoped(a, contact_list="News")
    bounce(a)
    sub_event(a, "News", False, [], days_ago=1)
    assert sup(a) and scopes(a) == ["global hard_bounce"]


def test_scope_in_views_history_array_form_and_unsuppress():
    a = addr()
    sub_event(a, "News", False, [("Weekly", "OptOut")])
    D.pg.query("SELECT ses_feedback.suppress(%s, 'by hand')" % lit(a))
    assert q("SELECT scope, contact_list, topic FROM ses_feedback.active_suppressions "
             "WHERE email = %s ORDER BY scope" % lit(a)) == [
        ["contact_list=News topic=Weekly", "News", "Weekly"], ["global", "", ""]]
    hist = q("SELECT what, scope FROM ses_feedback.history(%s) WHERE what = 'suppress' "
             "ORDER BY scope" % lit(a))
    assert hist == [["suppress", "contact_list=News topic=Weekly"], ["suppress", "global"]]
    assert q("SELECT email, suppressed, reason, scope FROM ses_feedback.is_suppressed("
             "ARRAY[%s, 'none@example.com'], contact_list => 'News', topic => 'Weekly')"
             % lit(a.upper())) == [[a.upper(), "t", "manual", "global"],
                                   ["none@example.com", "f", None, None]]
    assert one("SELECT ses_feedback.unsuppress(%s, 'all of it')" % lit(a)) == "t"
    assert scopes(a) == [] and not scoped(a, contact_list="News", topic="Weekly")
    assert one("SELECT count(*) FROM ses_feedback.suppression_log WHERE email = %s "
               "AND action = 'unsuppress'" % lit(a)) == "2"


def test_expire_makes_time_expiry_explicit():
    a = addr()
    D.pg.query("INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, "
               "expires_at) VALUES (%s, 'soft_bounce', now() - interval '40 days', "
               "now() - interval '40 days', now() - interval '1 second')" % lit(a))
    # written already past its end: expired at once, nothing left to expire
    assert one("SELECT expired_at IS NOT NULL FROM ses_feedback.suppressions WHERE email = %s"
               % lit(a)) == "t"
    b = addr()
    D.pg.query("INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, "
               "expires_at) VALUES (%s, 'soft_bounce', now(), now(), "
               "clock_timestamp() + interval '300 ms')" % lit(b))
    assert sup(b)
    import time
    time.sleep(0.5)
    assert not sup(b)
    D.pg.query("CALL ses_feedback.expire()")
    assert one("SELECT expired_at = expires_at FROM ses_feedback.suppressions WHERE email = %s"
               % lit(b)) == "t"
    # a new run of soft bounces suppresses it again
    for d in (3, 2, 1):
        bounce(b, "Transient", "General", "4.0.0", days_ago=d)
    assert sup(b) and one("SELECT expired_at FROM ses_feedback.suppressions WHERE email = %s"
                          % lit(b)) is None


def test_delivery_and_other_events_record_only():
    a = addr()
    for ev in ("Delivery", "DeliveryDelay", "Send", "Reject", "Open", "Click",
               "Rendering Failure", "SomethingNew"):
        assert ingest(ev, [a]) == "stored"
    assert not sup(a)


def test_stronger_reason_wins_and_weaker_does_not_downgrade():
    a = addr()
    for d in (3, 2, 1):
        bounce(a, "Transient", "General", "4.0.0", days_ago=d)
    assert reason(a) == "soft_bounce"
    complaint(a)
    assert reason(a) == "complaint"
    bounce(a, "Permanent")
    assert reason(a) == "complaint"
    assert one("SELECT expires_at FROM ses_feedback.suppressions WHERE email = %s"
               % lit(a)) is None
    assert int(one("SELECT count FROM ses_feedback.suppressions WHERE email = %s"
                   % lit(a))) == 3


# ---- idempotency ---------------------------------------------------------------

def test_same_message_id_is_a_duplicate_and_changes_nothing():
    a = addr()
    mid = str(uuid.uuid4())
    assert bounce(a, message_id=mid, feedback_id="f1" + a) == "stored"
    snap = q("SELECT * FROM ses_feedback.suppressions WHERE email = %s" % lit(a))
    assert bounce(a, message_id=mid, feedback_id="f2" + a) == "duplicate"
    assert q("SELECT * FROM ses_feedback.suppressions WHERE email = %s" % lit(a)) == snap
    assert one("SELECT count(*) FROM ses_feedback.recipient_events WHERE email = %s"
               % lit(a)) == "1"


def test_same_feedback_id_through_two_topics_counts_once():
    a = addr()
    fid = "0100-" + uuid.uuid4().hex
    for topic in ("arn:aws:sns:us-east-1:123456789012:identity",
                  "arn:aws:sns:us-east-1:123456789012:configset"):
        assert ingest("Bounce", [a], 1, topic=topic, bounce_type="Transient",
                      bounce_subtype="General", status="4.0.0", feedback_id=fid) == "stored"
    assert one("SELECT count(*) FROM ses_feedback.notifications n JOIN "
               "ses_feedback.recipient_events e ON e.notification_id = n.id "
               "WHERE e.email = %s" % lit(a)) == "1"
    bounce(a, "Transient", "General", "4.0.0", days_ago=0.5)
    assert not sup(a), "the repeated feedback must not count as a second soft bounce"


# ---- manual changes ----------------------------------------------------------

def test_manual_suppress_unsuppress_with_history():
    a = addr()
    one("SELECT ses_feedback.suppress(%s, 'asked by phone')" % lit(a.upper()))
    assert sup(a) and reason(a) == "manual"
    assert one("SELECT ses_feedback.unsuppress(%s, 'customer changed mind')" % lit(a)) == "t"
    assert not sup(a)
    log = q("SELECT action, reason, actor, note FROM ses_feedback.suppression_log "
            "WHERE email = %s ORDER BY id" % lit(a))
    assert log == [["suppress", "manual", "postgres", "asked by phone"],
                   ["unsuppress", "manual", "postgres", "customer changed mind"]], log
    row = q("SELECT lifted_by, lift_note FROM ses_feedback.suppressions WHERE email = %s"
            % lit(a))
    assert row == [["postgres", "customer changed mind"]]
    assert "not an email address" in psql_error("SELECT ses_feedback.suppress('nope', 'x')")


def test_lift_then_new_event_resuppresses_but_old_event_does_not():
    a = addr()
    bounce(a, days_ago=5)
    one("SELECT ses_feedback.unsuppress(%s, 'mailbox fixed')" % lit(a))
    bounce(a, days_ago=4)  # retried old event: before the lift
    assert not sup(a)
    bounce(a, days_ago=-0.01)  # a new bounce after the lift
    assert sup(a) and reason(a) == "hard_bounce"
    hist = q("SELECT what FROM ses_feedback.history(%s)" % lit(a))
    # events at their own time, changes at the time they were made
    assert [h[0] for h in hist] == ["Bounce", "Bounce", "suppress", "unsuppress", "suppress",
                                    "Bounce"], hist


def test_unsuppress_leaves_an_expired_complaint_alone_without_force():
    a = addr()
    complaint(a)
    q("UPDATE ses_feedback.suppressions SET expires_at = now() - interval '1 second' "
      "WHERE email = %s" % lit(a))
    assert one("SELECT ses_feedback.unsuppress(%s)" % lit(a)) == "f"
    assert one("SELECT lifted_at IS NULL FROM ses_feedback.suppressions WHERE email = %s"
               % lit(a)) == "t"


def test_lifting_a_complaint_needs_force():
    a = addr()
    complaint(a)
    err = psql_error("SELECT ses_feedback.unsuppress(%s, 'oops')" % lit(a))
    assert "complained" in err and "unsuppress(email, note, true)" in err, err
    assert sup(a)
    assert one("SELECT ses_feedback.unsuppress(%s, 'confirmed opt-in again', true)"
               % lit(a)) == "t"
    assert not sup(a)


def test_policy_values_are_validated():
    assert "not a whole number" in psql_error(
        "UPDATE ses_feedback.policy SET value = 'three' WHERE name = 'soft_bounce_limit'")
    assert "not an interval" in psql_error(
        "UPDATE ses_feedback.policy SET value = 'soonish' WHERE name = 'soft_bounce_window'")
    assert "not on or off" in psql_error(
        "UPDATE ses_feedback.policy SET value = 'maybe' WHERE name = 'unsubscribe_suppresses'")


# ---- lookups and views ----------------------------------------------------------

def test_is_suppressed_for_a_list_in_order():
    a, b = addr(), addr()
    bounce(a)
    rows = q("SELECT email, suppressed, reason FROM ses_feedback.is_suppressed(ARRAY[%s, %s, %s])"
             % (lit(b), lit('"X" <' + a.upper() + ">"), lit(a)))
    assert rows == [[b, "f", None], ['"X" <' + a.upper() + ">", "t", "hard_bounce"],
                    [a, "t", "hard_bounce"]], rows


def test_is_suppressed_is_one_index_lookup():
    plan = "\n".join(r[0] for r in q(
        "EXPLAIN SELECT 1 FROM ses_feedback.suppressions s WHERE s.email = "
        "ses_feedback.normalize_email('A@b.c') AND s.lifted_at IS NULL"))
    assert "suppressions_pkey" in plan, plan


def test_views_on_a_known_data_set():
    db = "views"
    D.pg.psql_admin("CREATE DATABASE views")
    r = H.run([H.BIN, "migrate"], env=H.service_env(
        {"SES_FEEDBACK_DSN": "host=%s dbname=views user=postgres" % D.pg.sock}))
    assert r.returncode == 0, r.stderr

    def msg(source, cs):
        m = {"mail": {"source": source, "messageId": uuid.uuid4().hex}}
        if cs:
            m["mail"]["tags"] = {"ses:configuration-set": [cs]}
        return m

    def ev(event, email, source, cs=None, **kw):
        p = {"sns_message_id": str(uuid.uuid4()), "topic_arn": "arn:aws:sns:us-east-1:1:t",
             "sns_type": "Notification", "sns_timestamp": ts(1), "event_type": event,
             "occurred_at": ts(1), "message": msg(source, cs), "source": source,
             "recipients": [dict({"email": email, "original": email}, **kw)]}
        D.pg.query("SELECT ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p)), db)

    # a@: 96 delivered, 4 hard bounces, 1 complaint; b@: 50 delivered, 0 bounces
    for i in range(96):
        ev("Delivery", "d%d@good.example" % i, "a@shop.example", "marketing")
    for i in range(4):
        ev("Bounce", "h%d@bad.example" % i, "a@shop.example", "marketing",
           bounce_type="Permanent", bounce_subtype="General", status="5.1.1",
           feedback_id="fb%d" % i)
    ev("Complaint", "d1@good.example", "a@shop.example", "marketing",
       complaint_feedback_type="abuse", feedback_id="c1")
    for i in range(50):
        ev("Delivery", "x%d@good.example" % i, "b@shop.example")
    ev("Bounce", "s@soft.example", "b@shop.example", bounce_type="Transient",
       bounce_subtype="General", status="4.0.0", feedback_id="s1")

    rates = {(r[0], r[1]): r[2:] for r in D.pg.query(
        "SELECT scope, name, delivered, hard_bounces, complaints, bounce_rate_pct, "
        "bounce_status, complaint_rate_pct, complaint_status FROM ses_feedback.sending_rates", db)}
    assert rates[("identity", "a@shop.example")] == \
        ["96", "4", "1", "4.000", "above aim (>= 2%)", "1.042", "pause (>= 0.5%)"], rates
    assert rates[("identity", "b@shop.example")] == \
        ["50", "0", "0", "0.000", "ok (< 2%)", "0.000", "ok (< 0.1%)"], rates
    assert rates[("configuration_set", "marketing")][:3] == ["96", "4", "1"], rates
    assert rates[("all", "(all)")] == \
        ["146", "4", "1", "2.667", "above aim (>= 2%)", "0.685", "pause (>= 0.5%)"], rates

    dom = D.pg.query("SELECT domain, hard_bounces, soft_bounces FROM "
                     "ses_feedback.top_bouncing_domains "
                     "ORDER BY hard_bounces DESC, soft_bounces DESC, domain", db)
    assert dom == [["bad.example", "4", "0"], ["soft.example", "0", "1"]], dom
    daily = D.pg.query("SELECT event_type, notifications, recipients FROM "
                       "ses_feedback.daily_counts ORDER BY event_type", db)
    assert daily == [["Bounce", "5", "5"], ["Complaint", "1", "1"],
                     ["Delivery", "146", "146"]], daily
    # a day is a UTC day, whatever the asker's TimeZone (+14 and -12 differ
    # by more than a day, so a local day would differ in at least one)
    for tz in ("Pacific/Kiritimati", "Etc/GMT+12"):
        days = D.pg.query("SET TimeZone = '%s'; SELECT DISTINCT day FROM "
                          "ses_feedback.daily_counts" % tz, db)
        assert days == [["SET"], [(NOW - timedelta(days=1)).strftime("%Y-%m-%d")]], (tz, days)
    act = D.pg.query("SELECT email, reason, cause_event, cause_status, cause_source FROM "
                     "ses_feedback.active_suppressions ORDER BY email", db)
    assert act == [["d1@good.example", "complaint", "Complaint", None, "a@shop.example"]] + \
        [["h%d@bad.example" % i, "hard_bounce", "Bounce", "5.1.1", "a@shop.example"]
         for i in range(4)], act
    D.pg.psql_admin("DROP DATABASE views")


def test_purge_events_keeps_suppressions_and_their_causes():
    db = "purge"
    D.pg.psql_admin("CREATE DATABASE purge")
    dsn = "host=%s dbname=purge user=postgres" % D.pg.sock
    assert H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": dsn})).returncode == 0

    def ins(event, email, **kw):
        p = {"sns_message_id": str(uuid.uuid4()), "topic_arn": "arn:aws:sns:us-east-1:1:t",
             "sns_type": "Notification", "sns_timestamp": ts(1), "event_type": event,
             "occurred_at": ts(1), "message": {"x": 1},
             "recipients": [dict({"email": email, "original": email}, **kw)]}
        D.pg.query("SELECT ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p)), db)
    for i in range(30):
        ins("Delivery", "d%d@x.example" % i)
    ins("Bounce", "gone@x.example", bounce_type="Permanent", bounce_subtype="General",
        feedback_id="f")
    D.pg.query("UPDATE ses_feedback.notifications SET received_at = now() - interval '400 days'",
               db)
    for i in range(3):
        ins("Delivery", "new%d@x.example" % i)
    r = H.run(["psql", "-X", "-h", D.pg.sock, "-U", "postgres", "-d", db, "-c",
               "CALL ses_feedback.purge_events('30 days')"])
    assert r.returncode != 0 and "retention_min_age" in r.stderr, r.stderr
    # A notification young enough to be replayed stays, whatever the policy
    # says: its row is what makes a replay a duplicate.
    D.pg.query("UPDATE ses_feedback.policy SET value = '1 minute' "
               "WHERE name = 'retention_min_age'", db)
    r = H.run(["psql", "-X", "-h", D.pg.sock, "-U", "postgres", "-d", db, "-c",
               "CALL ses_feedback.purge_events('1 day')"])
    assert r.returncode != 0 and "never under 2 days" in r.stderr, r.stderr
    D.pg.query("UPDATE ses_feedback.policy SET value = '90 days' "
               "WHERE name = 'retention_min_age'", db)
    r = H.run(["psql", "-X", "-h", D.pg.sock, "-U", "postgres", "-d", db, "-c",
               "CALL ses_feedback.purge_events('365 days', 7)"])
    assert r.returncode == 0, r.stderr
    assert "purged 30 notifications" in r.stderr, r.stderr
    assert D.pg.query("SELECT count(*) FROM ses_feedback.notifications", db) == [["4"]]
    assert D.pg.query("SELECT cause_event FROM ses_feedback.active_suppressions", db) == \
        [["Bounce"]]
    D.pg.psql_admin("DROP DATABASE purge")


# ---- one definition of an address --------------------------------------------

def fixture_addresses():
    """(input, normal form or None) from tests/fixtures/addresses.tsv."""
    def unescape(t):
        out, i = "", 0
        while i < len(t):
            if t[i] != "\\":
                out += t[i]
                i += 1
                continue
            c = t[i + 1]
            if c == "x":
                out += chr(int(t[i + 2:i + 4], 16))
                i += 4
                continue
            out += {"t": "\t", "n": "\n", "r": "\r"}.get(c, c)
            i += 2
        return out
    rows = []
    with open(os.path.join(H.TOP, "tests", "fixtures", "addresses.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            a, b = line.rstrip("\n").rsplit("\t", 1)
            rows.append((unescape(a), None if b == "-" else unescape(b)))
    return rows


def test_normalize_email_agrees_with_the_c_rules():
    """ses_feedback.normalize_email gives exactly what the fixture says, the
    fixture the C unit test (tests/unit/test_addr.c) holds src/addr.c to."""
    rows = fixture_addresses()
    assert len(rows) >= 80
    for a, want in rows:
        got = one("SELECT ses_feedback.normalize_email(%s)" % lit(a))
        assert got == want, (a, got, want)
    # a database whose locale lowers more than ASCII changes nothing
    D.pg.psql_admin("CREATE DATABASE addr_fr TEMPLATE template0 ENCODING 'UTF8' "
                    "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    dsn = "host=%s dbname=addr_fr user=postgres" % D.pg.sock
    assert H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": dsn})).returncode == 0
    assert D.pg.query("SELECT lower('\u00c9')", "addr_fr") == [["\u00e9"]]
    for a, want in rows:
        got = D.pg.query("SELECT ses_feedback.normalize_email(%s)" % lit(a), "addr_fr")[0][0]
        assert got == want, (a, got, want)
    D.pg.psql_admin("DROP DATABASE addr_fr")


def test_suppress_ingest_and_import_agree_on_every_address():
    """suppress() refuses exactly the fixture's non-addresses; ingest()
    records them as not_an_address; the CSV import (C rules) rejects the
    same lines; and the rows they make are the normal forms."""
    rows = fixture_addresses()
    for a, want in rows:
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U",
                   "postgres", "-d", "sesfb", "-c",
                   "SELECT ses_feedback.suppress(%s, 'fixture')" % lit(a)])
        if want is None:
            assert r.returncode != 0 and "not an email address" in r.stderr, (a, r.stderr)
        else:
            assert r.returncode == 0, (a, r.stderr)
            assert one("SELECT ses_feedback.is_suppressed(%s)" % lit(a)) == "t", a
            assert one("SELECT count(*) FROM ses_feedback.suppressions WHERE email = %s"
                       % lit(want)) == "1", a
    mid = str(uuid.uuid4())
    p = {"sns_message_id": mid, "topic_arn": "arn:aws:sns:us-east-1:123456789012:t",
         "sns_type": "Notification", "sns_timestamp": ts(0), "event_type": "Delivery",
         "occurred_at": ts(0), "message": {"eventType": "Delivery"},
         "recipients": [{"original": a} for a, _ in rows]}
    assert one("SELECT result FROM ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p))) \
        == "stored"
    got = D.pg.query("SELECT e.email, e.outcome FROM ses_feedback.recipient_events e JOIN "
                     "ses_feedback.notifications n ON n.id = e.notification_id "
                     "WHERE n.sns_message_id = %s ORDER BY e.id" % lit(mid))
    assert got == [[w, "delivery" if w else "not_an_address"] for _, w in rows], got
    csv = "".join('"%s",BOUNCE\n' % a.replace('"', '""') for a, _ in rows
                  if "\n" not in a and "\r" not in a)
    r = cli(["suppressions", "import", "-"], D.pg.dsn, stdin="emailAddress,reason\n" + csv)
    kept = [a for a, _ in rows if "\n" not in a and "\r" not in a]
    bad = [i + 2 for i, a in enumerate(kept) if dict(rows)[a] is None]
    for n in bad:
        assert ("line %d:" % n) in r.stderr, (n, r.stderr[:2000])
    assert r.stderr.count("line ") == len(bad), r.stderr[:2000]


# ---- CLI: import and export ---------------------------------------------------

def cli(args, dsn, stdin=None):
    return subprocess.run([H.BIN] + args, input=stdin, capture_output=True, text=True,
                          env=H.service_env({"SES_FEEDBACK_DSN": dsn}))


def test_export_import_round_trip_in_ses_format():
    # rows of this test's own, whatever ran before: a hard bounce, a
    # complaint, and a manual suppression (exported only with --all)
    hard, compl, manual = addr(), addr(), addr()
    got = (bounce(hard), complaint(compl))
    assert got == ("stored", "stored"), got
    one("SELECT ses_feedback.suppress(%s)" % lit(manual))
    src = "host=%s dbname=sesfb user=postgres" % D.pg.sock
    r = cli(["suppressions", "export"], src)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "emailAddress,reason"
    body = lines[1:]
    assert body and all(l.endswith(",BOUNCE") or l.endswith(",COMPLAINT") for l in body), body
    assert hard + ",BOUNCE" in body and compl + ",COMPLAINT" in body, body
    # CSV: an address may be quoted (it may hold a comma or a quote)
    want = set(row[0] for row in csv.reader(body))
    assert manual not in want, manual
    # SES's list has no scope: global suppressions only, and it says so
    have = set(x[0] for x in q("SELECT email FROM ses_feedback.active_suppressions "
                               "WHERE reason <> 'manual' AND reason <> 'unsubscribe' "
                               "AND scope = 'global'"))
    assert want == have, want ^ have
    scoped_n = int(one("SELECT count(*) FROM ses_feedback.active_suppressions "
                       "WHERE scope <> 'global'"))
    if scoped_n:
        assert "only global suppressions are written" in r.stderr and \
            "%d scoped" % scoped_n in r.stderr, r.stderr
    else:
        assert r.stderr == "", r.stderr
    r_all = cli(["suppressions", "export", "--all"], src)
    got_all = set(row[0] for row in csv.reader(r_all.stdout.splitlines()[1:]))
    all_have = set(x[0] for x in q("SELECT email FROM ses_feedback.active_suppressions "
                                   "WHERE scope = 'global'"))
    assert got_all == all_have, got_all ^ all_have
    assert manual in got_all and want < got_all, manual

    D.pg.psql_admin("CREATE DATABASE imp")
    dst = "host=%s dbname=imp user=postgres" % D.pg.sock
    assert cli(["migrate"], dst).returncode == 0
    r = cli(["suppressions", "import", "--note", "from SES", "-"], dst, stdin=r.stdout)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "%d lines: %d added, 0 already suppressed, 0 rejected" % (
        len(body), len(body)), r.stdout
    got = set(x[0] for x in D.pg.query("SELECT email FROM ses_feedback.active_suppressions "
                                       "WHERE reason = 'manual'", "imp"))
    assert got == want
    # again: nothing new
    r = cli(["suppressions", "import", "-"], dst, stdin="emailAddress,reason\n" + body[0] + "\n")
    assert "1 lines: 0 added, 1 already suppressed, 0 rejected" in r.stdout, r.stdout
    D.pg.psql_admin("DROP DATABASE imp")


def test_import_adds_a_global_suppression_beside_a_scoped_one():
    a = addr()
    sub_event(a, "News", True, [])
    src = "host=%s dbname=sesfb user=postgres" % D.pg.sock
    r = cli(["suppressions", "import", "-"], src, stdin="emailAddress,reason\n%s,BOUNCE\n" % a)
    assert "1 lines: 1 added, 0 already suppressed, 0 rejected" in r.stdout, r.stdout + r.stderr
    assert scopes(a) == ["contact_list=News unsubscribe", "global manual"]
    assert sup(a)


def test_import_reports_bad_lines_with_numbers():
    D.pg.psql_admin("CREATE DATABASE imp2")
    dst = "host=%s dbname=imp2 user=postgres" % D.pg.sock
    assert cli(["migrate"], dst).returncode == 0
    text = ("emailAddress,reason\n"
            "ok1@example.com,BOUNCE\n"
            "not-an-address,BOUNCE\n"
            "ok2@example.com,complaint\n"
            "ok3@example.com,SPAM\n"
            "\n"
            '"quoted@example.com",BOUNCE\n'
            "a,b,c\n"
            "x@example.com'; DROP TABLE ses_feedback.suppressions; --,BOUNCE\n")
    r = cli(["suppressions", "import", "-"], dst, stdin=text)
    assert r.returncode == 1, r
    assert "line 3: not an email address" in r.stderr, r.stderr
    assert "line 5: reason must be BOUNCE or COMPLAINT" in r.stderr, r.stderr
    assert "line 8: want two fields" in r.stderr, r.stderr
    assert "line 9: " in r.stderr, r.stderr
    assert "7 lines: 3 added, 0 already suppressed, 4 rejected" in r.stdout, r.stdout
    got = sorted(x[0] for x in D.pg.query("SELECT email FROM ses_feedback.suppressions",
                                          "imp2"))
    assert got == ["ok1@example.com", "ok2@example.com", "quoted@example.com"], got
    r = cli(["suppressions", "import", "-"], dst, stdin="email,reason\nz@example.com,BOUNCE\n")
    assert "line 1: want the header emailAddress,reason" in r.stderr
    D.pg.psql_admin("DROP DATABASE imp2")


# ---- migration and roles --------------------------------------------------------

def test_ingest_returns_result_and_suppressions_added():
    a, b, c = addr(), addr(), addr()
    p = {"sns_message_id": str(uuid.uuid4()), "topic_arn": "t", "sns_type": "Notification",
         "sns_timestamp": ts(), "event_type": "Bounce", "message": {"k": 1},
         "recipients": [{"email": x, "original": x, "bounce_type": "Permanent",
                         "feedback_id": uuid.uuid4().hex} for x in (a, b, c)]}
    call = "SELECT result, suppressed FROM ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p))
    D.pg.query("SELECT ses_feedback.suppress(%s)" % lit(c))  # manual is stronger
    assert q(call) == [["stored", "2"]]
    assert q(call) == [["duplicate", "0"]]
    # the third soft bounce in the window is the one that suppresses
    d = addr()
    assert [q("SELECT suppressed FROM ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(
        {"sns_message_id": str(uuid.uuid4()), "topic_arn": "t", "sns_type": "Notification",
         "sns_timestamp": ts(3 - i), "event_type": "Bounce", "message": {"k": 1},
         "recipients": [{"email": d, "original": d, "bounce_type": "Transient",
                         "bounce_subtype": "General", "status": "4.0.0",
                         "feedback_id": uuid.uuid4().hex}]})))[0][0] for i in range(3)] \
        == ["0", "0", "1"]


def test_constraints_hold_the_rules_columns():
    a = addr()  # an event of this test's own to update
    assert bounce(a) == "stored"
    for sql in ("UPDATE ses_feedback.recipient_events SET outcome = 'bounced' WHERE email = "
                + lit(a),
                "INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at) "
                "VALUES ('Upper@Example.com', 'manual', now(), now())",
                "INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, count) "
                "VALUES ('zero@example.com', 'manual', now(), now(), 0)",
                "INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at) "
                "VALUES ('back@example.com', 'manual', now(), now() - interval '1 day')",
                "INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at) "
                "VALUES ('why@example.com', 'because', now(), now())"):
        assert "violates check constraint" in psql_error(sql), sql
    plan = "\n".join(r[0] for r in q(
        "EXPLAIN SELECT 1 FROM ses_feedback.recipient_events e "
        "WHERE e.email = 'x@example.com' AND e.outcome = 'soft_bounce'"))
    assert "recipient_events_soft_idx" in plan, plan


def test_migrate_again_is_idempotent_and_reapplies_functions():
    import hashlib
    D.pg.psql_admin("CREATE DATABASE remig")
    dsn = "host=%s dbname=remig user=postgres" % D.pg.sock
    r = cli(["migrate"], dsn)
    assert r.returncode == 0 and "applied 001-baseline" in r.stdout, r.stdout + r.stderr
    want = []
    for v, name in (("1", "001-baseline"), ("2", "002-scope-and-notify"),
                    ("3", "003-status-page"), ("4", "004-ingest-triggers"),
                    ("5", "005-group-commit")):
        with open(os.path.join(H.TOP, "sql", name + ".sql"), "rb") as f:
            want.append([v, name, hashlib.sha256(f.read()).hexdigest()])
    assert D.pg.query("SELECT version, name, checksum FROM ses_feedback.schema_migrations "
                      "ORDER BY version", "remig") == want
    # 005: the SES event is compressed with lz4 (Debian's PostgreSQL has it)
    assert D.pg.query("SELECT attname, attcompression FROM pg_attribute WHERE attrelid = "
                      "'ses_feedback.notifications'::regclass AND attname IN "
                      "('message', 'message_text', 'tags') ORDER BY 1", "remig") == \
        [["message", "l"], ["message_text", "l"], ["tags", "l"]]
    D.pg.query("SELECT ses_feedback.suppress('kept@x.example', 'kept')", "remig")
    # a function and a view changed or lost by hand come back as sql/ has them
    D.pg.query("CREATE OR REPLACE FUNCTION ses_feedback.classify(p_recipient jsonb, "
               "p_event text) RETURNS text LANGUAGE sql AS $$ SELECT 'record_only' $$; "
               "DROP VIEW ses_feedback.recipients_not_understood", "remig")
    r = cli(["migrate"], dsn)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 migrations applied" in r.stdout and "applied functions and views" in r.stdout, \
        r.stdout
    assert D.pg.query("SELECT ses_feedback.classify('{\"bounce_type\": \"Permanent\"}', "
                      "'Bounce'), count(*) FROM ses_feedback.recipients_not_understood",
                      "remig") == [["hard_bounce", "0"]]
    assert D.pg.query("SELECT email FROM ses_feedback.suppressions", "remig") == \
        [["kept@x.example"]]
    assert D.pg.query("SELECT count(*) FROM ses_feedback.schema_migrations", "remig") == \
        [[str(len(want))]]
    D.pg.psql_admin("DROP DATABASE remig")


def test_edited_or_unknown_migration_is_refused():
    D.pg.psql_admin("CREATE DATABASE edited")
    dsn = "host=%s dbname=edited user=postgres" % D.pg.sock
    assert cli(["migrate"], dsn).returncode == 0
    orig = D.pg.query("SELECT checksum FROM ses_feedback.schema_migrations WHERE version = 1",
                      "edited")[0][0]
    D.pg.query("UPDATE ses_feedback.schema_migrations SET checksum = repeat('0', 64) "
               "WHERE version = 1", "edited")
    r = cli(["migrate"], dsn)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "migration 001-baseline differs from the one applied" in r.stderr, r.stderr
    assert "applied functions" not in r.stdout, r.stdout
    r = cli(["check-config"], dsn)
    assert "FAIL database: migration 001-baseline differs" in r.stdout, r.stdout
    D.pg.query("UPDATE ses_feedback.schema_migrations SET checksum = %s WHERE version = 1"
               % lit(orig), "edited")
    assert cli(["migrate"], dsn).returncode == 0
    D.pg.query("INSERT INTO ses_feedback.schema_migrations VALUES (999, '999-later', "
               "repeat('a', 64))", "edited")
    r = cli(["migrate"], dsn)
    assert r.returncode == 1 and "has migration 999-later, which this program does not know" \
        in r.stderr, r.stderr
    D.pg.psql_admin("DROP DATABASE edited")


def test_roles_writer_reader_sender_get_only_what_they_need():
    r = cli(["migrate", "--roles"], D.pg.dsn)
    assert r.returncode == 0 and "applied functions and views and roles" in r.stdout, \
        r.stdout + r.stderr
    for login, role in (("w1", "ses_feedback_writer"), ("r1", "ses_feedback_reader"),
                        ("s1", "ses_feedback_sender")):
        D.pg.psql_admin("DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN IN ROLE %s"
                        % (login, login, role))

    def ok(user, sql):
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U", user,
                   "-d", "sesfb", "-c", sql])
        assert r.returncode == 0, (user, sql, r.stderr)

    a = addr()
    p = {"sns_message_id": str(uuid.uuid4()), "topic_arn": "t", "sns_type": "Notification",
         "sns_timestamp": ts(), "event_type": "Bounce", "message": {"k": 1},
         "recipients": [{"email": a, "original": a, "bounce_type": "Permanent",
                         "feedback_id": uuid.uuid4().hex}]}
    ok("w1", "SELECT ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(p)))
    ok("w1", "SELECT coalesce(max(version), 0) FROM ses_feedback.schema_migrations")
    assert "permission denied" in psql_error("DELETE FROM ses_feedback.suppressions", user="w1")
    assert "permission denied" in psql_error("SELECT ses_feedback.unsuppress('x@y.z')",
                                             user="w1")
    ok("r1", "SELECT * FROM ses_feedback.sending_rates")
    ok("r1", "SELECT * FROM ses_feedback.active_suppressions")
    assert "permission denied" in psql_error("SELECT ses_feedback.ingest('{}')", user="r1")
    assert "permission denied" in psql_error(
        "UPDATE ses_feedback.policy SET value = '1' WHERE name = 'soft_bounce_limit'", user="r1")
    ok("s1", "SELECT ses_feedback.is_suppressed(%s)" % lit(a))
    r = H.run(["psql", "-X", "-At", "-h", D.pg.sock, "-U", "s1", "-d", "sesfb", "-c",
               "SELECT ses_feedback.is_suppressed(%s)" % lit(a)])
    assert r.stdout.strip() == "t", r.stdout + r.stderr
    assert "permission denied" in psql_error("SELECT * FROM ses_feedback.suppressions",
                                             user="s1")
    assert "permission denied" in psql_error("SELECT ses_feedback.suppress('x@y.z')", user="s1")
    # a function added later by the owner is nobody's until granted
    D.pg.psql_admin("CREATE FUNCTION ses_feedback.added_later() RETURNS int LANGUAGE sql "
                    "AS 'SELECT 1'", "sesfb")
    assert "permission denied" in psql_error("SELECT ses_feedback.added_later()", user="s1")
    D.pg.psql_admin("DROP FUNCTION ses_feedback.added_later()", "sesfb")


def test_cookbook_queries_run():
    """Every SQL block of doc/cookbook.md runs against the current schema
    (in a transaction that is rolled back)."""
    import re
    with open(os.path.join(H.TOP, "doc", "cookbook.md")) as f:
        blocks = re.findall(r"```sql\n(.*?)```", f.read(), re.S)
    blocks = [b for b in blocks if "cron." not in b]
    assert len(blocks) >= 10, len(blocks)
    for b in blocks:
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U",
                   "postgres", "-d", "sesfb", "-c", "BEGIN", "-c", b, "-c", "ROLLBACK"])
        assert r.returncode == 0, (b, r.stderr)


def test_upgrade_from_schema_1_keeps_data_grants_and_answers():
    """A database as the first release left it (tests/fixtures/schema-1:
    migrate --roles, events, suppressions, a lifted one), upgraded by a
    plain `migrate`: nothing lost, the roles' grants kept, the service
    and the senders working on it at once."""
    db = "upgrade_" + uuid.uuid4().hex[:6]
    D.pg.psql_admin("CREATE DATABASE %s" % db)
    D.pg.psql_admin("DO $$ BEGIN "
                    "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ses_feedback_writer') "
                    "THEN CREATE ROLE ses_feedback_writer NOLOGIN; END IF; "
                    "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ses_feedback_reader') "
                    "THEN CREATE ROLE ses_feedback_reader NOLOGIN; END IF; "
                    "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ses_feedback_sender') "
                    "THEN CREATE ROLE ses_feedback_sender NOLOGIN; END IF; END $$")
    dump = os.path.join(H.TOP, "tests", "fixtures", "schema-1", "dump.sql")
    r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U", "postgres",
               "-d", db, "-f", dump])
    assert r.returncode == 0, r.stderr
    q = lambda sql: D.pg.query(sql, db)
    # two schema-1 unsubscribeAll suppressions (global then): one whose
    # event names its contact list, one whose event is gone
    q("WITH n AS (INSERT INTO ses_feedback.notifications (sns_message_id, topic_arn, "
      "sns_type, sns_timestamp, event_type, occurred_at, message) VALUES ('m-unsub', "
      "'arn:aws:sns:us-east-1:123456789012:ses-events', 'Notification', now(), "
      "'Subscription', now(), '{\"eventType\": \"Subscription\", \"subscription\": "
      "{\"contactList\": \"News\", \"newTopicPreferences\": {\"unsubscribeAll\": true}}}') "
      "RETURNING id) INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, "
      "notification_id) SELECT 'unsub@example.com', 'unsubscribe', now(), now(), id FROM n")
    q("INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at) VALUES "
      "('unsub-nolist@example.com', 'unsubscribe', now(), now())")
    as_role = lambda role, sql: [r for r in q("SET ROLE %s; %s" % (role, sql)) if r != ["SET"]]
    before = q("SELECT email, reason, lifted_at IS NULL, expires_at FROM "
               "ses_feedback.suppressions ORDER BY email")
    events = q("SELECT count(*) FROM ses_feedback.recipient_events")
    assert len(before) == 7 and events == [["6"]], (before, events)
    dsn = "host=%s dbname=%s user=postgres" % (D.pg.sock, db)
    r = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": dsn}))
    assert r.returncode == 0, r.stderr + r.stdout
    assert [v for v, in q("SELECT version FROM ses_feedback.schema_migrations ORDER BY 1")] \
        == [str(v) for v in range(1, len(q("SELECT 1 FROM ses_feedback.schema_migrations")) + 1)]
    assert q("SELECT email, reason, lifted_at IS NULL, expires_at FROM "
             "ses_feedback.suppressions ORDER BY email") == before
    # the unsubscribe whose event names its list now holds for that list
    # only (an opt-in there can lift it); the other stays global
    assert q("SELECT email, scope FROM ses_feedback.suppressions WHERE reason = "
             "'unsubscribe' ORDER BY email") == [["unsub-nolist@example.com", "global"],
                                                 ["unsub@example.com", "contact_list=News"]]
    assert q("SELECT count(*) FROM ses_feedback.recipient_events") == events
    # the sender's grant survives: is_suppressed() answers as that role
    got = as_role("ses_feedback_sender", "SELECT e, ses_feedback.is_suppressed(e) FROM "
            "unnest(ARRAY['hard@example.com', 'COMPLAINER@example.com', 'manual@example.com', "
            "'lifted@example.com', 'ok@example.com']) e")
    assert got == [["hard@example.com", "t"], ["COMPLAINER@example.com", "t"],
                   ["manual@example.com", "t"], ["lifted@example.com", "f"],
                   ["ok@example.com", "f"]], got
    # the writer's: a new notification is stored, an old one is a duplicate
    doc = {"sns_message_id": "m-after-upgrade", "sns_type": "Notification",
           "topic_arn": "arn:aws:sns:us-east-1:123456789012:ses-bounces",
           "sns_timestamp": "2026-12-02T10:00:00.000Z", "event_type": "Bounce",
           "message": {"notificationType": "Bounce"},
           "recipients": [{"original": "new@example.com", "bounce_type": "Permanent",
                           "bounce_subtype": "General", "status": "5.1.1",
                           "feedback_id": "after"}]}
    got = as_role("ses_feedback_writer", "SELECT result FROM ses_feedback.ingest('%s')"
                  % json.dumps(doc))
    assert got == [["stored"]], got
    doc["sns_message_id"] = "m-hard"
    got = as_role("ses_feedback_writer", "SELECT result FROM ses_feedback.ingest('%s')"
                  % json.dumps(doc))
    assert got == [["duplicate"]], got
    assert q("SELECT ses_feedback.is_suppressed('new@example.com')") == [["t"]]
    D.pg.psql_admin("DROP DATABASE %s" % db)


def test_a_change_with_long_escaped_scope_parts_still_commits_and_notifies():
    """Scope parts of control characters (escaped as \\u00XX) can make a
    payload over NOTIFY's 8000 bytes: the change commits all the same, and
    is announced without them."""
    part = "repeat(chr(1), 250)"
    q = ("BEGIN; INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, "
         "expires_at, configuration_set, contact_list, topic) VALUES ('longscope@example.com', "
         "'soft_bounce', now(), now(), now() - interval '1 s', %s, %s, %s); "
         "CALL ses_feedback.expire(); COMMIT" % (part, part, part))
    r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U", "postgres",
               "-d", "sesfb", "-c", q])
    assert r.returncode == 0, r.stderr
    assert D.pg.query("SELECT expired_at IS NOT NULL FROM ses_feedback.suppressions "
                      "WHERE email = 'longscope@example.com'") == [["t"]]


def test_topic_opt_out_at_list_scope_is_not_lifted_by_its_own_event():
    """With topic_opt_out_scope = contact_list, an event that opts out of a
    topic (unsubscribeAll false) must not lift the list-wide unsubscribe it
    maps to: the opt-out holds."""
    policy("topic_opt_out_scope", "contact_list")
    try:
        c = addr()
        sub_event(c, "News", True, [], days_ago=2)
        assert scopes(c) == ["contact_list=News unsubscribe"]
        sub_event(c, "News", False, [("Weekly", "OptOut")], days_ago=1)
        assert scopes(c) == ["contact_list=News unsubscribe"], scopes(c)
        assert scoped(c, contact_list="News", topic="Weekly")
    finally:
        policy("topic_opt_out_scope", "topic")


def test_suppressions_triggers_notify_exactly_the_changes_they_announce():
    # 004 calls the triggers only under WHEN clauses equal to their
    # functions' own conditions: every kind of change, with what it sends.
    a = addr()
    w = " WHERE email = " + lit(a)
    up = "UPDATE ses_feedback.suppressions SET "
    ins = ("INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at%s) "
           "VALUES (" + lit(a) + ", 'manual', now(), now()%s)")
    dele = "DELETE FROM ses_feedback.suppressions" + w
    cases = [
        (ins % ("", ""), ["suppressed"]),
        (up + "count = count + 1, last_at = now(), note = 'n'" + w, []),
        (up + "expires_at = now() + interval '1 day'" + w, ["changed"]),
        (up + "expires_at = expires_at" + w, []),
        (up + "reason = 'hard_bounce'" + w, ["changed"]),
        (up + "reason = 'complaint'" + w, ["strengthened"]),
        (up + "lifted_at = now()" + w, ["lifted"]),
        (up + "lifted_at = now() + interval '1 s', reason = 'manual'" + w, []),
        (up + "lifted_at = NULL" + w, ["suppressed"]),
        (up + "expired_at = now()" + w, ["expired"]),
        (up + "reason = 'hard_bounce', expires_at = NULL" + w, []),
        # the BEFORE trigger makes a passed expiry explicit: nothing in force
        (up + "expired_at = NULL, expires_at = now() - interval '1 s'" + w, []),
        (dele, []),
        (ins % (", expires_at", ", now() - interval '1 s'"), []),
        (up + "expired_at = NULL, expires_at = now() + interval '1 day'" + w, ["suppressed"]),
        (dele, ["lifted"]),
        (ins % (", lifted_at", ", now()"), []),
        (dele, []),
    ]
    for sql, want in cases:
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", D.pg.sock, "-U",
                   "postgres", "-d", "sesfb", "-c", "LISTEN ses_feedback_suppressions",
                   "-c", sql])
        assert r.returncode == 0, r.stderr
        got = [json.loads(line.split('with payload "', 1)[1].rsplit('" received', 1)[0])
               for line in r.stdout.split("\n") if "Asynchronous notification" in line]
        assert [g["state"] for g in got] == want, (sql, r.stdout)
        assert all(g["email"] == a for g in got), got
        if "now() - interval '1 s'" in sql:
            assert q("SELECT expired_at = expires_at FROM ses_feedback.suppressions" + w) \
                == [["t"]], sql
