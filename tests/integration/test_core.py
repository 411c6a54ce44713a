# SPDX-License-Identifier: ISC
"""The core service end to end: SNS-format POSTs through nginx (with the
shipped snippet) into ses-feedback (serve and spawn-fcgi) into a real
PostgreSQL, certificates and confirmations from a local HTTPS stand-in."""
import copy
import glob
import json
import os
import re
import signal
import subprocess
import time
import uuid

import harness as H
import sns_signer as S

FIX = os.path.join(H.TOP, "tests", "fixtures", "ses")
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
TOPIC_EVENTS = "arn:aws:sns:us-east-1:123456789012:ses-events"
TOPIC_EU = "arn:aws:sns:eu-west-1:123456789012:ses-eu"
OTHER_ACCOUNT_TOPIC = "arn:aws:sns:us-east-1:210987654321:ses-bounces"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-*, " + TOPIC_EU
CERT_ID = "0123456789abcdef0123456789abcdef"
EVIL_ID = "badbadbadbadbadbadbadbadbadbadba"
OTHER_ID = "0000000000000000aaaaaaaaaaaaaaaa"


fixture = H.fixture


class CoreWorld(H.World):
    """The shared world with one nginx location per configuration the tests
    try. The program's own environment names a wrong topic and no CA: the
    nginx fastcgi_param lines must win for the requests to pass."""

    def __init__(self):
        super().__init__(ALLOWED, pems={CERT_ID: "sign_cert", EVIL_ID: "evil_cert",
                                        OTHER_ID: "other_cert"},
                         serve_env={"SES_FEEDBACK_TOPICS":
                                    "arn:aws:sns:us-east-1:999999999999:wrong"})

    def locations(self):
        dead = " ".join("%s:443:127.0.0.1:1" % h for h in H.Certs.HOSTS)
        return [("/sns", {}),
                ("/sns-manual", {"SES_FEEDBACK_AUTO_CONFIRM": "off"}),
                ("/sns-v2only", {"SES_FEEDBACK_MIN_SIGNATURE_VERSION": "2"}),
                ("/sns-small", {"SES_FEEDBACK_MAX_BODY": "4096"}),
                ("/sns-deadcert", {"SES_FEEDBACK_CONNECT_TO": dead,
                                   "SES_FEEDBACK_CERT_CACHE": ""}),
                ("/sns-badconfig", {"SES_FEEDBACK_AUTO_CONFIRM": "maybe"}),
                ("/sns-readonly", {"SES_FEEDBACK_DSN": self.pg.dsn
                                   + " options='-c default_transaction_read_only=on'"}),
                ("/sns/metrics", {"SES_FEEDBACK_ENDPOINT": "metrics"})]


W = CoreWorld()


def setup():
    W.start()


def teardown():
    W.stop()


# ---- helpers ---------------------------------------------------------------

def signed(message, topic=TOPIC, key=None, cert_id=CERT_ID, **kw):
    return W.signed(message, topic, key=key, cert_id=cert_id, **kw)


def post(env, path="/sns", headers=None, body=None, port=None):
    return W.post(env, path, headers=headers, body=body, port=port)


def count(table, where="true"):
    return W.count(table, where)


def is_suppressed(email):
    return W.is_suppressed(email)


def stored(env):
    return W.stored(env)


def expect(status, env, path="/sns", rows=None, **kw):
    before = count("notifications")
    st, hdr, body = post(env, path, **kw)
    assert st == status, "want %d, got %d (%s)" % (status, st, body.strip())
    after = count("notifications")
    if rows is not None:
        assert after - before == rows, "want %d new rows, got %d" % (rows, after - before)
    return hdr, body


def log_has(*words, timeout=3.0):
    def ok():
        for line in W.serve.text().splitlines():
            if all(w in line for w in words):
                return True
        return False
    H.wait_for(ok, timeout, "log line with " + repr(words))


# ---- the tests -----------------------------------------------------------

def test_health_get_answers_200_when_database_up():
    st, _, body = H.request(W.port, "GET", "/sns")
    assert st == 200 and body.strip() == "ok", (st, body)


def test_notification_v1_permanent_bounce_suppresses():
    env = signed(fixture("identity-bounce-permanent.json"), version=1)
    expect(200, env, rows=1)
    row = W.pg.query("SELECT sns_type, event_type, topic_arn, ses_message_id, "
                     "message->'bounce'->>'bounceType' FROM ses_feedback.notifications "
                     "WHERE sns_message_id = '%s'" % env["MessageId"])
    mid = json.loads(env["Message"])["mail"]["messageId"]
    assert row == [["Notification", "Bounce", TOPIC, mid, "Permanent"]], row
    ev = W.pg.query("SELECT e.email, e.event_type, e.bounce_type, e.bounce_subtype, e.recipient_status, "
                    "outcome FROM ses_feedback.recipient_events e JOIN ses_feedback.notifications n "
                    "ON n.id = e.notification_id WHERE n.sns_message_id = '%s'" % env["MessageId"])
    assert ev == [["jane@example.com", "Bounce", "Permanent", "General", "5.1.1",
                   "hard_bounce"]], ev
    assert W.pg.scalar("SELECT reason FROM ses_feedback.suppressions "
                       "WHERE email = 'jane@example.com'") == "hard_bounce"
    assert is_suppressed("Jane@Example.com")
    assert is_suppressed('"Jane" <jane@example.com>')


def test_notification_v2_complaint_suppresses():
    env = signed(fixture("identity-complaint.json"), version=2)
    expect(200, env, rows=1)
    assert W.pg.scalar("SELECT reason FROM ses_feedback.suppressions "
                       "WHERE email = 'richard@example.com'") == "complaint"
    assert is_suppressed("richard@example.com")


def test_duplicate_message_id_answers_200_and_changes_nothing():
    env = signed(fixture("sim-bounce.json"))
    expect(200, env, rows=1)
    snap = W.pg.query("SELECT email, count, last_at FROM ses_feedback.suppressions ORDER BY 1")
    n_events = count("recipient_events")
    for _ in range(3):
        expect(200, env, rows=0)
    assert count("recipient_events") == n_events
    assert W.pg.query("SELECT email, count, last_at FROM ses_feedback.suppressions "
                      "ORDER BY 1") == snap
    log_has("msg_id=" + env["MessageId"], "outcome=duplicate", "status=200")


def test_delivery_both_forms_stored_not_suppressed():
    ids = []
    for name in ("identity-delivery.json", "event-delivery.json"):
        env = signed(fixture(name), topic=TOPIC_EVENTS)
        expect(200, env, rows=1)
        ids.append(env["MessageId"])
    # this test's two notifications, one delivery event each
    assert count("recipient_events e JOIN ses_feedback.notifications n ON n.id = "
                 "e.notification_id", "n.sns_message_id IN ('%s') AND e.event_type = "
                 "'Delivery' AND e.outcome = 'delivery'" % "','".join(ids)) == 2
    assert not is_suppressed("recipient@example.com")


def test_every_ses_fixture_lands_with_its_event_type():
    expected = {}
    with open(os.path.join(FIX, "EXPECTED.tsv")) as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            expected[cols[0]] = cols
    for name, cols in sorted(expected.items()):
        env = signed(fixture(name), topic=TOPIC_EVENTS)
        expect(200, env, rows=1)
        got = W.pg.query("SELECT n.event_type, coalesce(string_agg(e.email, ',' ORDER BY e.id), '') "
                         "FROM ses_feedback.notifications n LEFT JOIN "
                         "ses_feedback.recipient_events e ON e.notification_id = n.id "
                         "WHERE n.sns_message_id = '%s' GROUP BY n.event_type"
                         % env["MessageId"])
        assert got == [[cols[1], cols[2]]], (name, got, cols)


def test_typed_columns_from_aws_examples_in_both_forms():
    cases = {
        "event-bounce.json": ("Bounce", "ConfigSet", "123456789012", "recipient@example.com",
                              "dsn; mta.example.com", None, None, "5.1.1"),
        "event-delivery-delay.json": ("DeliveryDelay", "ConfigSet", "123456789012",
                                      "recipient@example.com", None, None,
                                      "TransientCommunicationFailure", "4.4.1"),
        "identity-bounce-permanent.json": ("Bounce", None, "123456789012", "jane@example.com",
                                           "dns; email.example.com", "127.0.2.0", None,
                                           "5.1.1"),
        "identity-delivery.json": ("Delivery", None, "123456789012", "jane@example.com",
                                   "a8-70.smtp-out.amazonses.com", "127.0.2.0", None, None),
    }
    for name, want in cases.items():
        env = signed(fixture(name), topic=TOPIC_EVENTS)
        expect(200, env, rows=1)
        got = W.pg.query("SELECT n.event_type, n.configuration_set, n.sending_account, e.email, "
                         "e.reporting_mta, e.remote_mta_ip, e.delay_type, e.recipient_status "
                         "FROM ses_feedback.notifications n JOIN ses_feedback.recipient_events e "
                         "ON e.notification_id = n.id WHERE n.sns_message_id = '%s'"
                         % env["MessageId"])
        assert got == [list(want)], (name, got)
    env = signed(fixture("event-complaint.json"), topic=TOPIC_EVENTS)
    expect(200, env, rows=1)
    got = W.pg.query("SELECT e.complaint_feedback_type, e.feedback_id IS NOT NULL, "
                     "n.tags->'ses:from-domain'->>0 FROM ses_feedback.notifications n JOIN "
                     "ses_feedback.recipient_events e ON e.notification_id = n.id "
                     "WHERE n.sns_message_id = '%s'" % env["MessageId"])
    assert got == [["abuse", "t", "example.com"]], got
    env = signed(fixture("event-subscription.json"), topic=TOPIC_EVENTS)
    expect(200, env, rows=1)
    # the event's own outcome: the address's suppression reason may be an
    # earlier, stronger one (it bounced and complained above)
    got = W.pg.query("SELECT e.email, e.event_type, e.outcome FROM ses_feedback.recipient_events "
                     "e JOIN ses_feedback.notifications n ON n.id = e.notification_id "
                     "WHERE n.sns_message_id = '%s'" % env["MessageId"])
    assert got == [["recipient@example.com", "Subscription", "unsubscribe"]], got
    assert is_suppressed("recipient@example.com")


def test_non_json_message_stored_verbatim():
    text = "Successfully validated SNS topic for Amazon SES event publishing."
    env = signed(text, topic=TOPIC_EVENTS)
    expect(200, env, rows=1)
    assert W.pg.query("SELECT event_type, message_text, message FROM ses_feedback.notifications "
                      "WHERE sns_message_id = '%s'" % env["MessageId"]) == [[None, text, None]]


def test_subscription_confirmation_is_confirmed_and_recorded():
    topic = "arn:aws:sns:us-east-1:123456789012:ses-confirm"
    env = signed("You have chosen to subscribe to the topic " + topic, topic=topic,
                 kind="SubscriptionConfirmation")
    before = W.sns.count(lambda h, p: "ConfirmSubscription" in p)
    expect(200, env, rows=1)
    assert W.sns.count(lambda h, p: "ConfirmSubscription" in p) == before + 1
    row = W.pg.query("SELECT status, subscription_arn, subscribe_url FROM "
                     "ses_feedback.subscriptions WHERE topic_arn = '%s'" % topic)
    assert row == [["confirmed", topic + ":5a0ed9e0-7d51-4a8b-9d2f-4f9c1b7e6a01", None]], row
    # SNS redelivers: no second visit, no second row.
    expect(200, env, rows=0)
    assert W.sns.count(lambda h, p: "ConfirmSubscription" in p) == before + 1


def test_subscription_confirmation_retried_when_sns_fails():
    topic = "arn:aws:sns:us-east-1:123456789012:ses-flaky"
    env = signed("subscribe", topic=topic, kind="SubscriptionConfirmation")
    W.sns.confirm_status = 500
    try:
        hdr, _ = expect(503, env, rows=0)
        assert hdr.get("retry-after") == "30", hdr
        assert count("subscriptions", "topic_arn = '%s'" % topic) == 0
    finally:
        W.sns.confirm_status = 200
    expect(200, env, rows=1)
    assert W.pg.scalar("SELECT status FROM ses_feedback.subscriptions WHERE topic_arn = '%s'"
                       % topic) == "confirmed"


def test_statement_error_answers_503_and_worker_survives():
    """A read-only server (as after a failover) fails the INSERT with
    SQLSTATE 25006. The answer is 503 with Retry-After; the worker that
    read the SQLSTATE stays alive (under ASan a read of the freed result
    kills it, nginx answers 502 and the sanitizer report is in the log)."""
    start = len(W.serve.text())
    for _ in range(3):
        env = signed(fixture("sim-bounce.json"))
        hdr, _ = expect(503, env, path="/sns-readonly", rows=0)
        assert hdr.get("retry-after") == "30", hdr
    log_has("msg_id=" + env["MessageId"], "outcome=db_unavailable", "status=503",
            "read-only transaction")
    text = W.serve.text()[start:]
    for mark in SANITIZER_MARKS:
        assert mark not in text, mark
    assert "killed by signal" not in text and "exited with status" not in text, text[-2000:]
    expect(200, env, rows=1)


def test_subscription_confirmation_answered_in_time_when_all_is_slow():
    """The slowest path: a certificate not yet cached, a confirmation, and
    a database that cannot write (the subscriptions table is locked). With
    SNS's hosts slow (4.5 s for the certificate, then for the confirmation)
    or just under ses-feedback's own limits (1.5 s each), the answer is a
    5xx, which SNS retries, within the program's 10 s budget: well inside
    SNS's 15 s."""
    lock = subprocess.Popen(["psql", "-X", "-q", "-At", "-h", W.pg.sock, "-U", "postgres", "-d",
                             "sesfb", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = {}
    try:
        lock.stdin.write("BEGIN;\nLOCK TABLE ses_feedback.subscriptions IN ACCESS EXCLUSIVE "
                         "MODE;\nSELECT 'locked';\n")
        lock.stdin.flush()
        assert lock.stdout.readline().strip() == "locked"
        for delay, cert_id in ((4.5, "feedfacefeedfacefeedfacefeedfac1"),
                               (1.5, "feedfacefeedfacefeedfacefeedfac2")):
            W.sns.serve_pem(cert_id, W.certs.sign_cert)
            topic = "arn:aws:sns:us-east-1:123456789012:ses-budget-%d" % (delay * 10)
            env = signed("subscribe", topic=topic, kind="SubscriptionConfirmation",
                         cert_id=cert_id)
            W.sns.cert_delay = W.sns.confirm_delay = delay
            t0 = time.time()
            try:
                st, hdr, body = post(env)
            finally:
                W.sns.cert_delay = W.sns.confirm_delay = 0.0
            took[delay] = (st, round(time.time() - t0, 2), body.strip())
    finally:
        lock.stdin.close()   # the session ends, the lock goes
        lock.wait(10)
    print("# slow SubscriptionConfirmation: %s" % took)
    for delay, (st, t, body) in took.items():
        assert st in (500, 502, 503), (delay, took)
        assert t < 10.0, (delay, took)


def test_auto_confirm_off_records_pending_with_url():
    topic = "arn:aws:sns:us-east-1:123456789012:ses-manual"
    env = signed("subscribe", topic=topic, kind="SubscriptionConfirmation")
    before = W.sns.count(lambda h, p: "ConfirmSubscription" in p)
    expect(200, env, path="/sns-manual", rows=1)
    assert W.sns.count(lambda h, p: "ConfirmSubscription" in p) == before
    row = W.pg.query("SELECT status, subscribe_url FROM ses_feedback.subscriptions "
                     "WHERE topic_arn = '%s'" % topic)
    assert row == [["pending", env["SubscribeURL"]]], row


def test_unsubscribe_confirmation_recorded_never_visited():
    topic = "arn:aws:sns:us-east-1:123456789012:ses-leaving"
    before = W.sns.count(lambda h, p: "ConfirmSubscription" in p)
    env = signed("You have chosen to deactivate subscription", topic=topic,
                 kind="UnsubscribeConfirmation")
    expect(200, env, rows=1)
    assert W.sns.count(lambda h, p: "ConfirmSubscription" in p) == before
    assert W.pg.scalar("SELECT status FROM ses_feedback.subscriptions WHERE topic_arn = '%s'"
                       % topic) == "unsubscribed"


def test_subscribe_url_elsewhere_refused_without_visit():
    topic = "arn:aws:sns:us-east-1:123456789012:ses-ssrf"
    before = len(W.sns.requests)
    for url in ("https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription",
                "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
                + TOPIC + "&Token=abc",
                "https://169.254.169.254/latest/meta-data/"):
        env = signed("subscribe", topic=topic, kind="SubscriptionConfirmation",
                     subscribe_url=url)
        expect(403, env, rows=0)
    # only the (cached) certificate may have been fetched, never a SubscribeURL
    assert W.sns.count(lambda h, p: "Action" in p) == \
        sum(1 for h, p in W.sns.requests[:before] if "Action" in p)


def test_signature_v1_and_v2_tampering_refused():
    for version in (1, 2):
        env = signed(fixture("sim-complaint.json"), version=version)
        bad = copy.deepcopy(env)
        bad["Message"] = bad["Message"].replace("complaint@simulator", "someone.else@example")
        expect(403, bad, rows=0)
        bad = copy.deepcopy(env)
        bad["Timestamp"] = "2026-11-28T12:00:01.000Z"
        expect(403, bad, rows=0)
        bad = copy.deepcopy(env)
        bad["Subject"] = "added"
        expect(403, bad, rows=0)
    log_has("outcome=refused", "status=403", "signature does not verify")


def test_signature_from_other_key_refused():
    env = signed(fixture("sim-bounce.json"), key=W.certs.other_key)  # cert is the real one
    expect(403, env, rows=0)


def test_certificate_with_wrong_name_refused():
    env = signed(fixture("sim-bounce.json"), key=W.certs.evil_key, cert_id=EVIL_ID)
    expect(403, env, rows=0)
    log_has("not issued to the SNS service")
    # failures are never cached: no file under the evil URL's cache name...
    evil = W.cache_file(S.cert_url(TOPIC, EVIL_ID))
    assert not os.path.exists(evil), evil
    # ...which is the name the program gives a certificate it does keep
    expect(200, signed(fixture("sim-success.json")), rows=1)
    good = W.cache_file(S.cert_url(TOPIC, CERT_ID))
    assert os.path.exists(good), (good, os.listdir(W.cache))
    assert not os.path.exists(evil), evil


def test_certificate_url_outside_policy_refused_without_fetch():
    before = len(W.sns.requests)
    for url in ("https://s3.amazonaws.com/SimpleNotificationService-%s.pem" % CERT_ID,
                "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-%s.pem" % CERT_ID,
                "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-%s.pem" % CERT_ID,
                "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-%s.pem"
                % CERT_ID,
                "https://sns.us-east-1.amazonaws.com/x?SimpleNotificationService-a.pem"):
        env = S.envelope(TOPIC, fixture("sim-bounce.json"), cert=url)
        S.sign(env, W.certs.sign_key)
        expect(403, env, rows=0)
    assert len(W.sns.requests) == before
    log_has("SigningCertURL refused")


def test_topic_not_allowed_refused_before_any_fetch_or_row():
    before = len(W.sns.requests)
    env = signed(fixture("sim-bounce.json"), topic=OTHER_ACCOUNT_TOPIC)
    expect(403, env, rows=0)
    env = signed("subscribe", topic=OTHER_ACCOUNT_TOPIC, kind="SubscriptionConfirmation")
    expect(403, env, rows=0)
    assert len(W.sns.requests) == before, "fetched for a topic that is not allowed"
    assert count("subscriptions", "topic_arn = '%s'" % OTHER_ACCOUNT_TOPIC) == 0
    log_has("topic not allowed", "status=403")


def test_other_region_topic_uses_its_own_host():
    env = signed(fixture("sim-success.json"), topic=TOPIC_EU)
    before = W.sns.count(lambda h, p: h.startswith("sns.eu-west-1.amazonaws.com"))
    expect(200, env, rows=1)
    assert W.sns.count(lambda h, p: h.startswith("sns.eu-west-1.amazonaws.com")) == before + 1


def test_min_signature_version_2_refuses_v1():
    env = signed(fixture("sim-bounce.json"), version=1)
    expect(403, env, path="/sns-v2only", rows=0)
    log_has("below SES_FEEDBACK_MIN_SIGNATURE_VERSION=2")
    env = signed(fixture("sim-bounce.json"), version=2)
    expect(200, env, path="/sns-v2only", rows=1)


def test_malformed_bodies_get_400():
    good = signed(fixture("sim-bounce.json"))
    cases = [b"", b"not json", b"[1,2,3]", b'{"Type": "Notification"', b"{}",
             json.dumps(good).encode() + b" trailing"]
    for body in cases:
        st, _, _ = post(good, body=body)
        assert st == 400, (body[:40], st)
    for field in ("MessageId", "TopicArn", "Message", "Signature", "SigningCertURL",
                  "Timestamp", "SignatureVersion", "Type"):
        bad = copy.deepcopy(good)
        del bad[field]
        expect(400, bad, rows=0, headers={"x-amz-sns-message-type": None})
    bad = copy.deepcopy(good)
    bad["Type"] = "Surprise"
    expect(400, bad, rows=0, headers={"x-amz-sns-message-type": None})
    bad = copy.deepcopy(good)
    bad["SignatureVersion"] = "3"
    expect(400, bad, rows=0)
    deep = b'{"a":' * 40 + b"1" + b"}" * 40
    st, _, _ = post(good, body=deep)
    assert st == 400


def test_header_body_mismatch_400():
    env = signed(fixture("sim-bounce.json"))
    expect(400, env, rows=0, headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})
    expect(400, env, rows=0, headers={"x-amz-sns-message-id": str(uuid.uuid4())})
    expect(400, env, rows=0, headers={"x-amz-sns-topic-arn": OTHER_ACCOUNT_TOPIC})
    log_has("header HTTP_X_AMZ_SNS_TOPIC_ARN differs from the body")


def test_raw_message_delivery_400_with_advice():
    env = signed(fixture("sim-bounce.json"))
    st, _, body = H.request(W.port, "POST", "/sns", body=env["Message"].encode(),
                            headers={"x-amz-sns-rawdelivery": "true",
                                     "x-amz-sns-message-type": "Notification"})
    assert st == 400, st
    log_has("outcome=raw_delivery", "disable raw message delivery on the subscription")


def test_verified_odd_content_is_stored_never_refused():
    """Once verified, only 200 or 5xx: an odd recipient is recorded as
    not_an_address and the others are acted on; a complaint without its
    list and an unknown event type are stored."""
    msg = json.dumps({"notificationType": "Bounce",
                      "mail": {"messageId": "odd-1", "timestamp": "2026-12-01T10:00:00.000Z",
                               "source": "s@example.com", "destination": []},
                      "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                                 "feedbackId": "odd-fb-" + str(uuid.uuid4()),
                                 "timestamp": "2026-12-01T10:00:01.000Z",
                                 "bouncedRecipients": [
                                     {"emailAddress": "plain.odd@example.com"},
                                     {"emailAddress": "\"test.\"@example.com"},
                                     {"emailAddress": "J@[192.0.2.7]"},
                                     {"emailAddress": "not an address"},
                                     {"status": "5.1.1"},
                                     {"emailAddress": "\u00c9LODIE@Exemple.FR"}]}})
    env = signed(msg)
    expect(200, env, rows=1)
    mid = env["MessageId"]
    got = W.pg.query("SELECT e.email, e.email_original, e.outcome FROM "
                     "ses_feedback.recipient_events e JOIN ses_feedback.notifications n "
                     "ON n.id = e.notification_id WHERE n.sns_message_id = '%s' "
                     "ORDER BY e.id" % mid)
    assert got == [["plain.odd@example.com", "plain.odd@example.com", "hard_bounce"],
                   ['"test."@example.com', '"test."@example.com', "hard_bounce"],
                   ["j@[192.0.2.7]", "J@[192.0.2.7]", "hard_bounce"],
                   [None, "not an address", "not_an_address"],
                   [None, '{"status":"5.1.1"}', "not_an_address"],
                   ["\u00c9lodie@exemple.fr", "\u00c9LODIE@Exemple.FR", "hard_bounce"]], got
    for a in ("Plain.Odd@example.com", '"Test."@Example.com', "j@[192.0.2.7]",
              "\u00c9LODIE@exemple.fr"):
        assert W.pg.scalar("SELECT ses_feedback.is_suppressed('%s')"
                           % a.replace("'", "''")) == "t", a
    assert W.pg.scalar("SELECT count(*) FROM ses_feedback.recipients_not_understood "
                       "WHERE sns_message_id = '%s'" % mid) == "2"
    log_has(mid, "status=200", "not_addresses=2", "recipient 3 is not an email address")
    st, _, body = H.request(W.port, "GET", "/sns/metrics")
    assert st == 200 and "ses_feedback_recipients_not_address_total 2" in body, body[-400:]
    # the same message again changes nothing
    expect(200, env, rows=0)
    # an OnAccountSuppressionList complaint comes without complainedRecipients
    env = signed(json.dumps({"notificationType": "Complaint",
                             "mail": {"messageId": "odd-2"},
                             "complaint": {"complaintSubType": "OnAccountSuppressionList"}}))
    expect(200, env, rows=1)
    log_has(env["MessageId"], "status=200", "no complainedRecipients list")
    # an event type SES adds later, and a type that is no string
    for m in ({"eventType": "SomethingNew", "mail": {"messageId": "odd-3"}},
              {"notificationType": 7, "mail": {"messageId": "odd-4"}},
              {"notificationType": "Bounce", "bounce": "not an object"}):
        env = signed(json.dumps(m))
        expect(200, env, rows=1)
        assert W.pg.scalar("SELECT count(*) FROM ses_feedback.recipient_events e JOIN "
                           "ses_feedback.notifications n ON n.id = e.notification_id WHERE "
                           "n.sns_message_id = '%s'" % env["MessageId"]) == "0"


def test_body_over_limit_413():
    env = signed("x" * 5000)
    expect(413, env, path="/sns-small", rows=0)
    big = b" " * (3 * 1024 * 1024)
    st, _, _ = post(env, body=big)
    assert st == 413, st


def test_other_methods_405():
    for m in ("PUT", "DELETE", "PATCH"):
        st, hdr, _ = H.request(W.port, m, "/sns", body=b"{}")
        assert st == 405, (m, st)
        assert "POST" in hdr.get("allow", ""), hdr


def test_bad_configuration_500_and_logged():
    env = signed(fixture("sim-bounce.json"))
    expect(500, env, path="/sns-badconfig", rows=0)
    log_has("outcome=bad_config", "SES_FEEDBACK_AUTO_CONFIRM")


def test_certificate_host_unreachable_503():
    env = signed(fixture("sim-success.json"), cert_id="feedfacefeedfacefeedfacefeedface")
    hdr, _ = expect(503, env, path="/sns-deadcert", rows=0)
    assert hdr.get("retry-after") == "30", hdr
    log_has("outcome=cert_unavailable")


def test_certificate_cache_keyed_by_trust_context():
    """A certificate /sns fetched (and keeps in memory and on disk) is not
    trusted by a location with another CONNECT_TO or CA file: each location
    proves its own."""
    env = signed(fixture("sim-success.json"))
    expect(200, env, rows=1)
    env = signed(fixture("sim-success.json"))
    hdr, _ = expect(503, env, path="/sns-deadcert", rows=0)
    log_has(env["MessageId"], "outcome=cert_unavailable", "certificate fetch failed")


def test_certificate_cached_on_disk_across_restart():
    # a notification of this test's own puts the certificate on disk
    expect(200, signed(fixture("sim-success.json")), rows=1)
    assert os.path.exists(W.cache_file(S.cert_url(TOPIC, CERT_ID))), "no certificate cached on disk"
    files = glob.glob(os.path.join(W.cache, "*.pem"))
    for f in files:
        assert os.stat(f).st_mode & 0o777 == 0o644
    W.serve.stop()
    W.serve, W.sock = H.start_serve(W.tmp, "serve", W.serve_env)
    before = len(W.sns.requests)
    env = signed(fixture("sim-ooto.json"))
    expect(200, env, rows=1)
    assert len(W.sns.requests) == before, "certificate fetched again after restart"


def test_certificate_cache_is_bounded_on_disk():
    """However many distinct good certificate URLs arrive, the disk cache
    keeps at most 64 files, the oldest going first."""
    ids = ["%032x" % (0xc0ffee000 + i) for i in range(72)]
    for cid in ids:
        W.sns.serve_pem(cid, W.certs.sign_cert)
    for cid in ids:
        env = signed(fixture("sim-success.json"), cert_id=cid)
        st, _, body = post(env)
        assert st == 200, (cid, st, body)
    files = glob.glob(os.path.join(W.cache, "*.pem"))
    assert 0 < len(files) <= 64, len(files)
    log_has("certificate cache", "full (65 files")


def test_database_down_503_then_recovers_without_restart():
    env = signed(fixture("identity-bounce-permanent-no-dsn.json"))
    W.pg.stop()
    try:
        hdr, body = expect_raw(503, env)
        assert hdr.get("retry-after") == "30", hdr
        st, hdr, _ = H.request(W.port, "GET", "/sns")
        assert st == 503 and hdr.get("retry-after") == "30", (st, hdr)
    finally:
        W.pg.start()
    # SNS retries the same message: stored now, nothing restarted.
    expect(200, env, rows=1)
    st, _, _ = H.request(W.port, "GET", "/sns")
    assert st == 200
    log_has("outcome=db_unavailable", "status=503")


def expect_raw(status, env):
    st, hdr, body = post(env)
    assert st == status, (st, body)
    return hdr, body


def test_old_schema_refused_with_advice():
    W.pg.psql_admin("CREATE DATABASE fresh")
    dsn = "host=%s dbname=fresh user=postgres" % W.pg.sock
    # the request's DSN comes from the environment of a one-shot CGI run
    env = signed(fixture("sim-bounce.json"))
    r = cgi_run(env, {"SES_FEEDBACK_DSN": dsn})
    assert r.stdout.startswith("Status: 503"), r.stdout
    assert "run `ses-feedback migrate`" in r.stderr, r.stderr
    m = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": dsn}))
    assert m.returncode == 0 and "applied 001-baseline" in m.stdout, m.stdout + m.stderr
    m = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": dsn}))
    assert m.returncode == 0 and "0 migrations applied" in m.stdout, m.stdout
    r = cgi_run(env, {"SES_FEEDBACK_DSN": dsn})
    assert r.stdout.startswith("Status: 200"), r.stdout + r.stderr


def cgi_run(env, extra, world=None, timeout=60):
    """Run the program as a CGI (as the service user when root) on env,
    configured for world (this module's by default) plus extra."""
    world = world or W
    body = json.dumps(env).encode()
    e = H.service_env({"SES_FEEDBACK_TOPICS": ALLOWED, "SES_FEEDBACK_CA_FILE": world.certs.ca,
                       "SES_FEEDBACK_CONNECT_TO": world.sns.connect_to(),
                       "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
                       "CONTENT_LENGTH": str(len(body)),
                       "HTTP_X_AMZ_SNS_MESSAGE_TYPE": env["Type"]})
    e.update(extra)
    p = subprocess.run(H.WRAPPER + [H.BIN], input=body, capture_output=True, env=e,
                       user=H.SERVICE_USER if os.geteuid() == 0 else None,
                       timeout=timeout * (10 if H.WRAPPER else 1))
    p.stdout = p.stdout.decode()
    p.stderr = p.stderr.decode()
    CGI_REPORTS.extend(m for m in SANITIZER_MARKS if m in p.stderr)
    return p


CGI_REPORTS = []


def test_plain_cgi_mode_stores():
    env = signed(fixture("event-bounce.json"), topic=TOPIC_EVENTS)
    r = cgi_run(env, {"SES_FEEDBACK_DSN": W.pg.dsn})
    assert r.stdout.startswith("Status: 200 OK\r\n"), r.stdout
    assert stored(env) == 1


def test_spawn_fcgi_fd0_mode_with_environment_config():
    env_cfg = {"SES_FEEDBACK_DSN": W.pg.dsn, "SES_FEEDBACK_TOPICS": ALLOWED,
               "SES_FEEDBACK_CA_FILE": W.certs.ca,
               "SES_FEEDBACK_CONNECT_TO": W.sns.connect_to()}
    pids, sock = H.start_spawn_fcgi(W.tmp, "spawn", env_cfg, children=2)
    nx = None
    try:
        assert len(pids) == 2, pids
        nx = H.Nginx(W.tmp, "nx2", "upstream ses_feedback { server unix:%s; }\n"
                     "server {\n listen 127.0.0.1:@PORT@;\n location = /sns {\n"
                     "  include %s;\n }\n}\n" % (sock, H.snippet()))
        for name in ("sim-bounce.json", "sim-complaint.json"):
            env = signed(fixture(name))
            st, _, body = post(env, port=nx.port)
            assert st == 200, (st, body)
            assert stored(env) == 1
        st, _, _ = post(env, port=nx.port)
        assert st == 200
        # the process-environment configuration was used: a wrong topic is refused
        env = signed(fixture(name), topic=OTHER_ACCOUNT_TOPIC)
        st, _, _ = post(env, port=nx.port)
        assert st == 403
    finally:
        if nx:
            nx.stop()
        H.kill_pids(pids)


def test_serve_restarts_a_killed_worker():
    pids = worker_pids()
    assert len(pids) == 2, pids
    os.kill(pids[0], signal.SIGKILL)
    H.wait_for(lambda: len(worker_pids()) == 2 and pids[0] not in worker_pids(), 5,
               "replacement worker")
    env = signed(fixture("sim-success.json"))
    expect(200, env, rows=1)
    log_has("killed by signal 9")


def worker_pids():
    out = H.run(["pgrep", "-P", str(W.serve.p.pid)]).stdout.split()
    return [int(x) for x in out]


def test_serve_graceful_stop_removes_socket():
    assert W.serve.stop(signal.SIGTERM) == 0
    assert not os.path.exists(W.sock)
    assert "stopped" in W.serve.text()
    W.serve, W.sock = H.start_serve(W.tmp, "serve", W.serve_env)
    env = signed(fixture("sim-success.json"))
    expect(200, env, rows=1)


def test_serve_sigterm_lets_inflight_request_finish():
    """A confirmation that takes 1 s at the SNS end (inside the 1.9 s an
    HTTPS fetch may take) is in flight when the supervisor gets SIGTERM:
    it still completes with 200 and its row."""
    import threading
    topic = "arn:aws:sns:us-east-1:123456789012:ses-slow"
    env = signed("subscribe", topic=topic, kind="SubscriptionConfirmation")
    result = {}

    def send():
        result["r"] = post(env)
    # Under valgrind the fetch itself takes most of its 1.9 s: a shorter
    # wait at the SNS end still has the request in flight at the SIGTERM
    # (sent as soon as the stand-in has the request).
    W.sns.confirm_delay = 0.3 if H.WRAPPER else 1.0
    try:
        t = threading.Thread(target=send)
        t.start()
        H.wait_for(lambda: any("ses-slow" in p for h, p in W.sns.requests), 5,
                   "confirmation in flight")
        W.serve.p.send_signal(signal.SIGTERM)
        t.join(20)
        assert result["r"][0] == 200, result
        assert W.serve.p.wait(25) == 0
        assert W.pg.scalar("SELECT status FROM ses_feedback.subscriptions WHERE topic_arn = '%s'"
                           % topic) == "confirmed"
    finally:
        W.sns.confirm_delay = 0.0
        # Serve again whatever happened: the tests after this one need it.
        W.serve.stop()
        W.serve, W.sock = H.start_serve(W.tmp, "serve", W.serve_env)


def test_man_page_documents_every_option_and_mode():
    man = open(os.path.join(H.TOP, "doc", "ses-feedback.8")).read()
    r = H.run([H.BIN, "--help"])
    assert r.returncode == 0
    keys = 0
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("SES_FEEDBACK_"):
            name = line.split()[0]
            default = line[line.rindex("[") + 1:-1]
            i = man.find(".B " + name + "\n", man.index(".SH CONFIGURATION"))
            assert i >= 0, "man page lacks " + name
            entry = man[i:man.find("\n.TP", i + 1)]
            want = "Default: " + (default if default else "empty")
            assert want in entry, (name, want)
            keys += 1
    assert keys == len([ln for ln in open(os.path.join(H.TOP, "src", "cfg.c"))
                        if ln.lstrip().startswith("[CFG_")]), keys
    # every subcommand and option the usage names, taken from the usage
    # itself, so a new one cannot be left out of the man page
    usage = r.stdout.split("\n\n")[0]
    modes = set(re.findall(r"ses-feedback ((?:suppressions )?[a-z][a-z-]+)", usage))
    options = set(re.findall(r"(--[a-z][a-z-]+)", usage))
    assert {"serve", "migrate", "verify", "check-config", "watch", "suppressions export",
            "suppressions import"} <= modes, modes
    assert {"--workers", "--json", "--roles", "--at", "--param"} <= options, options
    for mode in sorted(modes | options):
        assert mode.replace("-", "\\-") in man or mode in man, mode
    for status in ("200", "400", "403", "405", "413", "500", "503"):
        assert ".B " + status + "\n" in man, status


def scrape():
    st, hdr, body = H.request(W.port, "GET", "/sns/metrics")
    assert st == 200 and hdr["content-type"].startswith("text/plain; version=0.0.4"), (st, hdr)
    vals = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            vals[k] = float(v)
    return vals


def settled_scrape(timeout=10.0):
    """A scrape after which nothing but the scrapes themselves changes: a
    request of an earlier test still finishing (a slow confirmation, say)
    would otherwise count toward this test's differences."""
    def own(k):
        return k.startswith("ses_feedback_request_duration_seconds") or 'outcome="metrics"' in k
    end = time.time() + timeout
    prev = scrape()
    while True:
        cur = scrape()
        if {k: v for k, v in cur.items() if not own(k)} == \
                {k: v for k, v in prev.items() if not own(k)}:
            return cur
        if time.time() > end:
            raise AssertionError("metrics still changing after %.0f s" % timeout)
        prev = cur
        time.sleep(0.2)


def test_metrics_are_aggregated_over_all_workers():
    """Two workers; every scrape, whichever worker answers, sees the sum."""
    m0 = settled_scrape()
    envs = []
    for i in range(6):
        m = json.loads(fixture("sim-bounce.json"))
        m["bounce"]["bouncedRecipients"][0]["emailAddress"] = "m%d-%s@example.com" % (
            i, uuid.uuid4().hex[:6])
        envs.append(signed(json.dumps(m)))
    for e in envs:
        expect(200, e, rows=1)
    expect(200, envs[0], rows=0)  # duplicate
    expect(403, signed(fixture("sim-bounce.json"), topic=OTHER_ACCOUNT_TOPIC), rows=0)
    H.request(W.port, "GET", "/sns")
    for _ in range(4):
        m1 = scrape()
    diff = {k: m1.get(k, 0) - m0.get(k, 0) for k in m1 if m1.get(k, 0) != m0.get(k, 0)}
    d = lambda k: m1.get(k, 0) - m0.get(k, 0)
    assert diff, diff
    assert d('ses_feedback_requests_total{outcome="stored",status="200"}') == 6
    assert d('ses_feedback_requests_total{outcome="duplicate",status="200"}') == 1
    assert d('ses_feedback_requests_total{outcome="refused",status="403"}') == 1
    assert d('ses_feedback_requests_total{outcome="healthy",status="200"}') == 1
    assert d('ses_feedback_requests_total{outcome="metrics",status="200"}') == 4
    assert d('ses_feedback_notifications_total{event="Bounce"}') == 6
    assert d("ses_feedback_suppressions_total") == 6, diff
    assert d('ses_feedback_certificates_total{source="memory"}') + \
        d('ses_feedback_certificates_total{source="disk"}') + \
        d('ses_feedback_certificates_total{source="network"}') == 7, diff
    assert d("ses_feedback_request_duration_seconds_count") == 13, diff
    assert m1['ses_feedback_request_duration_seconds_bucket{le="+Inf"}'] == \
        m1["ses_feedback_request_duration_seconds_count"]


def test_one_logfmt_line_per_request():
    env = signed(fixture("sim-bounce.json"))
    expect(200, env, rows=1)
    lines = [l for l in W.serve.text().splitlines() if "msg_id=" + env["MessageId"] in l]
    assert len(lines) == 1, lines
    l = lines[0]
    for k in ("req=", "topic=" + TOPIC, "type=Notification", "event=Bounce",
              "outcome=stored", "status=200", "ms="):
        assert k in l, (k, l)
    assert env["Signature"][:20] not in W.serve.text()


def test_syslog_on_request():
    """SES_FEEDBACK_LOG=syslog: the request line goes to /dev/log (here a
    socket of the test's own, when the machine has no syslog daemon).

    While the test owns /dev/log, a thread reads it all the time: other
    programs (runuser, PAM) log there too, and a full queue would block
    them, and the program under test. Only the socket made here is ever
    removed, and the program runs with a timeout."""
    import socket as so
    import stat
    import threading
    if os.geteuid() != 0:
        raise H.Skip("needs root (binds /dev/log)")
    if os.path.exists("/dev/log"):
        raise H.Skip("/dev/log exists (a syslog daemon owns it); the test binds its own")
    s = so.socket(so.AF_UNIX, so.SOCK_DGRAM)
    try:
        s.bind("/dev/log")
    except OSError as e:
        s.close()
        raise H.Skip("/dev/log appeared meanwhile (%s); the test binds its own" % e)
    ours = os.lstat("/dev/log")
    got = []
    cond = threading.Condition()
    done = threading.Event()

    def drain():
        s.settimeout(0.2)
        while not done.is_set():
            try:
                m = s.recv(65536)
            except so.timeout:
                continue
            except OSError:
                return
            with cond:
                got.append(m.decode("utf-8", "replace"))
                cond.notify_all()
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        os.chmod("/dev/log", 0o666)
        env = signed(fixture("sim-bounce.json"))
        mine = "msg_id=" + env["MessageId"]
        r = cgi_run(env, {"SES_FEEDBACK_DSN": W.pg.dsn, "SES_FEEDBACK_LOG": "syslog"},
                    timeout=30)
        assert r.stdout.startswith("Status: 200"), r.stdout
        assert "outcome=" not in r.stderr, r.stderr
        # Other programs may log to /dev/log meanwhile: take the message
        # about this notification.
        end = time.time() + 5
        with cond:
            while not any(mine in m for m in got):
                left = end - time.time()
                if left <= 0:
                    raise AssertionError("no message with %s on /dev/log in 5 s; others: %r"
                                         % (mine, got[-5:]))
                cond.wait(left)
            msg = [m for m in got if mine in m][0]
        # <30> is daemon.info; syslog gives the time, so the line has no ts=
        assert msg.startswith("<30>") and "ses-feedback[" in msg, msg
        assert "outcome=stored" in msg, msg
        assert " ts=" not in msg, msg
    finally:
        # Remove /dev/log only if it is still the socket bound here, then
        # stop reading: a writer blocked on it meanwhile gets an error.
        try:
            now = os.lstat("/dev/log")
            if stat.S_ISSOCK(now.st_mode) and (now.st_dev, now.st_ino) == (ours.st_dev,
                                                                            ours.st_ino):
                os.unlink("/dev/log")
        except FileNotFoundError:
            pass
        done.set()
        reader.join(5)
        s.close()


def test_verify_command_offline():
    env = signed(fixture("sim-bounce.json"))
    p = os.path.join(W.tmp.dir, "env.json")
    with open(p, "w") as f:
        json.dump(env, f)
    r = H.run([H.BIN, "verify", "--cert", W.certs.sign_cert, p], env=H.service_env({}))
    assert r.returncode == 0 and "OK: signature verified" in r.stdout, r.stdout + r.stderr
    assert "rcpt     bounce@simulator.amazonses.com" in r.stdout
    env["Message"] = env["Message"].replace("bounce@", "b0unce@")
    with open(p, "w") as f:
        json.dump(env, f)
    r = H.run([H.BIN, "verify", "--cert", W.certs.sign_cert, p], env=H.service_env({}))
    assert r.returncode == 1 and "REFUSED (403): signature does not verify" in r.stdout, r.stdout


def test_verify_judges_a_saved_envelope_at_its_own_time():
    # (ahead of now rather than behind: the test certificate is minutes old)
    ts = S.now_timestamp(7200)
    env = signed(fixture("sim-bounce.json"), timestamp=ts)
    p = os.path.join(W.tmp.dir, "old.json")
    with open(p, "w") as f:
        json.dump(env, f)
    r = H.run([H.BIN, "verify", "--cert", W.certs.sign_cert, p], env=H.service_env({}))
    assert r.returncode == 1 and "REFUSED (403): Timestamp is 7" in r.stdout, r.stdout
    assert "in the future (more than 900 s)" in r.stdout, r.stdout
    r = H.run([H.BIN, "verify", "--cert", W.certs.sign_cert, "--at", ts, p],
              env=H.service_env({}))
    assert r.returncode == 0 and "OK: signature verified" in r.stdout, r.stdout + r.stderr
    r = H.run([H.BIN, "verify", "--at", "yesterday", p], env=H.service_env({}))
    assert r.returncode != 0 and "--at yesterday: want an SNS Timestamp" in r.stderr, r.stderr
    # the service refuses the same envelope, before any fetch or row
    expect(403, env, rows=0)
    log_has(env["MessageId"], "status=403", "in the future")


def test_check_config_reports_each_item():
    base = [H.BIN, "check-config", "--param", "SES_FEEDBACK_DSN=" + W.pg.dsn,
            "--param", "SES_FEEDBACK_TOPICS=" + ALLOWED,
            "--param", "SES_FEEDBACK_CA_FILE=" + W.certs.ca]
    r = H.run(base + ["--param", "SES_FEEDBACK_CONNECT_TO=" + W.sns.connect_to()],
              env=H.service_env({}))
    assert r.returncode == 0, r.stdout
    assert "ok   HTTPS to sns.us-east-1.amazonaws.com: TLS verified, HTTP 404" in r.stdout, \
        r.stdout
    dead = " ".join("%s:443:127.0.0.1:1" % h for h in H.Certs.HOSTS)
    r2 = H.run(base + ["--param", "SES_FEEDBACK_CONNECT_TO=" + dead], env=H.service_env({}))
    assert r2.returncode == 1 and "FAIL HTTPS to sns.us-east-1.amazonaws.com" in r2.stdout, \
        r2.stdout
    version = H.run([H.BIN, "--version"]).stdout.split("schema ")[1].rstrip(")\n")
    assert "ok   database reachable, schema version " + version in r.stdout, r.stdout
    assert "SES_FEEDBACK_AUTO_CONFIRM            = on  (default)" in r.stdout, r.stdout
    r = H.run([H.BIN, "check-config"], env=H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn,
                                                          "SES_FEEDBACK_MAX_BODY": "12abc"}))
    assert r.returncode == 1 and "BAD: SES_FEEDBACK_MAX_BODY" in r.stdout, r.stdout


def check_config(*params):
    cmd = [H.BIN, "check-config", "--param", "SES_FEEDBACK_CA_FILE=" + W.certs.ca,
           "--param", "SES_FEEDBACK_CONNECT_TO=" + W.sns.connect_to()]
    for kv in params:
        cmd += ["--param", kv]
    return H.run(cmd, env=H.service_env({}))


def test_check_config_never_prints_the_database_password():
    """Whatever the DSN's form, libpq's own reading of it is shown, with
    the password's value as ***; the database is still reached with it."""
    sock = W.pg.sock
    shown = "user=postgres password=*** dbname=sesfb host=" + sock
    cases = [
        (W.pg.dsn + " password = s3cr3tA1", shown),
        (W.pg.dsn + " password='s3cr3tB1 s3cr3tB2'", shown),
        ("application_name='no password=here' " + W.pg.dsn + " password=s3cr3tC1",
         "user=postgres password=*** dbname=sesfb host=%s application_name='no password=here'"
         % sock),
        ("postgresql://postgres:s3cr3tD1@/sesfb?host=" + sock, shown),
        ("postgres://postgres:s3cr3tE1@/sesfb?host=%s&password=s3cr3tE2" % sock, shown),
    ]
    for dsn, want in cases:
        r = check_config("SES_FEEDBACK_DSN=" + dsn, "SES_FEEDBACK_TOPICS=" + ALLOWED)
        assert "s3cr3t" not in r.stdout + r.stderr, (dsn, r.stdout)
        lines = [l for l in r.stdout.splitlines() if l.startswith("SES_FEEDBACK_DSN ")]
        assert lines == ["SES_FEEDBACK_DSN                     = %s  (param)" % want], \
            (dsn, lines)
        assert r.returncode == 0 and r.stdout.endswith("\nOK\n"), (dsn, r.stdout)
    r = check_config("SES_FEEDBACK_DSN=host=x password=s3cr3tF1 'broken",
                     "SES_FEEDBACK_TOPICS=" + ALLOWED)
    assert "s3cr3t" not in r.stdout + r.stderr, r.stdout
    assert ("SES_FEEDBACK_DSN                     = (not a libpq connection string; "
            "not shown)  (param)") in r.stdout, r.stdout


def test_check_config_warns_of_any_account_topic_patterns():
    r = check_config("SES_FEEDBACK_DSN=" + W.pg.dsn, "SES_FEEDBACK_TOPICS=" + ALLOWED)
    assert "ok   topic allow-list set\n" in r.stdout and "WARNING" not in r.stdout, r.stdout
    for pattern, account in (("arn:aws:sns:us-west-2:*:*", "*"),
                             ("arn:aws:sns:us-east-1:12345678901*:ses-bounces", "12345678901*"),
                             ("arn:aws:sns:us-east-1:1234567890:ses-bounces", "1234567890")):
        r = check_config("SES_FEEDBACK_DSN=" + W.pg.dsn,
                         "SES_FEEDBACK_TOPICS=%s, %s" % (TOPIC, pattern))
        assert r.returncode == 0, r.stdout
        assert "ok   topic allow-list set" not in r.stdout, r.stdout
        want = ("WARNING SES_FEEDBACK_TOPICS entry %s: account field \"%s\" is not one "
                "12-digit account id: ANY AWS ACCOUNT whose topic name matches can deliver "
                "signed messages here\n" % (pattern, account))
        assert want in r.stdout, r.stdout
        assert r.stdout.endswith("\nOK, but 1 WARNING above\n"), r.stdout
    r = check_config("SES_FEEDBACK_DSN=" + W.pg.dsn, "SES_FEEDBACK_TOPICS=ses-bounces")
    assert ("WARNING SES_FEEDBACK_TOPICS entry ses-bounces is not a TopicArn pattern "
            "(arn:aws:sns:REGION:ACCOUNT:NAME) and matches nothing\n") in r.stdout, r.stdout


def test_mailbox_simulator_through_example_site():
    """nginx/example-site.conf as shipped, with only its socket, port and
    snippet paths pointed into the test's temp dir."""
    with open(H.snippet("example-site.conf")) as f:
        site = f.read()
    site = (site.replace("unix:/run/ses-feedback/ses-feedback.sock", "unix:" + W.sock)
            .replace("listen 127.0.0.1:8080;", "listen 127.0.0.1:@PORT@;")
            .replace("/etc/nginx/snippets/ses-feedback.conf",
                     H.snippet())
            .replace('"dbname=ses_feedback"', '"%s"' % W.pg.dsn)
            .replace('"/var/cache/ses-feedback"', '"%s"' % W.cache)
            .replace("fastcgi_param SES_FEEDBACK_TOPICS",
                     'fastcgi_param SES_FEEDBACK_CA_FILE "%s";\n'
                     '        fastcgi_param SES_FEEDBACK_CONNECT_TO "%s";\n'
                     '        fastcgi_param SES_FEEDBACK_TOPICS' % (W.certs.ca,
                                                                  W.sns.connect_to())))
    nx = H.Nginx(W.tmp, "site", site)
    try:
        want = {"success": False, "bounce": True, "ooto": False, "complaint": True,
                "suppressionlist": True}
        for case in want:
            env = signed(fixture("sim-%s.json" % case), topic=TOPIC)
            st, _, body = post(env, path="/sns/ses-feedback", port=nx.port)
            assert st == 200, (case, st, body)
        for case, sup in want.items():
            assert is_suppressed(case + "@simulator.amazonses.com") == sup, case
        assert W.pg.scalar("SELECT reason FROM ses_feedback.suppressions WHERE email = "
                           "'suppressionlist@simulator.amazonses.com'") == "hard_bounce"
        st, _, _ = H.request(nx.port, "GET", "/sns/health")
        assert st == 200
    finally:
        nx.stop()


def test_tls_site_with_basic_auth_as_sns_uses_it():
    """nginx/example-site-tls.conf as shipped (paths, port and DSN pointed
    into the test's temp dir): HTTPS, then SNS's basic-auth dance: 401 with
    WWW-Authenticate first, 200 once the credentials come."""
    import base64
    import http.client
    import ssl
    key, crt = W.certs.issue("site", "feedback.example.com", ["feedback.example.com"])
    htpasswd = W.tmp.path("htpasswd")
    pw = H.run(["openssl", "passwd", "-apr1", "s3cret"]).stdout.strip()
    with open(htpasswd, "w") as f:
        f.write("sns:%s\n" % pw)
    os.chmod(htpasswd, 0o644)
    with open(H.snippet("example-site-tls.conf")) as f:
        site = f.read()
    subs = [("unix:/run/ses-feedback/ses-feedback.sock", "unix:" + W.sock),
            ("listen 443 ssl;", "listen 127.0.0.1:@PORT@ ssl;"),
            ("/etc/ssl/certs/feedback.example.com.pem", crt),
            ("/etc/ssl/private/feedback.example.com.key", key),
            ("/etc/nginx/ses-feedback.htpasswd", htpasswd),
            ("/etc/nginx/snippets/ses-feedback.conf",
             H.snippet()),
            ('"dbname=ses_feedback"', '"%s"' % W.pg.dsn),
            ('"/var/cache/ses-feedback"', '"%s"' % W.cache),
            ("fastcgi_param SES_FEEDBACK_TOPICS",
             'fastcgi_param SES_FEEDBACK_CA_FILE "%s";\n'
             '        fastcgi_param SES_FEEDBACK_CONNECT_TO "%s";\n'
             '        fastcgi_param SES_FEEDBACK_TOPICS' % (W.certs.ca, W.sns.connect_to()))]
    for a, b in subs:
        assert a in site, a
        site = site.replace(a, b)
    nx = H.Nginx(W.tmp, "tls", site)
    try:
        ctx = ssl.create_default_context(cafile=W.certs.ca)
        env = signed(fixture("sim-complaint.json"))
        body = json.dumps(env).encode()

        def send(headers):
            c = http.client.HTTPSConnection("127.0.0.1", nx.port, context=ctx, timeout=20)
            c._context.check_hostname = False  # connect by IP; the chain is still verified
            c.request("POST", "/sns/ses-feedback", body=body,
                      headers=dict(S.headers_for(env), Host="feedback.example.com", **headers))
            r = c.getresponse()
            r.read()
            c.close()
            return r.status, {k.lower(): v for k, v in r.getheaders()}
        st, hdr = send({})
        assert st == 401 and hdr.get("www-authenticate", "").startswith("Basic"), (st, hdr)
        assert stored(env) == 0
        bad = base64.b64encode(b"sns:wrong").decode()
        assert send({"Authorization": "Basic " + bad})[0] == 401
        good = base64.b64encode(b"sns:s3cret").decode()
        st, _ = send({"Authorization": "Basic " + good})
        assert st == 200, st
        assert stored(env) == 1
    finally:
        nx.stop()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def test_no_crash_or_sanitizer_report_in_any_log():
    """Last on purpose: every program log of the run, scanned for
    sanitizer reports (when built with them) and crashes."""
    found = []
    for path in glob.glob(os.path.join(W.tmp.dir, "*.log")):
        with open(path, errors="replace") as f:
            text = f.read()
        for mark in SANITIZER_MARKS + ("Segmentation fault",):
            if mark in text:
                found.append((os.path.basename(path), mark))
        if os.path.basename(path).startswith("serve"):
            for line in text.splitlines():
                if "killed by signal" in line and "signal 9" not in line:
                    found.append((path, line))
    found += [("cgi stderr", m) for m in CGI_REPORTS]
    # under valgrind (SES_FEEDBACK_VALGRIND_DIR holds its logs, one a process)
    vdir = os.environ.get("SES_FEEDBACK_VALGRIND_DIR")
    if vdir:
        import re
        W.nginx.stop()
        W.serve.stop()  # its processes write their summaries as they exit
        logs = glob.glob(os.path.join(vdir, "*.log"))
        assert logs, "no valgrind logs in " + vdir
        for path in logs:
            with open(path, errors="replace") as f:
                text = f.read()
            # a process killed on purpose (SIGKILL) writes no summary, but
            # any error is logged the moment it happens
            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            bad = re.search(r"== (Invalid (read|write|free)|Conditional jump|Use of "
                            r"uninitialised|Syscall param|Mismatched free)|"
                            r"definitely lost: [1-9]|are definitely lost", text)
            if (m is not None and m.group(1) != "0") or bad:
                found.append((path, bad.group(0) if bad else m.group(0)))
    assert not found, found


def test_bad_startup_setting_is_refused_at_start():
    """A key read at start (LOG_LEVEL, LOG) is checked like a request key:
    a bad value stops the program at once with what to set, instead of
    being ignored; --help and --version still answer."""
    sock = W.tmp.path("bad-level.sock")
    for key, val, want in (("SES_FEEDBACK_LOG_LEVEL", "loud",
                            'SES_FEEDBACK_LOG_LEVEL="loud": want error, warn, info or debug'),
                           ("SES_FEEDBACK_LOG", "journal", "SES_FEEDBACK_LOG=")):
        env = H.service_env({"SES_FEEDBACK_DSN": W.pg.dsn, key: val})
        r = H.run(H.serve_cmd(sock, 1), env=env, timeout=20)
        assert r.returncode == 1, (key, r.returncode, r.stderr)
        assert want in r.stderr, r.stderr
        assert not os.path.exists(sock)
        r = H.run([H.BIN, "--version"], env=env, timeout=20)
        assert r.returncode == 0 and r.stdout.startswith("ses-feedback "), r.stderr
