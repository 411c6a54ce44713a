# SPDX-License-Identifier: ISC
"""Through PgBouncer in transaction pooling mode (Debian's pgbouncer):
with SES_FEEDBACK_PREPARE=off every notification lands exactly once, the
database restarting behind the pooler included."""
import json
import os
import pwd
import subprocess
import threading
import time

import harness as H
import test_core as C


class World:
    pass


W = World()

PGB_INI = """[databases]
sesfb = host={pgsock} dbname=sesfb user=postgres

[pgbouncer]
listen_addr =
listen_port = {port}
unix_socket_dir = {dir}
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
server_reset_query =
server_login_retry = 1
query_wait_timeout = 5
"""


def setup():
    C.W.start()
    W.dir = os.path.join(C.W.tmp.dir, "pgb")
    os.makedirs(W.dir)
    W.port = H.free_port()
    with open(os.path.join(W.dir, "pgbouncer.ini"), "w") as f:
        f.write(PGB_INI.format(pgsock=C.W.pg.sock, port=W.port, dir=W.dir))
    with open(os.path.join(W.dir, "users.txt"), "w") as f:
        f.write('"postgres" ""\n')
    as_user = []
    if os.geteuid() == 0:  # pgbouncer refuses root
        pw = pwd.getpwnam("postgres")
        for p in [W.dir] + [os.path.join(W.dir, x) for x in os.listdir(W.dir)]:
            os.chown(p, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    W.pgb = H.Proc(as_user + ["pgbouncer", os.path.join(W.dir, "pgbouncer.ini")],
                   os.path.join(C.W.tmp.dir, "pgbouncer.out"))
    H.wait_for(lambda: os.path.exists(os.path.join(W.dir, ".s.PGSQL.%d" % W.port)), 10,
               "pgbouncer socket")
    W.dsn = "host=%s port=%d dbname=sesfb user=postgres" % (W.dir, W.port)
    W.env = {"SES_FEEDBACK_DSN": W.dsn, "SES_FEEDBACK_TOPICS": C.ALLOWED,
             "SES_FEEDBACK_CA_FILE": C.W.certs.ca, "SES_FEEDBACK_PREPARE": "off",
             "SES_FEEDBACK_CONNECT_TO": C.W.sns.connect_to()}
    W.serve, W.sock = H.start_serve(C.W.tmp, "pgbserve", W.env, workers=3)
    W.nginx = H.Nginx(C.W.tmp, "nxpgb",
                      "upstream ses_feedback { server unix:%s; }\n"
                      "server {\n listen 127.0.0.1:@PORT@;\n location = /sns {\n"
                      "  include %s;\n }\n}\n" % (W.sock, H.snippet()))


def teardown():
    for f in (lambda: W.nginx.stop(), lambda: W.serve.stop(), lambda: W.pgb.stop()):
        try:
            f()
        except Exception:
            pass
    C.W.stop()


def send_all(envs, threads=6):
    out = {}

    def go(chunk):
        for e in chunk:
            for _ in range(50):  # like SNS: retry 5xx
                st = C.post(e, port=W.nginx.port)[0]
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
    envs = [C.signed(C.fixture(names[i % len(names)])) for i in range(120)]
    envs += envs[:20]  # SNS redelivers some
    out = send_all(envs)
    assert set(out.values()) == {200}, out
    ids = "','".join(e["MessageId"] for e in envs)
    assert C.W.pg.scalar("SELECT count(*) FROM ses_feedback.notifications WHERE "
                         "sns_message_id IN ('%s')" % ids) == "120"
    st, _, body = H.request(W.nginx.port, "GET", "/sns")
    assert st == 200, (st, body)


def test_database_restart_behind_pgbouncer():
    envs = [C.signed(C.fixture("sim-bounce.json")) for _ in range(40)]
    C.W.pg.stop()
    try:
        st = C.post(envs[0], port=W.nginx.port)[0]
        assert st == 503, st
    finally:
        C.W.pg.start()
    out = send_all(envs)
    assert set(out.values()) == {200}, out
    ids = "','".join(e["MessageId"] for e in envs)
    assert C.W.pg.scalar("SELECT count(*) FROM ses_feedback.notifications WHERE "
                         "sns_message_id IN ('%s')" % ids) == "40"
