#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""Fault-injection replay: deliver N signed SNS notifications carrying SES
feedback through nginx into `ses-feedback serve`, the way SNS does (several
concurrent senders, retries on 5xx / 429 / timeout / connection error for up
to one hour per message), while PostgreSQL restarts, a worker is killed, the
supervisor is killed and restarted, nginx reloads, the database turns
read-only for a while and the primary crashes while its synchronous standby
is promoted (the service's DSN names both, target_session_attrs=read-write). At the end PostgreSQL must hold every message exactly
once, one recipient event per sent recipient, and exactly the suppressions
the default suppression rules (README, "Default suppression rules") give.

The backoff between retries is counted, not slept: every message keeps a
virtual clock that advances by each backoff delay (and by the real time its
attempts took) toward the one-hour budget, while the real pause between
attempts is short. A message whose budget runs out is "given up".

Environment:
  REPLAY_N            notifications to send (default 20000)
  REPLAY_SENDERS      concurrent senders (default 8)
  REPLAY_WORKERS      `serve --workers` (default 3)
  REPLAY_SEED         seed of the message mix (default 1)
  REPLAY_FAULTS       comma-separated faults in order (default all:
                      worker_kill,pg_restart,nginx_reload,read_only,supervisor_kill,
                      failover)
  REPLAY_POLICY       JSON overriding the SNS delivery policy below
  REPLAY_RESTART_WAIT seconds to keep retrying `serve` after the supervisor
                      was killed (default 10)
  REPLAY_DEADLINE     seconds of real time after which delivery is stopped
                      and the run fails (default 900; a healthy run of 20000
                      takes about a minute)
  REPLAY_SOFT_ORDER   how the soft-bounce sequences (several events for one
                      address, whose outcome the rules derive from the
                      events' own timestamps) are sent: `ordered` (default:
                      one sender, oldest first, each after the previous was
                      accepted), `reversed` (newest first), or `any` (as
                      independent messages, in whatever order concurrency
                      and retries give, as SNS may)
  REPLAY_HOSTS        handler hosts: `serve` instances, each with its own
                      certificate cache, behind one nginx upstream
                      (default 1); faults that kill a worker or the
                      supervisor hit the first one
  REPLAY_PGBOUNCER    1: the hosts reach PostgreSQL through PgBouncer in
                      transaction mode (SES_FEEDBACK_PREPARE off); not with
                      the failover fault (the pooler names one server)
  REPLAY_NGINX_SNIPPET the location snippet to include (default: the shipped
                      nginx/ses-feedback.conf), to try a change to it
  SES_FEEDBACK_KEEP_TMP=1 keep the temp dir (logs) afterwards

The run fails when a notification is lost (answered 2xx, not stored) or
stored twice, a message is given up or refused with a 4xx, the stored
recipient events or suppressions differ from the expected ones, a fault was
not injected or the service did not recover from it (killed worker not
replaced, `serve` not startable again on its socket within
REPLAY_RESTART_WAIT), an attempt got no answer within 15 s (nginx 504 or
client timeout), an attempt failed outside every fault's window, the service
answered 500 or 4xx, or its log shows a crash or sanitizer report.

Prints the figures and ends with `replay: 1 passed, 0 failed` (exit 0) or
`replay: 0 passed, 1 failed` (exit 1). The world is always torn down, also
on failure, Ctrl-C or SIGTERM.
"""
import collections
import datetime
import http.client
import json
import os
import random
import re
import signal
import sys
import threading
import time
import traceback
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness as H      # noqa: E402
import sns_signer as S   # noqa: E402

N = int(os.environ.get("REPLAY_N", "20000"))
SENDERS = int(os.environ.get("REPLAY_SENDERS", "8"))
WORKERS = int(os.environ.get("REPLAY_WORKERS", "3"))
SEED = int(os.environ.get("REPLAY_SEED", "1"))
ALL_FAULTS = ["worker_kill", "pg_restart", "nginx_reload", "read_only", "supervisor_kill",
              "failover"]
FAULTS = [f for f in os.environ.get("REPLAY_FAULTS", ",".join(ALL_FAULTS)).split(",") if f]
RESTART_WAIT = float(os.environ.get("REPLAY_RESTART_WAIT", "10"))
HOSTS = int(os.environ.get("REPLAY_HOSTS", "1"))
PGBOUNCER = os.environ.get("REPLAY_PGBOUNCER", "") == "1"
DEADLINE = float(os.environ.get("REPLAY_DEADLINE", "900"))
SOFT_ORDER = os.environ.get("REPLAY_SOFT_ORDER", "ordered")
# The shipped snippet's installed copy (H.snippet()) unless one is named.
SNIPPET = os.path.abspath(os.environ["REPLAY_NGINX_SNIPPET"]) \
    if os.environ.get("REPLAY_NGINX_SNIPPET") else None

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-replay"
ALLOWED = "arn:aws:sns:us-east-1:123456789012:ses-*"
CERT_ID = "0123456789abcdef0123456789abcdef"
PATH = "/sns"

BUDGET = 3600.0          # SNS retries an HTTP/S endpoint for up to one hour
REAL_PAUSE_MAX = 0.2     # real sleep between attempts: min(delay, this)
HTTP_TIMEOUT = 15.0      # SNS waits 15 s for an answer

# SNS delivery policy for HTTP/S endpoints. SNS's default is 20 s between
# attempts (minDelayTarget = maxDelayTarget = 20, linear); here the number
# of retries is bounded by the one-hour budget instead of numRetries (the
# phases follow SNS: immediate retries, retries at the minimum delay, the
# backoff phase over numRetries, then the maximum delay until the budget is
# used up).
POLICY = {"numNoDelayRetries": 0, "numMinDelayRetries": 0, "minDelayTarget": 20,
          "maxDelayTarget": 20, "numMaxDelayRetries": 0, "numRetries": 100,
          "backoffFunction": "linear"}
POLICY.update(json.loads(os.environ.get("REPLAY_POLICY", "{}")))


def backoff_delay(retry):
    """Seconds before retry number `retry` (1-based) under POLICY."""
    p = POLICY
    lo, hi = float(p["minDelayTarget"]), float(p["maxDelayTarget"])
    if retry <= p["numNoDelayRetries"]:
        return 0.0
    retry -= p["numNoDelayRetries"]
    if retry <= p["numMinDelayRetries"]:
        return lo
    retry -= p["numMinDelayRetries"]
    k = max(1, p["numRetries"] - p["numNoDelayRetries"] - p["numMinDelayRetries"]
            - p["numMaxDelayRetries"])
    if retry > k:
        return hi
    f = retry / k
    fn = p["backoffFunction"]
    if fn == "linear" or lo <= 0 or hi <= lo:
        return lo + (hi - lo) * f
    if fn == "arithmetic":
        return lo + (hi - lo) * f * f
    if fn == "geometric":
        return lo * (hi / lo) ** f
    if fn == "exponential":
        return min(hi, lo * 2 ** (retry - 1))
    raise ValueError("backoffFunction " + fn)


# ---- the message plan -------------------------------------------------------

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


class Msg:
    """One notification: what to send and what it must leave behind."""
    __slots__ = ("mid", "kind", "ses", "rcpts", "event", "body", "headers", "tries",
                 "vclock", "result")

    def __init__(self, kind, event, ses, rcpts):
        self.mid = str(uuid.uuid4())
        self.kind = kind
        self.event = event          # notifications.event_type / recipient_events.event_type
        self.ses = ses              # the SES message (dict)
        self.rcpts = rcpts          # addresses it carries
        self.body = None
        self.headers = None
        self.tries = 0
        self.vclock = 0.0
        self.result = None          # "ok", "given_up", "failed:<status>"


class Plan:
    """Chains of messages. A chain of several messages (the soft-bounce
    cases, whose outcome depends on the order of events) goes to one sender,
    which sends each only after the previous one was accepted: their final
    state is then fixed by the rules. Every other address occurs in one
    message only, so concurrency and retries cannot change its outcome."""

    def __init__(self, n, seed):
        self.rng = random.Random(seed)
        self.base = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) \
            - datetime.timedelta(hours=2)
        self.run = uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]
        self.addr_seq = 0
        self.chains = []
        self.expected = {}          # email -> reason (suppressed addresses only)
        self.counts = collections.Counter()
        kinds = [("hard", 24), ("hard2", 5), ("complaint", 14), ("notspam", 2),
                 ("delivery", 30), ("delivery2", 5), ("soft1", 6), ("soft5xx", 3),
                 ("toolarge", 2), ("soft3", 4), ("softreset", 3), ("softwindow", 2)]
        names = [k for k, _ in kinds]
        weights = [w for _, w in kinds]
        sizes = {"soft3": 3, "softreset": 4, "softwindow": 3}
        left = n
        while left > 0:
            k = self.rng.choices(names, weights)[0]
            if sizes.get(k, 1) > left:
                k = "delivery"
            chain = getattr(self, "make_" + k)()
            self.chains.append(chain)
            self.counts[k] += 1
            left -= len(chain)
        self.messages = [m for c in self.chains for m in c]
        assert len(self.messages) == n
        if SOFT_ORDER == "reversed":
            self.chains = [c[::-1] if len(c) > 1 else c for c in self.chains]
        elif SOFT_ORDER == "any":
            singles = [[m] for c in self.chains if len(c) > 1 for m in c]
            self.chains = [c for c in self.chains if len(c) == 1]
            for c in singles:
                self.chains.insert(self.rng.randrange(len(self.chains) + 1), c)
        elif SOFT_ORDER != "ordered":
            raise ValueError("REPLAY_SOFT_ORDER: ordered, reversed or any")

    def addr(self, tag):
        self.addr_seq += 1
        return "%s-%d-%s@replay.example.com" % (tag, self.addr_seq, self.run)

    def when(self, days=0.0):
        return self.base - datetime.timedelta(seconds=self.rng.randrange(0, 3600),
                                              days=days)

    def mail(self, rcpts, at):
        return {"timestamp": iso(at - datetime.timedelta(seconds=30)),
                "source": "sender@example.com",
                "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                "sourceIp": "192.0.2.1", "sendingAccountId": "123456789012",
                "messageId": "%016x-%s-000000" % (self.rng.getrandbits(64), uuid.uuid4()),
                "destination": list(rcpts), "headersTruncated": False}

    def fid(self):
        return "%016x-%s-000000" % (self.rng.getrandbits(64), uuid.uuid4())

    def bounce(self, kind, rcpts, btype, sub, status, at):
        ses = {"notificationType": "Bounce",
               "bounce": {"bounceType": btype, "bounceSubType": sub,
                          "bouncedRecipients": [
                              {"emailAddress": r, "action": "failed", "status": status,
                               "diagnosticCode": "smtp; %s %s replay" % (
                                   "550" if status.startswith("5") else "451", status)}
                              for r in rcpts],
                          "timestamp": iso(at), "feedbackId": self.fid(),
                          "reportingMTA": "dsn; mta.example.com", "remoteMtaIp": "192.0.2.9"},
               "mail": self.mail(rcpts, at)}
        return Msg(kind, "Bounce", ses, rcpts)

    def complaint(self, kind, rcpts, ftype, at):
        c = {"complainedRecipients": [{"emailAddress": r} for r in rcpts],
             "timestamp": iso(at), "feedbackId": self.fid(),
             "userAgent": "Replay Feedback Loop", "arrivalDate": iso(at)}
        if ftype:
            c["complaintFeedbackType"] = ftype
        return Msg(kind, "Complaint", {"notificationType": "Complaint", "complaint": c,
                                       "mail": self.mail(rcpts, at)}, rcpts)

    def delivery(self, kind, rcpts, at):
        ses = {"notificationType": "Delivery", "mail": self.mail(rcpts, at),
               "delivery": {"timestamp": iso(at), "recipients": list(rcpts),
                            "processingTimeMillis": 512,
                            "reportingMTA": "a1-2.smtp-out.amazonses.com",
                            "smtpResponse": "250 ok", "remoteMtaIp": "192.0.2.9"}}
        return Msg(kind, "Delivery", ses, rcpts)

    # each make_* returns a chain and records the expected suppressions
    def make_hard(self):
        a = self.addr("hard")
        self.expected[a] = "hard_bounce"
        return [self.bounce("hard", [a], "Permanent", "General", "5.1.1", self.when())]

    def make_hard2(self):
        rs = [self.addr("hardnoemail"), self.addr("hardnoemail")]
        for a in rs:
            self.expected[a] = "hard_bounce"
        return [self.bounce("hard2", rs, "Permanent", "NoEmail", "5.1.1", self.when())]

    def make_complaint(self):
        a = self.addr("complaint")
        self.expected[a] = "complaint"
        return [self.complaint("complaint", [a], "abuse", self.when())]

    def make_notspam(self):
        return [self.complaint("notspam", [self.addr("notspam")], "not-spam", self.when())]

    def make_delivery(self):
        return [self.delivery("delivery", [self.addr("delivered")], self.when())]

    def make_delivery2(self):
        rs = [self.addr("delivered"), self.addr("delivered")]
        return [self.delivery("delivery2", rs, self.when())]

    def make_soft1(self):
        return [self.bounce("soft1", [self.addr("soft")], "Transient", "MailboxFull", "4.2.2",
                            self.when())]

    def make_soft5xx(self):
        a = self.addr("soft5xx")
        self.expected[a] = "hard_bounce"     # transient General/MailboxFull with 5.x.x
        return [self.bounce("soft5xx", [a], "Transient", "General", "5.2.1", self.when())]

    def make_toolarge(self):
        return [self.bounce("toolarge", [self.addr("toolarge")], "Transient",
                            "MessageTooLarge", "5.3.4", self.when())]

    def make_soft3(self):
        a = self.addr("soft3")
        self.expected[a] = "soft_bounce"     # 3 within 30 days, no delivery between
        t = self.when(days=10)
        return [self.bounce("soft3", [a], "Transient", "General", "4.4.7",
                            t + datetime.timedelta(days=4 * i)) for i in range(3)]

    def make_softreset(self):
        a = self.addr("softreset")           # soft, soft, delivery, soft: count restarts
        t = self.when(days=10)
        d = lambda i: t + datetime.timedelta(days=2 * i)
        return [self.bounce("softreset", [a], "Transient", "General", "4.4.7", d(0)),
                self.bounce("softreset", [a], "Transient", "MailboxFull", "4.2.2", d(1)),
                self.delivery("softreset", [a], d(2)),
                self.bounce("softreset", [a], "Transient", "General", "4.4.7", d(3))]

    def make_softwindow(self):
        a = self.addr("softwindow")          # 3 soft bounces over 50 days: never 3 in 30
        t = self.when(days=60)
        return [self.bounce("softwindow", [a], "Transient", "General", "4.4.7",
                            t + datetime.timedelta(days=25 * i)) for i in range(3)]


def build(msg, signer):
    """The signed envelope as SNS would POST it (SignatureVersion 2)."""
    env = S.envelope(TOPIC, json.dumps(msg.ses, separators=(",", ":")),
                     message_id=msg.mid, version=2, cert=S.cert_url(TOPIC, CERT_ID),
                     timestamp=iso(datetime.datetime.now(datetime.timezone.utc)
                                   .replace(tzinfo=None)))
    env["Signature"] = signer.sign(S.string_to_sign(env))
    msg.body = json.dumps(env, indent=2).encode()
    msg.headers = S.headers_for(env)


# ---- the world ----------------------------------------------------------------

def serve_user_args():
    """`serve --user` when we are root and the program has the option (a
    program that refuses to serve as root wants it), as the harness's
    serve_cmd() adds it: for the report line."""
    if os.geteuid() != 0:
        return []
    r = H.run([H.BIN, "--help"])
    if "--user" not in (r.stdout + r.stderr):
        return []
    return ["--user", getattr(H, "SERVICE_USER", "nobody")]


class World(H.World):
    """The shared world with `serve` on a fixed socket path (so that it can
    be started again there after the supervisor is killed), every `serve`
    ever started and the workers of a killed one tracked for tear-down, and
    one nginx location (REPLAY_NGINX_SNIPPET's snippet if set)."""

    def __init__(self):
        super().__init__(ALLOWED)
        self.serve_log = None
        self.orphans = set()        # workers of a killed supervisor
        self.serve_procs = []
        self.user_args = serve_user_args()

    def start(self):
        super().start()
        st, _, body = H.request(self.port, "GET", PATH)
        if st != 200:
            raise RuntimeError("health check: %d %s" % (st, body))

    def _start_pg(self, errors):
        """With the failover fault: a primary whose commits wait for a
        synchronous standby, and a DSN naming both that wants the writable
        one, as an operator runs it."""
        super()._start_pg(errors)
        if errors or "failover" not in FAULTS:
            return
        try:
            pg = self.pg
            pg.psql_admin("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
            pg.psql_admin("SELECT pg_reload_conf()")
            self.standby = H.Postgres(self.tmp, "pg-standby", primary=pg, app_name="standby")
            H.wait_for(lambda: pg.query("SELECT sync_state FROM pg_stat_replication",
                                        db="postgres") == [["sync"]], 20,
                       "the standby streaming synchronously")
            pg.dsn = self.standby.dsn = (
                "host=%s,%s dbname=sesfb user=postgres target_session_attrs=read-write"
                % (pg.sock, self.standby.sock))
        except Exception as e:  # raised again by start()
            errors.append(e)

    def start_service(self):
        self.service_dsn = self.pg.dsn
        if PGBOUNCER:
            self.pgb = H.PgBouncer(self.tmp, self.pg.sock, pool=4)
            self.service_dsn = self.pgb.dsn
            self.serve_env = dict(self.serve_env, SES_FEEDBACK_DSN=self.service_dsn,
                                  SES_FEEDBACK_PREPARE="off")
        if HOSTS > 1:  # a certificate cache per host, not one from nginx
            self.serve_env = dict(self.serve_env, SES_FEEDBACK_CERT_CACHE=self.cache)
        # like /run/ses-feedback: the service user's own directory
        run = H.service_owned_dir(self.tmp.path("run"))
        self.sock = os.path.join(run, "serve.sock")
        self.serve_log = self.tmp.path("serve.log")
        p, why = self.start_serve(10.0)
        if p is None:
            raise RuntimeError("serve did not start: %s\n%s" % (why, self.log_tail(self.serve_log)))
        self.serve = p
        self.hosts = []
        for i in range(1, HOSTS):
            env = dict(self.serve_env, SES_FEEDBACK_CERT_CACHE=H.service_owned_dir(
                self.tmp.path("certcache%d" % i)))
            sock = os.path.join(run, "serve%d.sock" % i)
            h = H.Proc(H.serve_cmd(sock, WORKERS), self.tmp.path("serve%d.log" % i),
                       env=H.service_env(env))
            H.wait_for(lambda: os.path.exists(sock) and h.alive(), 10, "serve host %d" % i)
            self.hosts.append(h)
            self.upstream_options += " server unix:%s;" % sock

    def params(self, **over):
        over.setdefault("SES_FEEDBACK_DSN", self.service_dsn)
        if PGBOUNCER:
            over.setdefault("SES_FEEDBACK_PREPARE", "off")
        lines = super().params(**over)
        if HOSTS > 1:
            lines = "".join(l for l in lines.splitlines(True) if "_CERT_CACHE " not in l)
        return lines

    def locations(self):
        return [(PATH, {})]

    def location(self, path, **over):
        return ("    location = %s {\n%s        include %s;\n    }\n"
                % (path, self.params(**over), SNIPPET or H.snippet()))

    def start_serve(self, timeout):
        """Start `serve` on the fixed socket path and wait up to timeout
        seconds until it runs with all its workers. Returns (Proc, None), or
        (None, why) when it exited (its reason is the last line it logged)."""
        before = os.path.getsize(self.serve_log) if os.path.exists(self.serve_log) else 0
        p = H.Proc(H.serve_cmd(self.sock, WORKERS), self.serve_log, env=H.service_env(self.serve_env))
        self.serve_procs.append(p)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not p.alive():
                p.logf.close()
                return None, (self.log_since(before) or ["exited %s" % p.p.returncode])[-1]
            if len(self.workers(p)) == WORKERS:
                return p, None
            time.sleep(0.02)
        return p, "no %d workers after %.0fs" % (WORKERS, timeout)

    def log_since(self, offset):
        try:
            with open(self.serve_log, errors="replace") as f:
                f.seek(offset)
                return f.read().strip().splitlines()
        except OSError:
            return []

    def workers(self, p=None):
        p = p or self.serve
        out = H.run(["pgrep", "-P", str(p.p.pid)]).stdout.split()
        return [int(x) for x in out]

    @staticmethod
    def log_tail(path, n=20):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except (OSError, TypeError):
            return ""

    def stop_processes(self):
        for p in self.serve_procs:
            try:
                if p.alive():
                    p.stop()
                p.logf.close()
            except Exception:
                traceback.print_exc()
        self.kill_orphans()
        for h in getattr(self, "hosts", []):
            h.stop()
        if getattr(self, "pgb", None) is not None:
            self.pgb.stop()
        # the cluster that is not the world's database (the standby, or
        # the crashed primary after a failover)
        for c in (getattr(self, "standby", None), getattr(self, "old_primary", None)):
            if c is not None and c is not self.pg:
                c.stop()

    def stop(self):
        """Stop everything; the logs stay until cleanup()."""
        super().stop(cleanup=False)

    def kill_orphans(self):
        alive = [p for p in self.orphans if pid_alive(p)]
        if alive:
            H.kill_pids(alive, timeout=5)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


SYSCALLS = {0: "read", 1: "write", 7: "poll", 23: "select", 43: "accept", 44: "sendto",
            45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 232: "epoll_wait",
            270: "pselect6", 271: "ppoll", 288: "accept4"}
# A worker blocked in one of these waits for its next request (accept, a
# kept connection's read, ppoll on the listening socket); one running or in
# poll() (libpq waiting for PostgreSQL) is busy with a request.
IDLE_SYSCALLS = (0, 43, 45, 232, 270, 271, 288)


def syscall_of(pid):
    """What a process is doing: "running", a system call's name, or None."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            first = f.read().split()[0]
    except (OSError, IndexError):
        return None
    if first == "running":
        return "running"
    try:
        n = int(first)
    except ValueError:
        return None
    return SYSCALLS.get(n, "syscall %d" % n)


# ---- delivery -------------------------------------------------------------------

class Feed:
    """The chains to send. The last TAIL_SHARE of them is held back until
    the injector is done (or hands out a few permits while it waits for a
    recovery), so that every fault happens while traffic flows and there is
    traffic after it to measure the recovery by."""

    TAIL_SHARE = 0.1

    def __init__(self, chains, stop):
        n = sum(len(c) for c in chains)
        cut, held = len(chains), 0
        while cut > 0 and held + len(chains[cut - 1]) <= n * self.TAIL_SHARE:
            cut -= 1
            held += len(chains[cut])
        self.main = collections.deque(chains[:cut])
        self.tail = collections.deque(chains[cut:])
        self.cond = threading.Condition()
        self.released = False
        self.permits = 0
        self.stop = stop

    def take(self):
        with self.cond:
            while True:
                if self.main:
                    return self.main.popleft()
                if not self.tail or self.stop.is_set():
                    return None
                if self.released or self.permits > 0:
                    if not self.released:
                        self.permits -= 1
                    return self.tail.popleft()
                self.cond.wait(0.1)

    def main_empty(self):
        with self.cond:
            return not self.main

    def grant(self, n):
        with self.cond:
            if self.permits <= 0:
                self.permits = n
                self.cond.notify_all()

    def release(self):
        with self.cond:
            self.released = True
            self.cond.notify_all()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = collections.Counter()
        self.transport = collections.Counter()
        self.requests = 0
        self.log = []            # (start, end, status or None) for every attempt
        self.done = 0
        self.failed = []         # (mid, status, body)
        self.given_up = []
        self.slow = []           # attempts that took > 5 s: (mid, status, seconds)


class Sender(threading.Thread):
    def __init__(self, i, world, feed, stats, signer, stop):
        super().__init__(name="sender-%d" % i, daemon=True)
        self.world, self.feed = world, feed
        self.stats, self.signer, self.stop_ev = stats, signer, stop
        self.conn = None
        self.error = None

    def connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.world.port,
                                                   timeout=HTTP_TIMEOUT)
        return self.conn

    def drop(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def attempt(self, msg):
        t0 = time.monotonic()
        status, body, err = None, "", None
        try:
            c = self.connection()
            c.request("POST", PATH, body=msg.body, headers=msg.headers)
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            status = r.status
            if r.will_close:
                self.drop()
        except (OSError, http.client.HTTPException) as e:
            err = type(e).__name__
            self.drop()
        t1 = time.monotonic()
        st = self.stats
        with st.lock:
            st.requests += 1
            st.log.append((t0, t1, status))
            if status is None:
                st.transport[err] += 1
            else:
                st.status[status] += 1
            if t1 - t0 > 5:
                st.slow.append((msg.mid, status or err, round(t1 - t0, 1)))
        return status, body, t1 - t0

    def deliver(self, msg):
        build(msg, self.signer)
        retries = 0
        while True:
            status, body, took = self.attempt(msg)
            msg.tries += 1
            msg.vclock += took
            if status is not None and 200 <= status < 300:
                msg.result = "ok"
                return True
            if status is not None and 400 <= status < 500 and status != 429:
                msg.result = "failed:%d" % status
                with self.stats.lock:
                    self.stats.failed.append((msg.mid, status, body.strip()[:200]))
                return False
            if status is not None and not (status >= 500 or status == 429):
                msg.result = "failed:%d" % status      # 1xx/3xx: not expected either
                with self.stats.lock:
                    self.stats.failed.append((msg.mid, status, body.strip()[:200]))
                return False
            retries += 1
            delay = backoff_delay(retries)
            if msg.vclock + delay > BUDGET:
                msg.result = "given_up"
                with self.stats.lock:
                    self.stats.given_up.append(msg.mid)
                return False
            msg.vclock += delay
            if self.stop_ev.is_set():
                msg.result = "aborted"
                return False
            time.sleep(min(delay, REAL_PAUSE_MAX))

    def run(self):
        try:
            while not self.stop_ev.is_set():
                chain = self.feed.take()
                if chain is None:
                    return
                for msg in chain:
                    ok = self.deliver(msg)
                    with self.stats.lock:
                        self.stats.done += 1
                    if not ok:
                        # the rest of an ordered chain would change its outcome
                        for rest in chain[chain.index(msg) + 1:]:
                            rest.result = "skipped"
                            with self.stats.lock:
                                self.stats.done += 1
                        break
        except Exception as e:
            self.error = "".join(traceback.format_exception(type(e), e, e.__traceback__))
        finally:
            self.drop()


# ---- faults ------------------------------------------------------------------------

class Fault:
    def __init__(self, name):
        self.name = name
        self.t_inject = None     # monotonic, when the fault began
        self.t_clear = None      # when the fault was over (the world set right)
        self.t_recovered = None  # answer of the first 2xx sent after t_clear
        self.log_from = 0        # serve log offset at the start
        self.log_to = 0
        self.notes = []
        self.problems = []       # misbehaviour found while injecting


class Injector(threading.Thread):
    """Injects the faults one after another, spaced over the delivery by
    progress, each after the previous one has recovered."""

    RECOVERY_TIMEOUT = 60.0

    def __init__(self, world, stats, feed, total, stop):
        super().__init__(name="injector", daemon=True)
        self.world, self.stats, self.feed = world, stats, feed
        self.total, self.stop_ev = total, stop
        self.faults = [Fault(n) for n in FAULTS]
        self.error = None

    def progress(self):
        with self.stats.lock:
            return self.stats.done / float(self.total)

    def keep_traffic(self):
        """Once the main part is sent, let a few held-back chains go, so
        that requests keep flowing while a fault runs and recovers."""
        if self.feed.main_empty():
            self.feed.grant(SENDERS)

    def run(self):
        try:
            k = len(self.faults)
            main = 1.0 - Feed.TAIL_SHARE
            for i, f in enumerate(self.faults):
                if self.stop_ev.is_set():
                    return
                at = main * (i + 0.5) / k
                while self.progress() < at and not self.feed.main_empty():
                    if self.stop_ev.wait(0.02):
                        return
                f.log_from = os.path.getsize(self.world.serve_log)
                pump = threading.Event()
                t = threading.Thread(target=self.pump, args=(pump,), daemon=True)
                t.start()
                try:
                    getattr(self, "fault_" + f.name)(f)
                    self.wait_recovery(f)
                finally:
                    pump.set()
                    t.join()
                f.log_to = os.path.getsize(self.world.serve_log)
        except Exception as e:
            self.error = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            print("replay: fault injector crashed, stopping:\n" + self.error, file=sys.stderr,
                  flush=True)
            self.stop_ev.set()       # the world is in an unknown state
        finally:
            self.feed.release()

    def pump(self, done):
        while not done.wait(0.1):
            self.keep_traffic()

    def wait_recovery(self, f):
        if f.t_clear is None:
            return
        end = time.monotonic() + self.RECOVERY_TIMEOUT
        with self.stats.lock:        # the log is in the order attempts ended
            log = self.stats.log
            i = len(log)
            while i > 0 and log[i - 1][1] >= f.t_clear:
                i -= 1
        while time.monotonic() < end:
            with self.stats.lock:
                new = self.stats.log[i:]
            i += len(new)
            ok = [b for (a, b, st) in new if st is not None and 200 <= st < 300
                  and a >= f.t_clear]
            if ok:
                f.t_recovered = min(ok)
                return
            if self.stop_ev.wait(0.05):
                return
        f.problems.append("no successful request within %.0fs after the fault was cleared"
                          % self.RECOVERY_TIMEOUT)

    # PostgreSQL stops (fast: sessions are cut) and comes back 1.5 s later.
    def fault_pg_restart(self, f):
        pg = self.world.pg
        f.t_inject = time.monotonic()
        r = H.run(pg.as_user + [H.PGBIN + "/pg_ctl", "-D", pg.data, "-m", "fast", "-w", "stop"])
        if r.returncode != 0:
            f.problems.append("pg_ctl stop failed: " + r.stderr.strip())
        f.notes.append("pg_ctl stop -m fast took %.2fs; down for 1.5s"
                       % (time.monotonic() - f.t_inject))
        time.sleep(1.5)
        pg.start()
        f.t_clear = time.monotonic()

    # SIGKILL a worker that is busy with a request; the supervisor must
    # start another.
    def fault_worker_kill(self, f):
        """Up to 5 kills, until one provably cut a request: nginx logs its
        upstream connection broken (the request was in the worker's hands)."""
        w = self.world
        nx_log = w.tmp.path("nx-error.log")
        idle = [SYSCALLS[n] for n in IDLE_SYSCALLS]
        for kill in range(1, 6):
            victim, doing = None, None
            end = time.monotonic() + 3.0
            while time.monotonic() < end and victim is None:
                for pid in w.workers():
                    sc = syscall_of(pid)
                    if sc is not None and sc not in idle:
                        victim, doing = pid, sc
                        break
            if victim is None:
                pids = w.workers()
                if not pids:
                    f.problems.append("no worker to kill")
                    return
                victim, doing = pids[0], "no busy worker seen in 3s"
            before = os.path.getsize(nx_log)
            t = time.monotonic()
            if f.t_inject is None:
                f.t_inject = t
            os.kill(victim, signal.SIGKILL)
            end = time.monotonic() + 10
            while time.monotonic() < end:
                pids = w.workers()
                if len(pids) == WORKERS and victim not in pids:
                    break
                time.sleep(0.01)
            else:
                f.t_clear = time.monotonic()
                f.problems.append("the supervisor did not replace killed worker %d within 10s "
                                  "(workers now: %s)" % (victim, w.workers()))
                return
            f.t_clear = time.monotonic()
            time.sleep(0.3)
            with open(nx_log, errors="replace") as fh:
                fh.seek(before)
                cut = [l for l in fh.read().splitlines() if "upstream" in l and (
                    "prematurely closed" in l or "reset by peer" in l)]
            f.notes.append("SIGKILL to worker %d (%s); replacement after %.2fs; %s" % (
                victim, doing, f.t_clear - t,
                "it was serving a request (nginx: %s)" % cut[0].split("] ", 1)[-1][:90]
                if cut else "no request cut"))
            if cut:
                return
        f.notes.append("no kill caught a worker in the middle of a request")

    # SIGKILL the supervisor, then start `serve` again on the same socket.
    def fault_supervisor_kill(self, f):
        w = self.world
        old = w.serve
        old_workers = w.workers(old)
        f.t_inject = time.monotonic()
        os.kill(old.p.pid, signal.SIGKILL)
        old.p.wait()
        old.logf.close()
        w.orphans.update(old_workers)
        f.notes.append("SIGKILL to supervisor %d (workers %s)" % (old.p.pid, old_workers))
        t0 = time.monotonic()
        gone = None
        tries = 0
        refusals = []
        while True:
            tries += 1
            left = RESTART_WAIT - (time.monotonic() - t0)
            try:
                p, why = w.start_serve(max(left, 0.5))
            except OSError as e:         # could not even run it
                p, why = None, "start failed: %r" % e
                f.notes.append("start %d of `serve` failed: %r" % (tries, e))
            if gone is None and not any(pid_alive(x) for x in old_workers):
                gone = time.monotonic() - t0
            if p is not None and why is None:
                w.serve = p
                f.t_clear = time.monotonic()
                f.notes.append("`serve` running again on the same socket with %d workers "
                               "%.2fs after the kill (%d start(s))"
                               % (WORKERS, f.t_clear - t0, tries))
                break
            if why:
                refusals.append(why)
            if p is not None:            # still running but without its workers
                p.stop(signal.SIGTERM, timeout=5)
            if time.monotonic() - t0 >= RESTART_WAIT:
                f.t_clear = time.monotonic()
                alive = [x for x in old_workers if pid_alive(x)]
                f.problems.append(
                    "`serve` could not be started again on %s within %.1fs (%d starts); it "
                    "said: %s; workers of the killed supervisor still alive: %s"
                    % (w.sock, f.t_clear - t0, tries, refusals[-1] if refusals else "?",
                       alive or "none"))
                break
            time.sleep(0.2)
        alive = [x for x in old_workers if pid_alive(x)]
        if gone is None and not alive:
            gone = time.monotonic() - t0
        f.notes.append("old workers %s" % (
            "gone %.2fs after the kill" % gone if gone is not None
            else "STILL ALIVE (%s) %.1fs after the kill" % (alive, time.monotonic() - t0)))

    def fault_nginx_reload(self, f):
        w = self.world
        f.t_inject = time.monotonic()
        w.nginx.reload()
        f.t_clear = f.t_inject
        f.notes.append("SIGHUP to nginx master %d" % w.nginx.proc.p.pid)

    # Every write fails (SQLSTATE 25006) for 2 s.
    def fault_read_only(self, f):
        pg = self.world.pg
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.sock, "-U", "postgres",
                "-d", "postgres"]
        f.t_inject = time.monotonic()
        r = H.run(psql + ["-c", "ALTER SYSTEM SET default_transaction_read_only = on",
                          "-c", "SELECT pg_reload_conf()"])
        if r.returncode != 0:
            f.problems.append("could not turn read-only on: " + r.stderr.strip())
        time.sleep(2.0)
        r = H.run(psql + ["-c", "ALTER SYSTEM RESET default_transaction_read_only",
                          "-c", "SELECT pg_reload_conf()"])
        if r.returncode != 0:
            f.problems.append("could not turn read-only off: " + r.stderr.strip())
        f.t_clear = time.monotonic()


    # The primary crashes (immediate stop: no checkpoint, sessions cut) and
    # its synchronous standby is promoted; the world's database is the
    # standby from then on. Every notification answered 2xx must be there.
    def fault_failover(self, f):
        w = self.world
        old = w.pg
        f.t_inject = time.monotonic()
        r = old.stop("immediate")
        if r.returncode != 0:
            f.problems.append("pg_ctl stop -m immediate failed: " + r.stderr.strip())
        time.sleep(0.3)
        t = time.monotonic()
        try:
            w.standby.promote()
        except RuntimeError as e:
            f.problems.append(str(e))
        w.old_primary, w.pg = old, w.standby
        f.t_clear = time.monotonic()
        f.notes.append("primary crashed, standby promoted in %.2fs" % (f.t_clear - t))


GRACE = 1.0   # seconds after a fault's recovery whose failures are still its own


def unexplained(faults, log):
    """Failed attempts that ended outside every fault's window (from its
    start to one second after its recovery), by status."""
    wins = [(f.t_inject, (f.t_recovered or f.t_clear or f.t_inject) + GRACE)
            for f in faults if f.t_inject is not None]
    out = collections.Counter()
    for (a, b, st) in log:
        if st is not None and (200 <= st < 300):
            continue
        if not any(lo <= b <= hi for lo, hi in wins):
            out[st if st is not None else "transport"] += 1
    return out


def fault_figures(f, log):
    """Failed attempts in the fault's window (from its start to one second
    after its recovery)."""
    if f.t_inject is None or f.t_recovered is None:
        return None
    return sum(1 for (a, b, st) in log
               if f.t_inject <= b <= f.t_recovered + GRACE and (st is None or st >= 300))


# ---- verification -------------------------------------------------------------------

def verify(world, plan):
    pg = world.pg
    problems = []
    sent = {m.mid for m in plan.messages}
    rows = pg.query("SELECT sns_message_id FROM ses_feedback.notifications")
    ids = [r[0] for r in rows]
    total = len(ids)
    distinct = len(set(ids))
    dups = total - distinct
    lost = sent - set(ids)
    extra = set(ids) - sent
    if dups:
        c = collections.Counter(ids)
        problems.append("duplicated notifications: %d, e.g. %s" % (
            dups, [k for k, v in c.items() if v > 1][:5]))
    missing = lost
    ok = {m.mid for m in plan.messages if m.result == "ok"}
    lost = missing & ok          # answered 2xx, yet not stored
    if lost:
        problems.append("LOST notifications (answered 2xx, not stored): %d, e.g. %s" % (
            len(lost), sorted(lost)[:5]))
    if missing - lost:
        problems.append("notifications never accepted and not stored: %d" % len(missing - lost))
    if extra:
        problems.append("notifications nobody sent: %d" % len(extra))

    want_ev = collections.Counter()
    for m in plan.messages:
        for r in m.rcpts:
            want_ev[(m.mid, r, m.event)] += 1
    got_ev = collections.Counter(tuple(r) for r in pg.query(
        "SELECT n.sns_message_id, e.email, e.event_type FROM ses_feedback.recipient_events e "
        "JOIN ses_feedback.notifications n ON n.id = e.notification_id"))
    missing_ev = want_ev - got_ev
    extra_ev = got_ev - want_ev
    if missing_ev:
        problems.append("recipient events missing: %d, e.g. %s" % (
            sum(missing_ev.values()), list(missing_ev)[:3]))
    if extra_ev:
        problems.append("recipient events not expected (or twice): %d, e.g. %s" % (
            sum(extra_ev.values()), list(extra_ev)[:3]))

    # suppressions in force: a soft-bounce run that a late delivery broke
    # leaves its withdrawn (expired) row behind, as history
    got_sup = {r[0]: r[1] for r in pg.query(
        "SELECT email, reason FROM ses_feedback.active_suppressions")}
    want_sup = plan.expected
    miss = [a for a in want_sup if a not in got_sup]
    wrong = [(a, want_sup[a], got_sup[a]) for a in want_sup if a in got_sup
             and got_sup[a] != want_sup[a]]
    unexpected = [(a, got_sup[a]) for a in got_sup if a not in want_sup]
    if miss:
        problems.append("suppressions missing: %d, e.g. %s" % (len(miss), miss[:5]))
    if wrong:
        problems.append("suppressions with the wrong reason: %d, e.g. %s" % (
            len(wrong), wrong[:5]))
    if unexpected:
        problems.append("suppressions not expected: %d, e.g. %s" % (
            len(unexpected), unexpected[:5]))
    active = int(pg.scalar("SELECT count(*) FROM ses_feedback.suppressions s "
                           "WHERE ses_feedback.is_suppressed(s.email)"))
    if active != len(want_sup):
        problems.append("is_suppressed() true for %d addresses, want %d" % (
            active, len(want_sup)))
    figures = {"rows": total, "distinct": distinct, "lost": len(lost), "missing": len(missing),
               "duplicated": dups,
               "events": sum(got_ev.values()), "events_wanted": sum(want_ev.values()),
               "suppressions": len(got_sup), "suppressions_wanted": len(want_sup)}
    return figures, problems


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except (OSError, TypeError):
        return ""


def scan_logs(world):
    """Crashes, sanitizer reports, 4xx/500 answers in the service's log;
    what nginx complained about."""
    problems, notes = [], []
    text = read(world.serve_log) + "".join(read(h.log) for h in getattr(world, "hosts", []))
    for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                 "Segmentation fault"):
        if mark in text:
            problems.append("serve log has %r" % mark)
    for line in text.splitlines():
        if "killed by signal" in line and "signal 9" not in line:
            problems.append("serve log: " + line)
    outcomes = collections.Counter(re.findall(r"outcome=(\S+) status=(\d+)", text))
    notes.append("serve log outcomes: " + ", ".join(
        "%s/%s=%d" % (o, s, n) for (o, s), n in sorted(outcomes.items())))
    for (o, s), n in outcomes.items():
        if s == "500" or s.startswith("4"):
            lines = [l for l in text.splitlines() if "outcome=%s status=%s" % (o, s) in l]
            problems.append("serve answered %s (%s) %d times, e.g. %s" % (s, o, n, lines[:2]))
    ngx = collections.Counter()
    for line in read(world.tmp.path("nx-error.log")).splitlines():
        m = re.search(r"\[(error|crit|alert|emerg|warn)\] \d+#\d+: (?:\*\d+ )?([^,]*)", line)
        if m:
            ngx[m.group(2)] += 1
    if ngx:
        notes.append("nginx error log: " + "; ".join("%d x %s" % (n, k)
                                                    for k, n in ngx.most_common()))
    return problems, notes


def fault_log(world, f):
    """What the service logged while the fault ran: request outcomes and
    the lines that are not about one request."""
    with open(world.serve_log, errors="replace") as fh:
        fh.seek(f.log_from)
        text = fh.read(max(0, f.log_to - f.log_from))
    outcomes = collections.Counter(re.findall(r"outcome=(\S+) status=(\d+)", text))
    other = [l for l in text.splitlines() if " req=" not in l]
    return outcomes, other


def on_term(*_):
    raise KeyboardInterrupt()


def main():
    t_start = time.monotonic()
    if PGBOUNCER and "failover" in FAULTS:
        print("replay: REPLAY_PGBOUNCER=1 and the failover fault do not go together (the "
              "pooler names one server): set REPLAY_FAULTS without failover")
        print("replay: 0 passed, 1 failed")
        return 1
    world = World()
    stop = threading.Event()
    problems = []
    passed = False
    old_term = signal.getsignal(signal.SIGTERM)
    old_int = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)   # even if inherited ignored
    signer = None
    try:
        world.start()
        t_world = time.monotonic()
        signer = S.Signer(world.certs.sign_key)
        plan = Plan(N, SEED)
        t_plan = time.monotonic()
        print("replay: N=%d senders=%d workers=%d hosts=%d%s faults=%s seed=%d soft-order=%s%s" % (
            N, SENDERS, WORKERS, HOSTS, " pgbouncer" if PGBOUNCER else "", ",".join(FAULTS),
            SEED, SOFT_ORDER,
            " serve " + " ".join(world.user_args) if world.user_args else ""), flush=True)
        ver = H.run([H.BIN, "--version"]).stdout.strip()
        print("  %s (%s, built %s)" % (H.BIN, ver, time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.stat(H.BIN).st_mtime))))
        if SNIPPET:
            print("  nginx snippet: " + SNIPPET)
        print("  world up in %.1fs, plan in %.1fs: %s" % (
            t_world - t_start, t_plan - t_world,
            ", ".join("%s=%d" % kv for kv in sorted(plan.counts.items()))), flush=True)

        stats = Stats()
        feed = Feed(plan.chains, stop)
        senders = [Sender(i, world, feed, stats, signer, stop) for i in range(SENDERS)]
        inj = Injector(world, stats, feed, N, stop)
        t0 = time.monotonic()
        for s in senders:
            s.start()
        inj.start()
        last = t0
        while any(s.is_alive() for s in senders):
            time.sleep(0.1)
            if time.monotonic() - t0 > DEADLINE and not stop.is_set():
                problems.append("delivery stopped at the %.0fs deadline with %d of %d messages "
                                "done" % (DEADLINE, stats.done, N))
                stop.set()
            if time.monotonic() - last >= 10:
                last = time.monotonic()
                with stats.lock:
                    print("  ... %5.1fs delivered %d/%d, requests %d" % (
                        last - t0, stats.done, N, stats.requests), flush=True)
        t_deliver = time.monotonic() - t0
        stop.set()
        inj.join(60)
        if inj.is_alive():
            problems.append("fault injector still running after delivery ended")
        for s in senders:
            if s.error:
                problems.append("sender crashed: " + s.error)
        if inj.error:
            problems.append("fault injector crashed: " + inj.error)
        for f in inj.faults:
            if f.t_inject is None:
                problems.append("fault %s was not injected" % f.name)
            problems.extend("fault %s: %s" % (f.name, p) for p in f.problems)

        # the service is whole afterwards: health, its workers
        try:
            st, _, _ = H.request(world.port, "GET", PATH, timeout=HTTP_TIMEOUT)
        except OSError as e:
            st = type(e).__name__
        if st != 200:
            problems.append("health GET after the run answered %s" % st)
        if not world.serve.alive():
            problems.append("no supervisor running after the run")
        elif len(world.workers()) != WORKERS:
            problems.append("the supervisor has %d workers after the run, want %d" % (
                len(world.workers()), WORKERS))

        figures, vproblems = verify(world, plan)
        problems.extend(vproblems)
        lproblems, lnotes = scan_logs(world)
        problems.extend(lproblems)

        results = collections.Counter(m.result for m in plan.messages)
        retries = [m.tries - 1 for m in plan.messages if m.tries]
        s2 = sum(v for k, v in stats.status.items() if 200 <= k < 300)
        s4 = sum(v for k, v in stats.status.items() if 400 <= k < 500)
        s5 = sum(v for k, v in stats.status.items() if k >= 500)
        terr = sum(stats.transport.values())
        if s4:
            problems.append("4xx answers: %s" % {k: v for k, v in stats.status.items()
                                                 if 400 <= k < 500})
        for mid, status, body in stats.failed[:5]:
            problems.append("final failure %s: %s %s" % (mid, status, body))
        if stats.given_up:
            problems.append("given up: %d, e.g. %s" % (len(stats.given_up), stats.given_up[:5]))
        if results.get("ok", 0) != N:
            problems.append("messages not accepted: %s" % {k: v for k, v in results.items()
                                                           if k != "ok"})
        # every answer well inside SNS's 15 second timeout (src/bounds.h)
        late = stats.status.get(504, 0) + stats.transport.get("TimeoutError", 0) \
            + stats.transport.get("timeout", 0)
        if late:
            problems.append(
                "%d attempts got no answer from ses-feedback within 15 s (nginx 504 "
                "\"upstream timed out\" or client timeout); %d attempts took over 5 s "
                "(slowest %.1fs)" % (late, len(stats.slow),
                                     max(x[2] for x in stats.slow) if stats.slow else 0))

        odd = unexplained(inj.faults, stats.log)
        if odd:
            problems.append("%d failed attempts outside every fault's window (without a "
                            "fault): %s" % (sum(odd.values()), dict(odd)))

        wall = time.monotonic() - t_start
        print("  N                      %d" % N)
        print("  wall time              %.1fs (delivery %.1fs, %.0f msg/s)" % (
            wall, t_deliver, N / t_deliver))
        print("  requests sent          %d" % stats.requests)
        print("  2xx / 4xx / 5xx        %d / %d / %d   %s" % (
            s2, s4, s5, dict(sorted(stats.status.items()))))
        print("  transport errors       %d   %s" % (terr, dict(stats.transport)))
        print("  failed outside faults  %d   %s" % (sum(odd.values()), dict(odd)))
        print("  retries                %d (messages retried: %d)" % (
            sum(retries), sum(1 for r in retries if r)))
        print("  max retries, 1 message %d" % max(retries or [0]))
        print("  max virtual delay      %.1fs of the %.0fs budget" % (
            max([m.vclock for m in plan.messages] or [0]), BUDGET))
        print("  given up               %d" % len(stats.given_up))
        print("  final 4xx failures     %d" % len(stats.failed))
        print("  lost                   %d (answered 2xx but not stored; not stored at all: "
              "%d)" % (figures["lost"], figures["missing"]))
        print("  duplicated             %d" % figures["duplicated"])
        print("  stored                 %d notifications, %d recipient events (want %d), "
              "%d suppressions (want %d)" % (figures["rows"], figures["events"],
                                             figures["events_wanted"], figures["suppressions"],
                                             figures["suppressions_wanted"]))
        if stats.slow:
            print("  attempts over 5s       %d: %s" % (len(stats.slow), stats.slow[:4]))
        for f in inj.faults:
            if f.t_inject is None:
                print("  fault %-16s not injected" % f.name)
                continue
            when = f.t_inject - t0
            failed = fault_figures(f, stats.log)
            if f.t_recovered is None:
                print("  fault %-16s at %5.1fs: NOT RECOVERED" % (f.name, when))
            else:
                print("  fault %-16s at %5.1fs: recovered %.2fs after it began (%.2fs after "
                      "it was cleared), %d failed attempts in its window" % (
                          f.name, when, f.t_recovered - f.t_inject,
                          f.t_recovered - f.t_clear, failed))
            for n in f.notes:
                print("        " + n)
            outcomes, other = fault_log(world, f)
            print("        serve log: " + (", ".join("%s/%s=%d" % (o, s, n) for (o, s), n in
                                                   sorted(outcomes.items())) or "-"))
            for line in other[:6]:
                print("          | " + line[:220])
            if len(other) > 6:
                print("          | ... %d more" % (len(other) - 6))
        for n in lnotes:
            print("  " + n)
        for p in problems:
            print("  PROBLEM: " + p)
        passed = not problems
    except KeyboardInterrupt:
        print("replay: interrupted")
    except Exception:
        traceback.print_exc()
    finally:
        stop.set()
        try:
            world.stop()
        finally:
            if signer:
                signer.close()
            world.cleanup()
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGINT, old_int)
    print("replay: %d passed, %d failed" % (1 if passed else 0, 0 if passed else 1))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
