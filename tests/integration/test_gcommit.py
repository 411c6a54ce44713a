# SPDX-License-Identifier: ISC
"""serve's group commit (src/gcommit.h), through the whole path: signed SNS
messages posted to nginx at once, `serve` with 8 workers, PostgreSQL.

- The same corpus (bounces, complaints, deliveries, soft-bounce runs, a
  late delivery, duplicates, one feedback through two topics, recipients
  that are no address, Subscription events, events recorded only) posted
  16 at a time to one database and one by one to another ends in the same
  rows, and the transactions did store several notifications each.
- A notification the database refuses, stored together with others,
  costs only itself a 5xx: the others get 200 and their rows; so does
  one whose transaction is chosen as a deadlock's victim, and one whose
  work outlasts the statement timeout.
- A worker killed while it commits for others: the group goes on (the
  lock's next holder cleans up), nothing answered 200 is missing, and
  SNS's retries store everything exactly once."""
import json
import os
import random
import re
import threading
import time
import uuid
import signal
from datetime import datetime, timedelta, timezone

import harness as H

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-gc"
TOPIC2 = "arn:aws:sns:us-east-1:123456789012:ses-gc-events"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-gc*"
FIX = os.path.join(H.TOP, "tests", "fixtures", "ses")


class GWorld(H.World):
    def __init__(self):
        super().__init__(ALLOWED, workers=8)
        self.seq_dsn = None

    def locations(self):
        self.seq_dsn = "host=%s dbname=seq user=postgres" % self.pg.sock
        return [("/sns", {}), ("/seq", {"SES_FEEDBACK_DSN": self.seq_dsn}),
                ("/metrics", {"SES_FEEDBACK_ENDPOINT": "metrics"})]


W = GWorld()


def setup():
    W.start()
    W.pg.psql_admin("CREATE DATABASE seq")
    r = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": W.seq_dsn}))
    assert r.returncode == 0, r.stdout + r.stderr


def teardown():
    W.stop()


# ---- messages ---------------------------------------------------------------

def fix(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


NOW = datetime.now(timezone.utc)


def when(minutes_ago):
    t = NOW - timedelta(minutes=minutes_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def bounce(emails, minutes_ago, btype="Permanent", sub="General", status="5.1.1"):
    d = fix("identity-bounce-permanent.json")
    b = d["bounce"]
    b["bounceType"], b["bounceSubType"] = btype, sub
    b["bouncedRecipients"] = [{"emailAddress": e, "status": status, "action": "failed",
                               "diagnosticCode": "smtp; %s x" % status} for e in emails]
    b["timestamp"] = d["mail"]["timestamp"] = when(minutes_ago)
    b["feedbackId"] = uuid.uuid4().hex
    return d


def complaint(email, minutes_ago, feedback_type="abuse"):
    d = fix("identity-complaint.json")
    c = d["complaint"]
    c["complainedRecipients"] = [{"emailAddress": email}]
    c["complaintFeedbackType"] = feedback_type
    c["timestamp"] = d["mail"]["timestamp"] = when(minutes_ago)
    c["feedbackId"] = uuid.uuid4().hex
    return d


def delivery(emails, minutes_ago):
    d = fix("identity-delivery.json")
    d["delivery"]["recipients"] = emails
    d["delivery"]["timestamp"] = d["mail"]["timestamp"] = when(minutes_ago)
    return d


def unsubscribe(email, minutes_ago):
    d = fix("event-subscription.json")
    d["mail"]["destination"] = [email]
    d["mail"]["commonHeaders"]["to"] = [email]
    d["mail"]["timestamp"] = when(minutes_ago + 0.01)
    s = d["subscription"]
    s["timestamp"] = when(minutes_ago)
    s["newTopicPreferences"] = {"unsubscribeAll": True, "topicSubscriptionStatus": []}
    s["oldTopicPreferences"] = {"unsubscribeAll": False, "topicSubscriptionStatus": []}
    return d


def corpus(seed):
    """[(topic, message)]: every kind of write ingest() makes, with the
    same addresses in many of them."""
    rnd = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    pool = ["p%02d-%s@example.com" % (i, tag) for i in range(25)]
    out = []
    for _ in range(40):
        out.append((TOPIC, bounce(rnd.sample(pool, rnd.choice((1, 2))), rnd.uniform(1, 600))))
    for _ in range(15):
        out.append((TOPIC, complaint(rnd.choice(pool), rnd.uniform(1, 600))))
    out.append((TOPIC, complaint(rnd.choice(pool), 5, feedback_type="not-spam")))
    for i in range(60):
        rcpt = rnd.sample(pool, 1) if i % 2 else ["d%02d-%s@example.com" % (i, tag)]
        out.append((TOPIC, delivery(rcpt, rnd.uniform(1, 600))))
    # soft-bounce runs: three within the window suppress; in three of
    # them a delivery between the bounces (by time) breaks the run
    for i in range(8):
        a = "s%02d-%s@example.com" % (i, tag)
        for m in (300, 200, 100):
            out.append((TOPIC, bounce([a], m, "Transient", "MailboxFull", "4.2.2")))
        if i < 3:
            out.append((TOPIC, delivery([a], 150)))
        if i == 7:
            out.append((TOPIC, delivery([a], 50)))  # after the run: keeps it
    for i in range(3):
        out.append((TOPIC, bounce(["not an address %d" % i, rnd.choice(pool)], 30)))
    for i in range(4):
        out.append((TOPIC2, unsubscribe(rnd.choice(pool), rnd.uniform(1, 600))))
    for name in ("event-open.json", "event-click.json", "event-send.json",
                 "event-delivery-delay.json"):
        out.append((TOPIC2, fix(name)))
    rnd.shuffle(out)
    return out


def envelopes(items):
    """Signed envelopes; some sent twice (SNS retries), and one feedback
    through two topics (two MessageIds, the same feedbackId)."""
    envs = [W.signed(m, t) for t, m in items]
    twice = envs[:10]
    bounces = [m for t, m in items if m.get("notificationType") == "Bounce"][:5]
    other = [W.signed(m, TOPIC2) for m in bounces]
    return envs + twice + other


def post_all(envs, path, threads):
    """POST each envelope to path, threads at a time; [(env, status)]."""
    out = [None] * len(envs)
    nxt = iter(range(len(envs)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                return
            st, _, body = W.post(envs[i], path=path)
            out[i] = (envs[i], st, body)

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def metric(name):
    st, _, body = H.request(W.port, "GET", "/metrics")
    assert st == 200, body
    m = re.search(r"^%s (\d+)" % re.escape(name), body, re.M)
    return int(m.group(1)) if m else 0


STATE = [
    ("notifications",
     "SELECT sns_message_id, topic_arn, sns_type, event_type, ses_message_id, source, "
     "occurred_at, message::text, message_text, configuration_set, tags::text "
     "FROM ses_feedback.notifications ORDER BY 1"),
    ("recipient_events",
     "SELECT email, email_original, event_type, bounce_type, bounce_subtype, recipient_status, "
     "action, diagnostic_code, complaint_feedback_type, complaint_subtype, feedback_id, "
     "occurred_at, outcome, reporting_mta, remote_mta_ip, delay_type "
     "FROM ses_feedback.recipient_events ORDER BY 1, 2, 3, 11, 12, 13"),
    # the suppressions in force; not first_at (the first event applied, an
    # arrival order), nor rows no longer in force: a soft-bounce run that a
    # delivery breaks leaves an expired row only when the delivery came
    # after the run's last bounce (and the log says so), by arrival too
    ("suppressions",
     "SELECT email, scope, reason, count, last_at, expires_at "
     "FROM ses_feedback.suppressions WHERE lifted_at IS NULL AND expired_at IS NULL "
     "AND (expires_at IS NULL OR expires_at > now()) ORDER BY 1, 2"),
]


def state(db):
    return {name: W.pg.query(q, db) for name, q in STATE}


# ---- the tests -------------------------------------------------------------

def test_posted_at_once_equals_posted_one_by_one():
    items = corpus(11)
    envs = envelopes(items)
    # the signing certificate fetched once, not by 8 workers at once
    warm = W.signed(delivery(["warm@example.com"], 1), TOPIC)
    for path in ("/sns", "/seq"):
        st, _, body = W.post(warm, path=path)
        assert st == 200, body
    g0 = (metric("ses_feedback_group_commits_total"),
          metric("ses_feedback_group_commit_notifications_total"))
    together = post_all(envs, "/sns", 16)
    g1 = (metric("ses_feedback_group_commits_total"),
          metric("ses_feedback_group_commit_notifications_total"))
    alone = post_all(envs, "/seq", 1)
    bad = [(e["MessageId"], st, body) for e, st, body in together + alone if st != 200]
    assert not bad, bad[:5]
    a, b = state("sesfb"), state("seq")
    for name, _ in STATE:
        assert len(a[name]) > 0, name
        assert a[name] == b[name], "%s differs: %d rows at once, %d one by one; first " \
            "difference %.600r" % (name, len(a[name]), len(b[name]), next(
                ((x, y) for x, y in zip(a[name], b[name]) if x != y), None))
    stored = int(W.pg.scalar("SELECT count(*) FROM ses_feedback.notifications"))
    assert stored == len(envs) - 10 + 1, (stored, len(envs))
    # each answer is its own notification's: stored once in each database,
    # and the copies sent again answered duplicate
    outcomes = {}
    for m in re.finditer(r"msg_id=(\S+) .*outcome=(stored|duplicate) ", W.serve.text()):
        outcomes.setdefault(m.group(1), []).append(m.group(2))
    twice = {e["MessageId"] for e in envs[len(envs) - 15:len(envs) - 5]}
    for e in envs:
        got = sorted(outcomes.get(e["MessageId"], []))
        want = ["duplicate", "duplicate", "stored", "stored"] if e["MessageId"] in twice \
            else ["stored", "stored"]
        assert got == want, (e["MessageId"], got)
    # the writes were shared: several notifications per transaction
    txs, grouped = g1[0] - g0[0], g1[1] - g0[1]
    assert txs > 0 and grouped >= 2 * txs, (txs, grouped)
    # and the suppressions the corpus must make were made
    assert int(W.pg.scalar("SELECT count(*) FROM ses_feedback.suppressions "
                           "WHERE reason = 'soft_bounce' AND expires_at > now()")) == 5


def fails_alone(raise_sql, status, said):
    """A trigger fails one notification (its Subject) with raise_sql; each
    INSERT also takes 20 ms, so that the others queue and share its
    transaction. That one gets status; the others get 200 and their rows,
    and the log says the batch was stored again one by one (said)."""
    W.pg.psql_admin(
        "CREATE FUNCTION public.poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.subject = 'poison' THEN %s; END IF; "
        "RETURN NEW; END $$; "
        "CREATE TRIGGER poison BEFORE INSERT ON ses_feedback.notifications "
        "FOR EACH ROW EXECUTE FUNCTION public.poison(); "
        "CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_sleep(0.02); RETURN NULL; END $$; "
        "CREATE TRIGGER slow BEFORE INSERT ON ses_feedback.notifications "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.slow()" % raise_sql, db="sesfb")
    rnd = random.Random(5)
    mark = len(W.serve.text())
    try:
        seen = False
        for _ in range(12):
            tag = uuid.uuid4().hex[:8]
            envs = [W.signed(delivery(["g%d-%s@example.com" % (i, tag)], 1), TOPIC)
                    for i in range(11)]
            poison = W.signed(delivery(["x-%s@example.com" % tag], 1), TOPIC, subject="poison")
            at = rnd.randrange(1, len(envs))
            got = post_all(envs[:at] + [poison] + envs[at:], "/sns", 12)
            assert got[at][1] == status, got[at][1:]
            assert W.stored(poison) == 0
            for e, st, body in got[:at] + got[at + 1:]:
                assert st == 200, (st, body)
                assert W.stored(e) == 1, e["MessageId"]
            log = W.serve.text()[mark:]
            if said in log and re.search(r"storing \d+ notifications together failed", log):
                seen = True
                break
        assert seen, "the failing notification was never stored together with others"
    finally:
        W.pg.psql_admin("DROP TRIGGER poison ON ses_feedback.notifications; "
                        "DROP FUNCTION public.poison(); "
                        "DROP TRIGGER slow ON ses_feedback.notifications; "
                        "DROP FUNCTION public.slow()", db="sesfb")


def test_a_refused_notification_fails_alone():
    """Refused (an error of its own): 500, and SNS's retries are its own."""
    fails_alone("RAISE EXCEPTION 'poisoned on purpose'", 500, "poisoned on purpose")


def test_a_deadlocked_batch_is_stored_one_by_one():
    """A batch that loses a deadlock to another lane's (SQLSTATE 40P01) is
    not 503 for all: stored again one by one, only the notification that
    deadlocks again gets 503."""
    fails_alone("RAISE EXCEPTION 'deadlocked on purpose' USING ERRCODE = '40P01'", 503,
                "deadlocked on purpose")


def test_a_batch_cut_by_the_statement_timeout_is_stored_one_by_one():
    """One notification whose work outlasts the statement timeout (SQLSTATE
    57014) does not take the others of its transaction with it: they are
    stored alone, and only the slow one gets 503, every time SNS sends it."""
    fails_alone("PERFORM pg_sleep(1.6)", 503, "statement timeout")


def worker_pids():
    out = H.run(["pgrep", "-P", str(W.serve.p.pid)]).stdout.split()
    return [int(x) for x in out]


def wchan(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read()
    except OSError:
        return ""


def test_a_leader_killed_while_committing():
    """Each notification's INSERT sleeps 0.1 s, so that a leader is seen
    waiting for PostgreSQL (in poll) while others wait for its lock (in
    futex); every worker in poll then is killed, the leader among them."""
    W.pg.psql_admin(
        "CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "PERFORM pg_sleep(0.1); RETURN NULL; END $$; "
        "CREATE TRIGGER slow BEFORE INSERT ON ses_feedback.notifications "
        "FOR EACH STATEMENT EXECUTE FUNCTION public.slow()", db="sesfb")
    tag = uuid.uuid4().hex[:8]
    envs = [W.signed(bounce(["k%d-%s@example.com" % (i, tag)], 1), TOPIC) for i in range(14)]
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("got", post_all(envs, "/sns", 14)))
    try:
        t.start()
        victims = None
        end = time.time() + 10
        while victims is None and time.time() < end:
            pids = worker_pids()
            chans = {p: wchan(p) for p in pids}
            polling = [p for p, c in chans.items() if "poll" in c]
            waiting = [p for p, c in chans.items() if "futex" in c]
            if polling and waiting:
                victims = polling
                for v in victims:
                    os.kill(v, signal.SIGKILL)
            time.sleep(0.01)
        t.join(60)
        assert victims is not None, "never saw a leader with followers"
    finally:
        W.pg.psql_admin("DROP TRIGGER slow ON ses_feedback.notifications; "
                        "DROP FUNCTION public.slow()", db="sesfb")
    got = result["got"]
    statuses = sorted(st for _, st, _ in got)
    assert set(statuses) <= {200, 502, 503}, statuses
    assert 502 in statuses, statuses  # the leader's own request
    for e, st, _ in got:
        # an answer of 200 is stored; the others at most once
        n = W.stored(e)
        assert n == 1 if st == 200 else n <= 1, (st, n, e["MessageId"])
    H.wait_for(lambda: len(worker_pids()) == 8, 10, "the killed worker replaced")
    # SNS retries what did not get 200: everything stored exactly once
    again = post_all([e for e, st, _ in got if st != 200], "/sns", 8)
    assert all(st == 200 for _, st, _ in again), [st for _, st, _ in again]
    for e, _, _ in got:
        assert W.stored(e) == 1, e["MessageId"]
    more = [W.signed(delivery(["after-%d-%s@example.com" % (i, tag)], 1), TOPIC)
            for i in range(32)]
    assert all(st == 200 for _, st, _ in post_all(more, "/sns", 16))
    # the lock's next holder found its holder dead and went on
    H.wait_for(lambda: "died holding it" in W.serve.text(), 5, "the dead leader's clean-up")


def test_workers_auto_is_the_default():
    """--workers auto (what the systemd unit passes unless told otherwise)
    starts the default: 8 per online CPU, at least 8, at most 32; a number
    out of range is refused with what to give instead."""
    want = min(max(8 * os.sysconf("SC_NPROCESSORS_ONLN"), 8), 32)
    for workers in ("auto", None):
        p, _ = H.start_serve(W.tmp, "auto%s" % workers, W.serve_env, workers=workers)
        try:
            H.wait_for(lambda: len(H.run(["pgrep", "-P", str(p.p.pid)]).stdout.split()) == want,
                       10, "%d workers" % want)
        finally:
            p.stop()
        assert "with %d workers" % want in p.text(), p.text()[-500:]
    r = H.run(H.serve_cmd(W.tmp.path("never.sock"), 0), env=H.service_env(W.serve_env))
    assert r.returncode != 0 and "--workers wants a number from 1 to 256, or auto" in \
        r.stdout + r.stderr, r.stdout + r.stderr
