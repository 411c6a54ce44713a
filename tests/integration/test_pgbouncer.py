# SPDX-License-Identifier: ISC
"""Through PgBouncer in transaction pooling mode (Debian's pgbouncer):
with SES_FEEDBACK_PREPARE=off every notification lands exactly once, the
database restarting behind the pooler included."""
import threading
import time

import harness as H
import test_core as C


class PgbWorld(H.World):
    """The shared world with PgBouncer between the program and PostgreSQL:
    three workers with SES_FEEDBACK_PREPARE=off, whose DSN (in nginx's
    parameters and in the program's environment) names the pooler."""

    def __init__(self):
        super().__init__(C.ALLOWED, workers=3, name="pgbserve")
        self.pgb = None

    def start_service(self):
        self.pgb = H.PgBouncer(self.tmp, self.pg.sock)
        self.dsn = self.pgb.dsn
        self.serve_env = {"SES_FEEDBACK_DSN": self.dsn, "SES_FEEDBACK_TOPICS": C.ALLOWED,
                          "SES_FEEDBACK_CA_FILE": self.certs.ca, "SES_FEEDBACK_PREPARE": "off",
                          "SES_FEEDBACK_CONNECT_TO": self.sns.connect_to()}
        super().start_service()

    def params(self, **over):
        over = dict({"SES_FEEDBACK_DSN": self.dsn, "SES_FEEDBACK_PREPARE": "off"}, **over)
        return super().params(**over)

    def stop_processes(self):
        # the program first, then the pooler (the world stops PostgreSQL)
        for f in (lambda: self.nginx and self.nginx.stop(),
                  lambda: self.serve and self.serve.stop(),
                  lambda: self.pgb and self.pgb.stop()):
            try:
                f()
            except Exception:
                pass


W = PgbWorld()


def setup():
    W.start()


def teardown():
    W.stop()


def signed(message):
    return W.signed(message, C.TOPIC)


def send_all(envs, threads=6):
    out = {}

    def go(chunk):
        for e in chunk:
            for _ in range(50):  # like SNS: retry 5xx
                st = W.post(e)[0]
                if st < 500:
                    break
                time.sleep(0.1)
            out[e["MessageId"]] = st
    chunks = [envs[i::threads] for i in range(threads)]
    ts = [threading.Thread(target=go, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    return out


def test_notifications_through_transaction_pooling():
    names = ["sim-bounce.json", "sim-complaint.json", "sim-success.json",
             "identity-delivery.json", "event-bounce.json"]
    envs = [signed(H.fixture(names[i % len(names)])) for i in range(120)]
    envs += envs[:20]  # SNS redelivers some
    out = send_all(envs)
    assert set(out.values()) == {200}, out
    ids = "','".join(e["MessageId"] for e in envs)
    assert W.pg.scalar("SELECT count(*) FROM ses_feedback.notifications WHERE "
                         "sns_message_id IN ('%s')" % ids) == "120"
    st, _, body = H.request(W.port, "GET", "/sns")
    assert st == 200, (st, body)


def test_database_restart_behind_pgbouncer():
    envs = [signed(H.fixture("sim-bounce.json")) for _ in range(40)]
    W.pg.stop()
    try:
        st = W.post(envs[0])[0]
        assert st == 503, st
    finally:
        W.pg.start()
    out = send_all(envs)
    assert set(out.values()) == {200}, out
    ids = "','".join(e["MessageId"] for e in envs)
    assert W.pg.scalar("SELECT count(*) FROM ses_feedback.notifications WHERE "
                         "sns_message_id IN ('%s')" % ids) == "40"
