# SPDX-License-Identifier: ISC
"""Failover and scale-out, as an operator runs them: a primary with a
synchronous streaming standby crashed and the standby promoted under a
stream of SNS-style deliveries (retrying 5xx); a primary turned read-only
under a live connection; is_suppressed() on a hot standby; two handler hosts
with their own certificate caches behind one nginx upstream and PgBouncer.
Every test builds its own clusters, so each runs alone."""
import datetime
import json
import os
import threading
import time
import uuid

import harness as H
import sns_signer as S

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
CERT_ID = "0123456789abcdef0123456789abcdef"
FIX = os.path.join(H.TOP, "tests", "fixtures", "ses")


class World:
    pass


W = World()


def setup():
    W.tmp = H.Tmp()
    W.certs = H.Certs(W.tmp)
    W.sns = H.FakeSNS(W.certs)
    W.sns.serve_pem(CERT_ID, W.certs.sign_cert)
    W.stop = []   # what each test started, stopped by teardown and at its end


def teardown():
    stop_all()
    W.sns.close()
    if H.KEEP_TMP:
        print("# kept", W.tmp.dir)
    else:
        W.tmp.cleanup()


def stop_all():
    while W.stop:
        f = W.stop.pop()
        try:
            f()
        except Exception:
            pass


class Cluster(H.Postgres):
    """A cluster of this module (see H.Postgres), stopped by teardown, with
    sql() answering one text."""

    def __init__(self, name, primary=None):
        super().__init__(W.tmp, name + "-" + uuid.uuid4().hex[:6], primary=primary,
                         app_name=name)
        self.name, self.dir = name, self.sock
        W.stop.append(self.stop)

    def sql(self, q, db="sesfb"):
        r = H.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                   "-U", "postgres", "-d", db, "-c", q])
        if r.returncode != 0:
            raise RuntimeError("psql on %s: %s" % (self.name, r.stderr))
        return r.stdout.strip()


def migrated_primary(name, sync_standby=None):
    """A primary with the schema migrated; with sync_standby, commits wait
    until that standby has applied them (set after the migration, which
    would otherwise wait for a standby that does not exist yet)."""
    c = Cluster(name)
    r = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": c.dsn}))
    assert r.returncode == 0, r.stderr
    if sync_standby:
        c.sql("ALTER SYSTEM SET synchronous_standby_names = '%s'" % sync_standby, db="postgres")
        c.sql("ALTER SYSTEM SET synchronous_commit = remote_apply", db="postgres")
        c.sql("SELECT pg_reload_conf()", db="postgres")
    return c


def wait_sync(primary, name):
    H.wait_for(lambda: primary.sql("SELECT sync_state FROM pg_stat_replication "
                                   "WHERE application_name = '%s'" % name,
                                   db="postgres") == "sync",
               20, "standby %s streaming synchronously" % name)


def service(name, dsn, hosts=1, extra_env=None, workers=2):
    """hosts serve instances (each with its own certificate cache) behind
    one nginx upstream. Returns (nginx, [serve Proc])."""
    procs, socks = [], []
    for i in range(hosts):
        env = {"SES_FEEDBACK_DSN": dsn, "SES_FEEDBACK_TOPICS": TOPIC,
               "SES_FEEDBACK_CA_FILE": W.certs.ca,
               "SES_FEEDBACK_CONNECT_TO": W.sns.connect_to(),
               "SES_FEEDBACK_CERT_CACHE": H.service_owned_dir(
                   W.tmp.path("%s-cache%d" % (name, i)))}
        env.update(extra_env or {})
        p, sock = H.start_serve(W.tmp, "%s%d" % (name, i), env, workers=workers)
        W.stop.append(p.stop)
        procs.append(p)
        socks.append(sock)
    upstream = "".join(" server unix:%s;" % s for s in socks)
    nginx = H.Nginx(W.tmp, name + "-nx",
                    "upstream ses_feedback {%s }\n"
                    "server {\n listen 127.0.0.1:@PORT@;\n location = /sns {\n"
                    "  include %s;\n }\n}\n" % (upstream, H.snippet()))
    W.stop.append(nginx.stop)
    return nginx, procs


def now_iso(offset=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def message(fixture, email, offset=0):
    """A fixture's event for one recipient, happening now (plus offset s),
    with its own feedback id."""
    with open(os.path.join(FIX, fixture)) as f:
        d = json.load(f)
    d["mail"]["timestamp"] = now_iso(offset - 1)
    d["mail"]["destination"] = [email]
    d["mail"]["messageId"] = "0000-" + uuid.uuid4().hex
    kind = d["notificationType"].lower()
    part = d[kind]
    part["timestamp"] = now_iso(offset)
    if "feedbackId" in part:
        part["feedbackId"] = uuid.uuid4().hex
    key = {"bounce": "bouncedRecipients", "complaint": "complainedRecipients"}.get(kind)
    if key:
        part[key] = [dict(part[key][0], emailAddress=email)]
    else:
        part["recipients"] = [email]
    return json.dumps(d)


def signed(text):
    env = S.envelope(TOPIC, text, cert=S.cert_url(TOPIC, CERT_ID))
    return S.sign(env, W.certs.sign_key)


def post(port, env):
    h = S.headers_for(env)
    try:
        return H.request(port, "POST", "/sns", body=json.dumps(env).encode(), headers=h,
                         timeout=20)[0]
    except OSError:
        return 599  # refused or reset: SNS retries it like a 5xx


class Sender:
    """Delivers envelopes the way SNS does: each until it gets a 2xx or 4xx,
    retrying 5xx and connection failures. Records every 5xx with its time."""

    def __init__(self, port, envs, threads=8, give_up=120.0):
        self.port, self.envs = port, envs
        self.status = {}
        self.errors = []          # (time, status)
        self.acked = 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._go, args=(envs[i::threads], give_up),
                                         daemon=True)
                        for i in range(threads)]

    def _go(self, envs, give_up):
        for e in envs:
            end = time.time() + give_up
            while True:
                st = post(self.port, e)
                if st < 500 or time.time() > end:
                    break
                with self.lock:
                    self.errors.append((time.time(), st))
                time.sleep(0.05)
            with self.lock:
                self.status[e["MessageId"]] = st
                self.acked += 1

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self):
        for t in self.threads:
            t.join(300)

    def outage(self):
        if not self.errors:
            return 0.0
        return self.errors[-1][0] - self.errors[0][0]


def counts(cluster, envs):
    ids = "','".join(e["MessageId"] for e in envs)
    n = cluster.sql("SELECT count(*) FROM ses_feedback.notifications "
                    "WHERE sns_message_id IN ('%s')" % ids)
    r = cluster.sql("SELECT count(*) FROM ses_feedback.recipient_events e "
                    "JOIN ses_feedback.notifications n ON n.id = e.notification_id "
                    "WHERE n.sns_message_id IN ('%s')" % ids)
    return int(n), int(r)


# ---- the tests -------------------------------------------------------------

def test_primary_crash_with_synchronous_standby_loses_nothing():
    try:
        p = migrated_primary("primary", sync_standby="s1")
        s = Cluster("s1", primary=p)
        wait_sync(p, "s1")
        dsn = ("host=%s,%s dbname=sesfb user=postgres target_session_attrs=read-write "
               "connect_timeout=2" % (p.dir, s.dir))
        nginx, _ = service("fo", dsn, hosts=1)
        n = int(os.environ.get("FAILOVER_N", "2000"))
        envs = [signed(message("identity-delivery.json",
                               "user%d@example.com" % i)) for i in range(n)]
        snd = Sender(nginx.port, envs).start()
        H.wait_for(lambda: snd.acked >= n // 3, 120, "a third acknowledged")
        p.stop("immediate")
        time.sleep(0.3)
        s.promote()
        snd.join()
        print("# failover: %d deliveries, %d answers of 5xx over %.2f s while the standby "
              "was promoted" % (n, len(snd.errors), snd.outage()))
        assert set(snd.status.values()) == {200}, {v for v in snd.status.values()}
        assert len(snd.status) == n
        # every one acknowledged is on the new primary, exactly once
        assert counts(s, envs) == (n, n), counts(s, envs)
        assert s.sql("SELECT pg_is_in_recovery()") == "f"
        assert snd.errors, "the crash was not seen: the test did not test a failover"
    finally:
        stop_all()


def test_demoted_primary_is_noticed_at_the_first_failing_write():
    try:
        a = migrated_primary("a")
        b = migrated_primary("b")
        dsn = ("host=%s,%s dbname=sesfb user=postgres target_session_attrs=read-write"
               % (a.dir, b.dir))
        # one worker: the one that holds the connection to a is the one
        # that must notice (with two, nginx may hand every later request
        # to a worker that connects afresh and never sees a read-only a)
        nginx, (serve,) = service("demote", dsn, hosts=1, workers=1)
        first = [signed(message("identity-delivery.json", "d%d@example.com" % i))
                 for i in range(6)]
        for e in first:  # the worker holds a connection to a
            assert post(nginx.port, e) == 200
        assert counts(a, first) == (6, 6)
        # a turns read-only under the live connections, as a demoted
        # primary does; b is the writable one now
        a.sql("ALTER SYSTEM SET default_transaction_read_only = on", db="postgres")
        a.sql("SELECT pg_reload_conf()", db="postgres")
        H.wait_for(lambda: a.sql("SHOW default_transaction_read_only") == "on", 5,
                   "a read-only")
        after = [signed(message("identity-delivery.json", "e%d@example.com" % i))
                 for i in range(10)]
        got = [post(nginx.port, e) for e in after]
        # each worker's first write on a fails, drops the connection and
        # runs again on b within the same request
        assert got == [200] * 10, got
        assert counts(b, after) == (10, 10)
        assert counts(a, after) == (0, 0)
        assert "the database is read-only (SQLSTATE 25006)" in serve.text(), serve.text()[-2000:]
    finally:
        stop_all()


def test_is_suppressed_answers_on_a_hot_standby():
    try:
        p = migrated_primary("hp", sync_standby="hs")
        s = Cluster("hs", primary=p)
        wait_sync(p, "hs")
        nginx, _ = service("hot", p.dsn)
        env = signed(message("identity-bounce-permanent.json", "gone@example.com"))
        assert post(nginx.port, env) == 200
        # synchronous_commit = remote_apply: visible on the standby at the 200
        assert s.sql("SELECT pg_is_in_recovery()") == "t"
        assert s.sql("SELECT ses_feedback.is_suppressed('Gone@Example.com')") == "t"
        assert s.sql("SELECT ses_feedback.is_suppressed('kept@example.com')") == "f"
        rows = s.sql("SELECT email, suppressed, reason FROM ses_feedback.is_suppressed("
                     "ARRAY['kept@example.com', 'gone@example.com'])")
        assert rows.split("\n") == ["kept@example.com|f|", "gone@example.com|t|hard_bounce"], rows
    finally:
        stop_all()


def check_config(dsn):
    r = H.run([H.BIN, "check-config"], env=H.service_env({
        "SES_FEEDBACK_DSN": dsn, "SES_FEEDBACK_TOPICS": TOPIC,
        "SES_FEEDBACK_CA_FILE": W.certs.ca, "SES_FEEDBACK_CONNECT_TO": W.sns.connect_to()}),
        timeout=60)
    return r.returncode, r.stdout


def test_check_config_names_the_host_the_primary_and_the_replication():
    try:
        p = migrated_primary("cp", sync_standby="cs")
        s = Cluster("cs", primary=p)
        wait_sync(p, "cs")
        rc, out = check_config("host=%s,%s dbname=sesfb user=postgres "
                               "target_session_attrs=read-write" % (s.dir, p.dir))
        assert rc == 0, out
        assert "ok   database host 2 of 2 (%s, port 5432) is the primary (read-write)" \
            % p.dir in out, out
        assert "ok   replication is synchronous (synchronous_standby_names = 'cs', " \
            "synchronous_commit = remote_apply)" in out, out
        assert "note standbys streaming from it: cs sync" in out, out
        # a DSN that lands on the standby: every notification would get 503
        rc, out = check_config("host=%s,%s dbname=sesfb user=postgres" % (s.dir, p.dir))
        assert rc == 1, out
        assert "FAIL database host 1 of 2 (%s) is a standby (read-only)" % s.dir in out, out
        # one server, no standby: said, not failed
        p.sql("ALTER SYSTEM RESET synchronous_standby_names", db="postgres")
        p.sql("SELECT pg_reload_conf()", db="postgres")
        H.wait_for(lambda: p.sql("SHOW synchronous_standby_names") == "", 5, "reload")
        rc, out = check_config(p.dsn)
        assert rc == 0, out
        assert "ok   database host 1 of 1 (%s, port 5432) is the primary" % p.dir in out, out
        assert "note replication is not synchronous (synchronous_standby_names = ''" in out, out
    finally:
        stop_all()


def pgbouncer(cluster):
    b = H.PgBouncer(W.tmp, cluster.dir, pool=4, name="pgb-" + uuid.uuid4().hex[:6])
    W.stop.append(b.stop)
    return b.dsn


def test_two_handler_hosts_behind_one_upstream_through_pgbouncer():
    try:
        db = migrated_primary("many")
        dsn = pgbouncer(db)
        nginx, procs = service("many", dsn, hosts=2, extra_env={"SES_FEEDBACK_PREPARE": "off"})
        # 20 addresses with exactly three soft bounces each, sent at once
        # from both hosts: each address must end suppressed (the decision
        # is serialised per address), plus deliveries to other addresses
        envs = []
        for i in range(20):
            for k in range(3):
                envs.append(signed(message("identity-bounce-transient-constructed.json",
                                           "soft%d@example.com" % i, offset=k)))
        envs += [signed(message("identity-delivery.json", "ok%d@example.com" % i))
                 for i in range(200)]
        envs += envs[:30]  # SNS redelivers some
        snd = Sender(nginx.port, envs, threads=12).start()
        snd.join()
        assert set(snd.status.values()) == {200}, {v for v in snd.status.values()}
        unique = envs[:-30]
        assert counts(db, unique) == (260, 260), counts(db, unique)
        assert db.sql("SELECT count(*) FROM ses_feedback.suppressions WHERE email LIKE "
                      "'soft%@example.com' AND reason = 'soft_bounce' AND lifted_at IS NULL") \
            == "20"
        assert db.sql("SELECT count(*) FROM ses_feedback.suppressions WHERE email LIKE "
                      "'ok%@example.com'") == "0"
        for p in procs:  # both hosts served, each fetched its own certificate
            assert "status=200" in p.text(), p.text()[-1000:]
        assert W.sns.count(lambda h, path: CERT_ID in path) >= 2
    finally:
        stop_all()
