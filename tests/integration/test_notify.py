# SPDX-License-Identifier: ISC
"""Suppression changes pushed at once (NOTIFY on ses_feedback_suppressions,
`ses-feedback watch`), and suppressions with a scope, through the whole
path: signed SNS messages posted to nginx, the program, PostgreSQL. The
listener is `ses-feedback watch --json`; each check ends with a marker
change made after everything else, so that "nothing more" is proven by
commit order, not by waiting."""
import copy
import json
import os
import select
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import harness as H

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
TOPIC_EVENTS = "arn:aws:sns:us-east-1:123456789012:ses-events"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-*"
FIX = os.path.join(H.TOP, "tests", "fixtures", "ses")

W = H.World(ALLOWED)


def setup():
    W.start()


def teardown():
    W.stop()


# ---- what the tests share ---------------------------------------------------

def fix(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def when(days_ago):
    t = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def addr(tag="n"):
    return "%s%s@example.com" % (tag, uuid.uuid4().hex[:10])


def bounce(email, btype="Permanent", sub="General", status="5.1.1", days_ago=0.0,
           feedback_id=None, configuration_set=None):
    """An SES bounce: identity notification shape, or the event shape of a
    configuration set when configuration_set is given."""
    d = fix("event-bounce.json" if configuration_set else "identity-bounce-permanent.json")
    b = d["bounce"]
    b["bounceType"], b["bounceSubType"] = btype, sub
    b["bouncedRecipients"] = [{"emailAddress": email, "status": status, "action": "failed",
                               "diagnosticCode": "smtp; %s x" % status}]
    b["timestamp"] = d["mail"]["timestamp"] = when(days_ago)
    b["feedbackId"] = feedback_id or uuid.uuid4().hex
    if configuration_set:
        d["mail"]["tags"]["ses:configuration-set"] = [configuration_set]
    return d


def complaint(email, days_ago=0.0, configuration_set=None):
    d = fix("event-complaint.json" if configuration_set else "identity-complaint.json")
    c = d["complaint"]
    c["complainedRecipients"] = [{"emailAddress": email}]
    c["timestamp"] = d["mail"]["timestamp"] = when(days_ago)
    c["feedbackId"] = uuid.uuid4().hex
    if configuration_set:
        d["mail"]["tags"]["ses:configuration-set"] = [configuration_set]
    return d


def delivery(email, days_ago=0.0):
    d = fix("identity-delivery.json")
    d["delivery"]["recipients"] = [email]
    d["delivery"]["timestamp"] = d["mail"]["timestamp"] = when(days_ago)
    return d


def subscription(email, contact_list, unsubscribe_all, topics, old_all=False, days_ago=0.0):
    """An SES Subscription event (AWS's documented shape, as in the
    fixture): topics is [(topicName, OptIn|OptOut)]."""
    d = fix("event-subscription.json")
    d["mail"]["destination"] = [email]
    d["mail"]["commonHeaders"]["to"] = [email]
    d["mail"]["timestamp"] = when(days_ago + 0.001)
    s = d["subscription"]
    s["contactList"] = contact_list
    s["timestamp"] = when(days_ago)
    s["newTopicPreferences"] = {
        "unsubscribeAll": unsubscribe_all,
        "topicSubscriptionStatus": [{"topicName": t, "subscriptionStatus": st}
                                    for t, st in topics]}
    s["oldTopicPreferences"] = {"unsubscribeAll": old_all, "topicSubscriptionStatus": []}
    return d


def post(message, topic=TOPIC):
    env = W.signed(message, topic)
    st, _, body = W.post(env)
    assert st == 200, (st, body)
    return env


def repost(env):
    st, _, body = W.post(env)
    assert st == 200, (st, body)


def sql(q):
    return W.pg.query(q)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def policy(name, value):
    sql("UPDATE ses_feedback.policy SET value = %s WHERE name = %s" % (lit(value), lit(name)))


def scoped(email, **scope):
    args = "".join(", %s => %s" % (k, lit(v)) for k, v in scope.items())
    return W.pg.scalar("SELECT ses_feedback.is_suppressed(%s%s)" % (lit(email), args)) == "t"


class Watch:
    """`ses-feedback watch` in the background; its lines, as they come."""

    def __init__(self, json_lines=True):
        cmd = [H.BIN, "watch"] + (["--json"] if json_lines else [])
        self.p = subprocess.Popen(cmd, env=H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn}),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines, self.err = [], []
        self.t_out = threading.Thread(target=self._read, args=(self.p.stdout, self.lines))
        self.t_err = threading.Thread(target=self._read, args=(self.p.stderr, self.err))
        self.t_out.start()
        self.t_err.start()
        H.wait_for(lambda: any("listening on channel ses_feedback_suppressions" in l
                               for l in self.err) or self.p.poll() is not None,
                   10, "watch listening")
        assert self.p.poll() is None, "".join(self.err)

    @staticmethod
    def _read(f, into):
        for line in f:
            into.append(line.rstrip("\n"))

    def until_marker(self, timeout=10):
        """Make a change after everything so far and return the changes
        seen before it, as dicts (the marker's own left out)."""
        m = addr("marker")
        sql("SELECT ses_feedback.suppress(%s, 'marker')" % lit(m))
        H.wait_for(lambda: any(m in l for l in self.lines), timeout, "the marker")
        out = []
        for l in list(self.lines):
            if m in l:
                break
            out.append(json.loads(l))
        del self.lines[:]
        return out

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        rc = self.p.wait(10)
        self.t_out.join(5)
        self.t_err.join(5)
        return rc


def brief(changes):
    return [(c["email"], c["state"], c["reason"], c["scope"]) for c in changes]


# ---- the tests -----------------------------------------------------------

def test_replayed_corpus_notifies_exactly_its_changes_in_commit_order():
    w = Watch()
    try:
        a, b, c, d = addr("a"), addr("b"), addr("c"), addr("d")
        corpus = [
            (bounce(a), TOPIC),                                        # a suppressed
            (delivery(a), TOPIC),                                      # nothing
            (complaint(b), TOPIC),                                     # b suppressed
            (bounce(b), TOPIC),                                        # weaker: nothing
            (complaint(a), TOPIC),                                     # a strengthened
            (bounce(c, "Transient", "General", "4.0.0", days_ago=3), TOPIC),
            (bounce(c, "Transient", "General", "4.0.0", days_ago=2), TOPIC),
            (bounce(c, "Transient", "General", "4.0.0", days_ago=1), TOPIC),  # c suppressed
            (delivery(c, days_ago=1.5), TOPIC),                        # late: c expired
            (subscription(d, "News", True, [("Weekly", "OptOut")]), TOPIC_EVENTS),
        ]
        envs = [post(m, t) for m, t in corpus]
        want = [(a, "suppressed", "hard_bounce", "global"),
                (b, "suppressed", "complaint", "global"),
                (a, "strengthened", "complaint", "global"),
                (c, "suppressed", "soft_bounce", "global"),
                (c, "expired", "soft_bounce", "global"),
                (d, "suppressed", "unsubscribe", "contact_list=News")]
        got = w.until_marker()
        assert brief(got) == want, brief(got)
        for g in got:
            assert set(g) == {"email", "state", "reason", "scope", "configuration_set",
                              "contact_list", "topic", "at", "expires_at"}, g
            assert len(json.dumps(g)) < 1000
        assert got[5]["contact_list"] == "News" and got[5]["topic"] is None
        # the same corpus again, every message a duplicate: nothing
        for e in envs:
            repost(e)
        assert w.until_marker() == []
    finally:
        assert w.stop() == 0


def test_rolled_back_ingest_and_unchanged_state_notify_nothing():
    w = Watch()
    try:
        a = addr()
        doc = {"sns_message_id": str(uuid.uuid4()), "topic_arn": TOPIC,
               "sns_type": "Notification", "sns_timestamp": when(0), "event_type": "Bounce",
               "occurred_at": when(0), "message": {"eventType": "Bounce"},
               "recipients": [{"email": a, "original": a, "bounce_type": "Permanent",
                               "bounce_subtype": "General", "status": "5.1.1",
                               "feedback_id": uuid.uuid4().hex}]}
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", W.pg.sock, "-U",
                   "postgres", "-d", "sesfb", "-c", "BEGIN", "-c",
                   "SELECT ses_feedback.ingest(%s::jsonb)" % lit(json.dumps(doc)),
                   "-c", "ROLLBACK"])
        assert r.returncode == 0, r.stderr
        assert W.count("suppressions", "email = %s" % lit(a)) == 0
        # an ingest that fails half-way (a second statement errors) neither
        r = H.run(["psql", "-X", "-q", "-h", W.pg.sock, "-U", "postgres", "-d", "sesfb",
                   "-1", "-v", "ON_ERROR_STOP=1", "-c",
                   "SELECT ses_feedback.ingest(%s::jsonb); SELECT 1/0"
                   % lit(json.dumps(dict(doc, sns_message_id=str(uuid.uuid4()))))])
        assert r.returncode != 0
        assert w.until_marker() == []
        # suppress twice, a second hard bounce: one change only
        sql("SELECT ses_feedback.suppress(%s)" % lit(a))
        sql("SELECT ses_feedback.suppress(%s)" % lit(a))
        post(bounce(a))
        assert brief(w.until_marker()) == [(a, "suppressed", "manual", "global")]
        # manual lift, then a bounce older than the lift: lifted only
        sql("SELECT ses_feedback.unsuppress(%s, 'test')" % lit(a))
        post(bounce(a, days_ago=1))
        assert brief(w.until_marker()) == [(a, "lifted", "manual", "global")]
    finally:
        assert w.stop() == 0


def test_one_transaction_that_suppresses_lifts_and_suppresses_again_sends_all_three():
    """NOTIFY folds identical payloads of one transaction: each carries the
    time of its own change, so none is lost."""
    w = Watch()
    try:
        a = addr()
        r = H.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", W.pg.sock, "-U",
                   "postgres", "-d", "sesfb", "-1",
                   "-c", "SELECT ses_feedback.suppress(%s)" % lit(a),
                   "-c", "SELECT ses_feedback.unsuppress(%s)" % lit(a),
                   "-c", "UPDATE ses_feedback.suppressions SET lifted_at = NULL "
                         "WHERE email = %s" % lit(a)])
        assert r.returncode == 0, r.stderr
        got = w.until_marker()
        assert [c["state"] for c in got] == ["suppressed", "lifted", "suppressed"], got
        assert got[0]["at"] < got[1]["at"] < got[2]["at"], got
    finally:
        assert w.stop() == 0


def test_expire_makes_expiry_by_time_explicit_and_notifies():
    w = Watch()
    try:
        a = addr()
        sql("INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at, "
            "expires_at) VALUES (%s, 'soft_bounce', now(), now(), now() + interval '1 second')"
            % lit(a))
        assert brief(w.until_marker()) == [(a, "suppressed", "soft_bounce", "global")]
        H.wait_for(lambda: not W.is_suppressed(a), 5, "the time to pass")
        sql("CALL ses_feedback.expire()")
        got = w.until_marker()
        assert brief(got) == [(a, "expired", "soft_bounce", "global")]
        assert got[0]["at"] == got[0]["expires_at"]
        assert sql("SELECT expired_at = expires_at FROM ses_feedback.suppressions "
                   "WHERE email = %s" % lit(a)) == [["t"]]
        assert sql("SELECT action, actor FROM ses_feedback.suppression_log WHERE email = %s "
                   "ORDER BY id DESC LIMIT 1" % lit(a)) == [["expire", "ses-feedback"]]
        sql("CALL ses_feedback.expire()")  # again: nothing left to expire
        assert w.until_marker() == []
    finally:
        assert w.stop() == 0


def test_subscription_events_scope_opt_out_of_a_topic_of_all_and_in_again():
    w = Watch()
    try:
        e = addr("sub")
        # opt out of one topic: that topic of that list only
        post(subscription(e, "News", False, [("Weekly", "OptOut"), ("Daily", "OptIn")],
                          days_ago=3), TOPIC_EVENTS)
        assert brief(w.until_marker()) == [
            (e, "suppressed", "unsubscribe", "contact_list=News topic=Weekly")]
        assert not W.is_suppressed(e)  # receipts still go
        assert scoped(e, contact_list="News", topic="Weekly")
        assert not scoped(e, contact_list="News", topic="Daily")
        assert not scoped(e, contact_list="Other", topic="Weekly")
        assert not scoped(e, configuration_set="ConfigSet")
        # of all: every topic of the list
        post(subscription(e, "News", True, [("Weekly", "OptOut")], days_ago=2), TOPIC_EVENTS)
        assert brief(w.until_marker()) == [
            (e, "suppressed", "unsubscribe", "contact_list=News")]
        assert scoped(e, contact_list="News", topic="Daily")
        assert scoped(e, contact_list="News")
        assert not scoped(e, contact_list="Other", topic="Daily")
        assert not W.is_suppressed(e)
        rows = sql("SELECT suppressed, reason, scope FROM ses_feedback.is_suppressed("
                   "ARRAY[%s, 'nobody@example.com'], contact_list => 'News', topic => 'Daily')"
                   % lit(e))
        assert rows == [["t", "unsubscribe", "contact_list=News"], ["f", None, None]], rows
        assert sql("SELECT suppressed FROM ses_feedback.is_suppressed(ARRAY[%s])"
                   % lit(e)) == [["f"]]
        # opt in again, to the list and to the topic: both lifted
        post(subscription(e, "News", False, [("Weekly", "OptIn")], old_all=True, days_ago=1),
             TOPIC_EVENTS)
        assert sorted(brief(w.until_marker())) == sorted([
            (e, "lifted", "unsubscribe", "contact_list=News"),
            (e, "lifted", "unsubscribe", "contact_list=News topic=Weekly")])
        assert not scoped(e, contact_list="News", topic="Weekly")
        # an older opt-out arriving late does not undo the opt-in
        post(subscription(e, "News", False, [("Weekly", "OptOut")], days_ago=1.5),
             TOPIC_EVENTS)
        assert w.until_marker() == []
        # scope in history(), the view, and the log
        hist = sql("SELECT what, scope FROM ses_feedback.history(%s) WHERE what IN "
                   "('suppress', 'unsuppress')" % lit(e))
        assert ["suppress", "contact_list=News topic=Weekly"] in hist, hist
        assert ["unsuppress", "contact_list=News"] in hist, hist
        assert W.count("recipient_events", "email = %s AND outcome = 'unsubscribe'"
                       % lit(e)) == 3
    finally:
        assert w.stop() == 0


def test_identity_and_configuration_set_events_for_one_address():
    w = Watch()
    try:
        a = addr("both")
        fid = uuid.uuid4().hex
        # one bounce through the identity's topic and a configuration set's
        post(bounce(a, feedback_id=fid), TOPIC)
        post(bounce(a, feedback_id=fid, configuration_set="Marketing"), TOPIC_EVENTS)
        assert brief(w.until_marker()) == [(a, "suppressed", "hard_bounce", "global")]
        assert W.count("recipient_events", "email = %s" % lit(a)) == 1
        assert W.count("notifications", "message::text LIKE %s" % lit("%" + a + "%")) == 2
        # complaints per configuration set, when the policy says so
        policy("complaint_scope", "configuration_set")
        try:
            f = addr("cs")
            post(complaint(f, configuration_set="Marketing"), TOPIC_EVENTS)
            got = w.until_marker()
            assert brief(got) == [(f, "suppressed", "complaint",
                                   "configuration_set=Marketing")]
            assert got[0]["configuration_set"] == "Marketing"
            assert not W.is_suppressed(f)
            assert scoped(f, configuration_set="Marketing")
            assert scoped(f, configuration_set="Marketing", contact_list="News",
                          topic="Weekly")
            assert not scoped(f, configuration_set="Receipts")
            # CSV for SES: global entries only, and it says so
            r = H.run([H.BIN, "suppressions", "export"],
                      env=H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn}))
            assert r.returncode == 0, r.stderr
            assert f not in r.stdout and a in r.stdout
            assert "only global suppressions are written" in r.stderr, r.stderr
            assert sql("SELECT scope FROM ses_feedback.active_suppressions WHERE email = %s"
                       % lit(f)) == [["configuration_set=Marketing"]]
            # the same address complains through the identity: global too
            post(complaint(f), TOPIC)
            assert brief(w.until_marker()) == [(f, "suppressed", "complaint", "global")]
            assert W.is_suppressed(f)
        finally:
            policy("complaint_scope", "global")
    finally:
        assert w.stop() == 0


def test_watch_prints_logfmt_stops_on_sigint_and_exits_when_the_connection_goes():
    w = Watch(json_lines=False)
    a = addr()
    sql("SELECT ses_feedback.suppress(%s, 'logfmt')" % lit(a))
    H.wait_for(lambda: any(a in l for l in w.lines), 10, "the logfmt line")
    line = [l for l in w.lines if a in l][0]
    assert line.startswith("at=") and " state=suppressed email=%s reason=manual scope=global" \
        % a in line, line
    assert w.stop(signal.SIGINT) == 0
    w = Watch()
    sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE query LIKE 'LISTEN ses_feedback_suppressions%'")
    rc = w.p.wait(10)
    w.stop()
    assert rc == 1, rc
    assert any("connection to the database lost" in l for l in w.err), w.err


def test_readme_shell_listener_works():
    """The README's psql listener, as printed there."""
    with open(os.path.join(H.TOP, "README.md")) as f:
        text = f.read()
    start = text.index("# listen.sh")
    block = text[start:text.index("```", start)]
    script = os.path.join(W.tmp.path("listen.sh"))
    with open(script, "w") as f:
        f.write(block)
    p = subprocess.Popen(["sh", script], env=dict(os.environ, SES_FEEDBACK_DSN=W.pg.dsn),
                         stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(1.5)  # psql has sent LISTEN
        a = addr("sh")
        sql("SELECT ses_feedback.suppress(%s)" % lit(a))
        ready, _, _ = select.select([p.stdout], [], [], 10)
        assert ready, "no line from the README's listener"
        line = p.stdout.readline()
        assert json.loads(line)["email"] == a, line
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(10)
    # the Python one at least compiles
    start = text.index("# listen.py")
    compile(text[start:text.index("```", start)], "listen.py", "exec")
