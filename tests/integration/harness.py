# SPDX-License-Identifier: ISC
"""Integration harness: real PostgreSQL, nginx, spawn-fcgi, ses-feedback and
a local HTTPS server standing in for the SNS hosts, all under one temp dir,
all on loopback, always torn down.
"""
import atexit
import hashlib
import http.client
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The program as built: in the clone, which other users may not be able to
# reach (a clone in /root, mode 0700). Tests use BIN, its installed copy.
SRC_BIN = os.path.abspath(os.environ.get("SES_FEEDBACK_BIN", os.path.join(TOP, "ses-feedback")))
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
KEEP_TMP = bool(os.environ.get("SES_FEEDBACK_KEEP_TMP"))

# nginx, apache2 and pgbouncer live in /usr/sbin, which a user other than
# root does not have in PATH on Debian.
_path = os.environ.get("PATH", "/usr/bin:/bin").split(":")
os.environ["PATH"] = ":".join(_path + [d for d in ("/usr/sbin", "/sbin") if d not in _path])


class Skip(Exception):
    """Raised by a test that cannot run here; the runner counts it as
    skipped and prints the reason."""


def _reachable(path):
    """Every directory from / down to path is searchable by everyone, and
    the path has no white space (nginx and Apache configurations quote
    nothing)."""
    if any(c.isspace() for c in path):
        return False
    d = os.path.abspath(path)
    while True:
        try:
            if not os.stat(d).st_mode & 0o001:
                return False
        except OSError:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


def world_base():
    """A directory for test temp dirs that other users (postgres, nobody,
    www-data) can reach: $TMPDIR if it is, else /tmp."""
    for d in (tempfile.gettempdir(), "/tmp"):
        if _reachable(d):
            return d
    raise RuntimeError("neither %s nor /tmp is searchable by other users: the tests run "
                       "programs as postgres, nobody and www-data" % tempfile.gettempdir())


class Prefix:
    """The test install prefix: a 0755 directory under world_base() holding
    what other users execute or read, copied from the tree:
    sbin/ses-feedback (from SES_FEEDBACK_BIN or the top of the tree) and
    share/ses-feedback/{nginx,apache,sql}. Removed when the process exits
    (kept with SES_FEEDBACK_KEEP_TMP)."""

    DATA = ("nginx", "apache", "sql")

    def __init__(self):
        if not os.path.isfile(SRC_BIN):
            raise RuntimeError("%s not found: build it first (./autogen.sh && ./configure "
                               "&& make) or set SES_FEEDBACK_BIN" % SRC_BIN)
        self.dir = tempfile.mkdtemp(prefix="sesfb-prefix-", dir=world_base())
        os.chmod(self.dir, 0o755)
        sbin = os.path.join(self.dir, "sbin")
        os.mkdir(sbin, 0o755)
        self.bin = os.path.join(sbin, "ses-feedback")
        shutil.copyfile(SRC_BIN, self.bin)
        os.chmod(self.bin, 0o755)
        self.share = os.path.join(self.dir, "share", "ses-feedback")
        for d in self.DATA:
            shutil.copytree(os.path.join(TOP, d), os.path.join(self.share, d))
        for root, dirs, files in os.walk(self.dir):
            os.chmod(root, 0o755)
            for f in files:
                p = os.path.join(root, f)
                if p != self.bin:
                    os.chmod(p, 0o644)
        atexit.register(self.cleanup)

    def cleanup(self):
        if KEEP_TMP:
            print("# kept test prefix", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


_prefix = None


def prefix():
    global _prefix
    if _prefix is None:
        _prefix = Prefix()
    return _prefix


def __getattr__(name):
    """BIN (the installed program), SHARE (its data files) and PREFIX are
    made on first use, so importing the harness installs nothing."""
    if name == "BIN":
        return prefix().bin
    if name == "SHARE":
        return prefix().share
    if name == "PREFIX":
        return prefix().dir
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def snippet(name="ses-feedback.conf"):
    """The installed copy of a shipped nginx file."""
    return os.path.join(prefix().share, "nginx", name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if pred():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


class Tmp:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sesfb-", dir=world_base())
        os.chmod(self.dir, 0o755)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Postgres:
    """A throwaway cluster on a Unix socket in the temp dir (tmp/name). As
    root it runs as the postgres user, because initdb refuses root. Given
    primary, a streaming standby of it instead (pg_basebackup -R), reporting
    itself as application_name app_name; dsn names the sesfb database.
    fsync=True for a durable cluster (benchmarks); tests run without."""

    def __init__(self, tmp, name="pg", primary=None, app_name="standby", fsync=False):
        self.fsync = fsync
        self.base = tmp.path(name)
        self.data = os.path.join(self.base, "data")
        self.sock = self.base
        self.log = os.path.join(self.base, "postgres.log")
        os.makedirs(self.base)
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.dsn = "host=%s dbname=sesfb user=postgres" % self.sock
        if primary is not None:
            self._pg("pg_basebackup", "-D", self.data, "-h", primary.sock, "-U", "postgres",
                     "-R", "-X", "stream", "-c", "fast", "--no-sync")
            # Later lines of postgresql.auto.conf win over the copied ones;
            # promoted, a standby has no standby of its own to wait for.
            with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
                f.write("primary_conninfo = 'host=%s user=postgres application_name=%s'\n"
                        "synchronous_standby_names = ''\n" % (primary.sock, app_name))
            self.start()
            return
        self._pg("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync",
                 "-E", "UTF8")
        self.start()
        self.psql_admin("CREATE DATABASE sesfb")

    def _pg(self, prog, *args):
        r = run(self.as_user + [PGBIN + "/" + prog] + list(args))
        if r.returncode != 0:
            raise RuntimeError("%s failed: %s%s" % (prog, r.stderr, r.stdout))

    def start(self):
        self._pg("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-o",
                 "-k %s -c listen_addresses='' -c fsync=%s"
                 % (self.sock, "on" if self.fsync else "off"), "start")

    def stop(self, mode="fast"):
        return run(self.as_user + [PGBIN + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"])

    def promote(self):
        self._pg("pg_ctl", "-D", self.data, "-w", "promote")

    def psql_admin(self, sql, db="postgres"):
        r = run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.sock, "-U",
                 "postgres", "-d", db, "-c", sql])
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)

    def query(self, sql, db="sesfb"):
        """Rows as lists of strings (NULL as None)."""
        r = run(["psql", "-X", "-A", "-t", "-F", "\x1f", "-P", "null=\x01N", "-v",
                 "ON_ERROR_STOP=1", "-h", self.sock, "-U", "postgres", "-d", db, "-c", sql])
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        rows = []
        for line in r.stdout.split("\n"):
            if line == "":
                continue
            rows.append([None if c == "\x01N" else c for c in line.split("\x1f")])
        return rows

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None


class Certs:
    """A test CA, a TLS certificate for the SNS hosts, and SNS signing keys."""

    HOSTS = ["sns.us-east-1.amazonaws.com", "sns.eu-west-1.amazonaws.com",
             "sns.us-west-2.amazonaws.com", "sns.cn-north-1.amazonaws.com.cn"]

    def __init__(self, tmp=None, directory=None):
        d = directory or tmp.path("certs")
        os.makedirs(d, exist_ok=True)
        self.dir = d
        if os.path.exists(os.path.join(d, "signing.pem")):
            self._load()
            return
        self.ca_key = os.path.join(d, "ca.key")
        self.ca = os.path.join(d, "ca.pem")
        self._ossl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key,
                    "-out", self.ca, "-days", "2", "-subj", "/CN=ses-feedback test CA"])
        self.tls_key, self.tls = self.issue("tls", "sns.us-east-1.amazonaws.com", self.HOSTS)
        self.sign_key, self.sign_cert = self.self_signed("signing", "sns.amazonaws.com")
        self.other_key, self.other_cert = self.self_signed("other", "sns.amazonaws.com")
        self.evil_key, self.evil_cert = self.self_signed("evil", "evil.example.com")

    def _load(self):
        j = lambda n: os.path.join(self.dir, n)
        self.ca, self.ca_key = j("ca.pem"), j("ca.key")
        self.tls, self.tls_key = j("tls.pem"), j("tls.key")
        self.sign_cert, self.sign_key = j("signing.pem"), j("signing.key")
        self.other_cert, self.other_key = j("other.pem"), j("other.key")
        self.evil_cert, self.evil_key = j("evil.pem"), j("evil.key")

    def _ossl(self, args):
        r = run(["openssl"] + args)
        if r.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], r.stderr))

    def issue(self, name, cn, sans):
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join("DNS:" + h for h in sans) + "\n")
        self._ossl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + cn])
        self._ossl(["x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                    "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext])
        return key, crt

    def self_signed(self, name, cn):
        key = os.path.join(self.dir, name + ".key")
        crt = os.path.join(self.dir, name + ".pem")
        self._ossl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "2", "-subj", "/CN=" + cn])
        return key, crt


class FakeSNS:
    """HTTPS server standing in for sns.<region>.amazonaws.com: serves signing
    certificates and answers ConfirmSubscription. Every request is logged."""

    def __init__(self, certs, port=0):
        self.pems = {}            # path -> PEM text
        self.requests = []        # (host, path) in order
        self.confirm_status = 200
        self.confirm_delay = 0.0
        self.cert_delay = 0.0     # seconds before a certificate is served
        self.lock = threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with outer.lock:
                    outer.requests.append((self.headers.get("Host"), self.path))
                u = urllib.parse.urlsplit(self.path)
                if u.path in outer.pems:
                    time.sleep(outer.cert_delay)
                    self._send(200, outer.pems[u.path], "application/x-pem-file")
                elif u.path == "/" and "Action=ConfirmSubscription" in (u.query or ""):
                    q = urllib.parse.parse_qs(u.query)
                    arn = q.get("TopicArn", [""])[0] + ":5a0ed9e0-7d51-4a8b-9d2f-4f9c1b7e6a01"
                    body = ('<ConfirmSubscriptionResponse xmlns="http://sns.amazonaws.com/doc/'
                            '2010-03-31/"><ConfirmSubscriptionResult><SubscriptionArn>%s'
                            '</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata>'
                            '<RequestId>075ecce8-8dac-11e1-bf80-f781d96e9307</RequestId>'
                            '</ResponseMetadata></ConfirmSubscriptionResponse>' % arn)
                    time.sleep(outer.confirm_delay)
                    self._send(outer.confirm_status, body, "text/xml")
                else:
                    self._send(404, "not found", "text/plain")

            def _send(self, code, body, ctype):
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(http.server.ThreadingHTTPServer):
            # Every worker of a fresh serve fetches the certificate at
            # once: socketserver's backlog of 5 dropped the SYNs of the
            # others (a 1 s retransmit, past the program's connect
            # timeout), and a handshake done in accept() made each wait
            # for the ones before it. The handshake is each request's
            # thread's, on its first read.
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", port), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.tls, certs.tls_key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve_pem(self, cert_id, pem_file):
        with open(pem_file) as f:
            self.pems["/SimpleNotificationService-%s.pem" % cert_id] = f.read()

    def connect_to(self):
        return " ".join("%s:443:127.0.0.1:%d" % (h, self.port) for h in Certs.HOSTS)

    def count(self, pred=lambda h, p: True):
        with self.lock:
            return sum(1 for h, p in self.requests if pred(h, p))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Proc:
    """A child process with its output in a log file."""

    def __init__(self, cmd, log, env=None, stdin=None):
        self.log = log
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=env,
                                  stdin=stdin, start_new_session=True)

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=25):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.logf.close()
        return self.p.returncode

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode("utf-8", "replace")


class PgBouncer:
    """Debian's pgbouncer in transaction pooling mode in front of the
    cluster on pgsock, in a directory of its own under tmp (as the postgres
    user when we are root: pgbouncer refuses root). dsn reaches the sesfb
    database through it."""

    INI = """[databases]
sesfb = host={pgsock} dbname=sesfb user=postgres

[pgbouncer]
listen_addr =
listen_port = {port}
unix_socket_dir = {dir}
auth_type = trust
auth_file = {dir}/users.txt
pool_mode = transaction
default_pool_size = {pool}
max_client_conn = 100
logfile = {dir}/pgbouncer.log
pidfile = {dir}/pgbouncer.pid
ignore_startup_parameters = extra_float_digits
server_reset_query =
server_login_retry = 1
query_wait_timeout = 5
"""

    def __init__(self, tmp, pgsock, pool=2, name="pgb"):
        self.dir = tmp.path(name)
        os.makedirs(self.dir)
        self.port = free_port()
        with open(os.path.join(self.dir, "pgbouncer.ini"), "w") as f:
            f.write(self.INI.format(pgsock=pgsock, port=self.port, dir=self.dir, pool=pool))
        with open(os.path.join(self.dir, "users.txt"), "w") as f:
            f.write('"postgres" ""\n')
        as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            for p in [self.dir] + [os.path.join(self.dir, x) for x in os.listdir(self.dir)]:
                os.chown(p, pw.pw_uid, pw.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        self.proc = Proc(as_user + ["pgbouncer", os.path.join(self.dir, "pgbouncer.ini")],
                         tmp.path(name + ".out"))
        wait_for(lambda: os.path.exists(os.path.join(self.dir, ".s.PGSQL.%d" % self.port)),
                 10, "pgbouncer socket")
        self.dsn = "host=%s port=%d dbname=sesfb user=postgres" % (self.dir, self.port)

    def stop(self):
        self.proc.stop()


def service_env(extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SES_FEEDBACK_")}
    env.update(extra)
    return env


SERVICE_USER = "nobody"


def service_owned_dir(path):
    """A directory the service user owns, mode 0700 (as the certificate
    cache must be)."""
    os.makedirs(path, exist_ok=True)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(SERVICE_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    os.chmod(path, 0o700)
    return path


def serve_cmd(sock, workers=2, extra=()):
    """workers=None: no --workers, the program's default."""
    cmd = WRAPPER + [prefix().bin, "serve", "--listen", "unix:" + sock]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    cmd += ["--socket-mode", "0666"] + list(extra)
    if os.geteuid() == 0:
        cmd += ["--user", SERVICE_USER]
    return cmd


# SES_FEEDBACK_WRAPPER runs the program under a tool, such as valgrind.
WRAPPER = os.environ.get("SES_FEEDBACK_WRAPPER", "").split()


def start_serve(tmp, name, env, workers=2, extra=()):
    # like /run/ses-feedback: the service user's own directory
    sock = os.path.join(service_owned_dir(tmp.path("run")), name + ".sock")
    p = Proc(serve_cmd(sock, workers, extra), tmp.path(name + ".log"), env=service_env(env))
    wait_for(lambda: os.path.exists(sock) and p.alive(), timeout=30 if WRAPPER else 10,
             what="serve socket " + sock)
    return p, sock


def start_spawn_fcgi(tmp, name, env, children=2):
    """spawn-fcgi binds the socket and starts the program with it on fd 0,
    as an unprivileged user when we are root. Returns the child pids."""
    sock = tmp.path(name + ".sock")
    log = tmp.path(name + ".log")
    pidf = tmp.path(name + ".pid")
    args = ["spawn-fcgi", "-s", sock, "-M", "0666", "-F", str(children), "-P", pidf]
    if os.geteuid() == 0:
        args += ["-u", "nobody", "-g", "nogroup"]
    with open(log, "ab") as f:
        r = subprocess.run(args + ["--"] + WRAPPER + [prefix().bin], stdout=f,
                           stderr=subprocess.STDOUT, env=service_env(env))
    if r.returncode != 0:
        raise RuntimeError("spawn-fcgi failed: " + open(log).read())
    wait_for(lambda: os.path.exists(sock), what="spawn-fcgi socket")
    with open(pidf) as f:
        pids = [int(x) for x in f.read().split()]
    return pids, sock


def kill_pids(pids, timeout=10):
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.time() + timeout
    for p in pids:
        while time.time() < end:
            try:
                os.kill(p, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


NGINX_MAIN = """
daemon off;
master_process on;
worker_processes {processes};
pid {tmp}/{name}.pid;
error_log {tmp}/{name}-error.log info;
{user}
events {{ worker_connections {connections}; }}
http {{
    access_log {tmp}/{name}-access.log;
    client_body_temp_path {tmp}/{name}-body;
    fastcgi_temp_path {tmp}/{name}-fastcgi;
    proxy_temp_path {tmp}/{name}-proxy;
    uwsgi_temp_path {tmp}/{name}-uwsgi;
    scgi_temp_path {tmp}/{name}-scgi;
{http}
}}
"""


class Nginx:
    """processes and connections: worker_processes and worker_connections
    (benchmarks use Debian's nginx.conf values, auto and 768)."""

    def __init__(self, tmp, name, http_block, processes=1, connections=512):
        self.port = free_port()
        conf_dir = tmp.path(name + "-conf")
        os.makedirs(conf_dir)
        # `include fastcgi_params;` in the shipped snippet resolves here.
        shutil.copy(find_fastcgi_params(), os.path.join(conf_dir, "fastcgi_params"))
        conf = os.path.join(conf_dir, "nginx.conf")
        user = "user root root;" if os.geteuid() == 0 else ""
        with open(conf, "w") as f:
            f.write(NGINX_MAIN.format(tmp=tmp.dir, name=name, user=user, processes=processes,
                                      connections=connections,
                                      http=http_block.replace("@PORT@", str(self.port))))
        self.conf = conf
        r = run(["nginx", "-t", "-p", tmp.dir, "-c", conf])
        if r.returncode != 0:
            raise RuntimeError("nginx -t: " + r.stderr)
        self.proc = Proc(["nginx", "-p", tmp.dir, "-c", conf], tmp.path(name + ".out"))
        wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 0.2).close() or True,
                 what="nginx port")

    def reload(self):
        self.proc.p.send_signal(signal.SIGHUP)

    def stop(self):
        self.proc.stop(signal.SIGQUIT)


def find_fastcgi_params():
    for p in ("/etc/nginx/fastcgi_params", "/usr/share/nginx/fastcgi_params"):
        if os.path.exists(p):
            return p
    raise RuntimeError("nginx fastcgi_params not found: apt-get install nginx-light")


def request(port, method, path, body=None, headers=None, timeout=20):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        c.close()


# ---- SES fixtures ----------------------------------------------------------

FIXTURES = os.path.join(TOP, "tests", "fixtures", "ses")


def fresh_feedback_id(d):
    """Give a parsed SES message's feedbackId a unique suffix, so that the
    same AWS example can stand for several distinct bounces (ses-feedback
    counts one feedback id per recipient once). Returns True if it had one."""
    for key in ("bounce", "complaint"):
        if isinstance(d.get(key), dict) and "feedbackId" in d[key]:
            d[key]["feedbackId"] += "-" + uuid.uuid4().hex[:8]
            return True
    return False


def fixture(name, fresh=True):
    """A fixture's text; fresh gives its feedbackId a unique suffix."""
    with open(os.path.join(FIXTURES, name)) as f:
        text = f.read()
    if not fresh:
        return text
    d = json.loads(text)
    return json.dumps(d, indent=2) if fresh_feedback_id(d) else text


# ---- the world ---------------------------------------------------------------

CERT_ID = "0123456789abcdef0123456789abcdef"


class World:
    """One test world, started once per suite and always torn down: a
    throwaway PostgreSQL with the schema migrated, the test CA and SNS
    signing keys, the HTTPS SNS stand-in serving the signing certificate(s),
    a certificate cache the service user owns, `ses-feedback serve` on a
    Unix socket, and nginx with the shipped snippet in one location per
    entry of locations(), the configuration in fastcgi_param lines.

    Suites pass options or subclass: locations() for more nginx locations,
    start_service() for another way to run the program, make_sns() for
    another stand-in; serve=False or nginx=False leave those out (a suite
    with a front end of its own starts it on top)."""

    def __init__(self, topics, pems=None, workers=2, serve_args=(), serve_env=None,
                 serve=True, nginx=True, server_options="", upstream_options="",
                 name="serve"):
        self.topics = topics                  # SES_FEEDBACK_TOPICS of the locations
        self.pems = pems or {CERT_ID: "sign_cert"}  # cert id -> Certs attribute
        self.serve_workers = workers
        self.serve_args = list(serve_args)
        self.serve_env_extra = dict(serve_env or {})
        self.with_serve = serve
        self.with_nginx = nginx
        self.server_options = server_options  # lines inside nginx's server block
        self.upstream_options = upstream_options
        self.name = name
        self.tmp = self.pg = self.certs = self.sns = self.serve = self.nginx = None
        self.sock = self.port = self.cache = None
        self.serve_env = {}

    # -- start-up --------------------------------------------------------------

    def start(self):
        self.tmp = Tmp()
        errors = []
        # PostgreSQL and the certificates take the longest: in parallel.
        t = threading.Thread(target=self._start_pg, args=(errors,))
        t.start()
        try:
            self.certs = Certs(self.tmp)
            self.more_certs()
        finally:
            t.join()
        if errors:
            raise errors[0]
        self.sns = self.make_sns()
        for cert_id, attr in self.pems.items():
            self.sns.serve_pem(cert_id, getattr(self.certs, attr))
        self.cache = service_owned_dir(self.tmp.path("certcache"))
        r = run([prefix().bin, "migrate"], env=service_env({"SES_FEEDBACK_DSN": self.pg.dsn}))
        if r.returncode != 0:
            raise RuntimeError("migrate: " + r.stderr + r.stdout)
        self.serve_env = dict({"SES_FEEDBACK_DSN": self.pg.dsn}, **self.serve_env_extra)
        if self.with_serve:
            self.start_service()
        if self.with_nginx:
            self.nginx = Nginx(self.tmp, "nx", self.nginx_http())
            self.port = self.nginx.port

    def _start_pg(self, errors):
        try:
            self.pg = Postgres(self.tmp)
        except Exception as e:  # raised again by start()
            errors.append(e)

    def more_certs(self):
        """Hook: certificates a suite makes besides Certs (in parallel with
        PostgreSQL's start)."""

    def make_sns(self):
        return FakeSNS(self.certs)

    def start_service(self):
        """Start the program: `serve` with serve_env (the program's own
        environment) on self.sock."""
        self.serve, self.sock = start_serve(self.tmp, self.name, self.serve_env,
                                            workers=self.serve_workers, extra=self.serve_args)

    # -- nginx -----------------------------------------------------------------

    def connect_to(self):
        return self.sns.connect_to()

    def params(self, **over):
        """fastcgi_param lines: this world's configuration, with overrides."""
        p = {"SES_FEEDBACK_DSN": self.pg.dsn, "SES_FEEDBACK_TOPICS": self.topics,
             "SES_FEEDBACK_CA_FILE": self.certs.ca,
             "SES_FEEDBACK_CONNECT_TO": self.connect_to(),
             "SES_FEEDBACK_CERT_CACHE": self.cache}
        p.update(over)
        return "".join('        fastcgi_param %s "%s";\n' % kv for kv in p.items())

    def location(self, path, **over):
        return ("    location = %s {\n%s        include %s;\n    }\n"
                % (path, self.params(**over), snippet()))

    def locations(self):
        """(path, overrides) of each nginx location."""
        return [("/sns", {})]

    def nginx_http(self):
        return ("upstream ses_feedback { server unix:%s;%s }\n"
                "server {\n    listen 127.0.0.1:@PORT@;\n%s" % (
                    self.sock, self.upstream_options,
                    "".join("    %s\n" % l for l in self.server_options.splitlines() if l))
                + "".join(self.location(p, **o) for p, o in self.locations())
                + "}\n")

    # -- what tests use ----------------------------------------------------------

    def signed(self, message, topic, key=None, cert_id=CERT_ID, **kw):
        """A signed envelope carrying message (see sns_signer.envelope)."""
        import sns_signer as S
        env = S.envelope(topic, message, cert=S.cert_url(topic, cert_id), **kw)
        return S.sign(env, key or self.certs.sign_key)

    def post(self, env, path="/sns", headers=None, body=None, port=None):
        """POST env (or body) with SNS's headers; (status, headers, text)."""
        import sns_signer as S
        h = S.headers_for(env) if env is not None else {}
        if headers:
            h.update(headers)
        h = {k: v for k, v in h.items() if v is not None}
        data = body if body is not None else json.dumps(env, indent=2).encode()
        return request(port or self.port, "POST", path, body=data, headers=h)

    def count(self, table, where="true"):
        return int(self.pg.scalar("SELECT count(*) FROM ses_feedback.%s WHERE %s"
                                  % (table, where)))

    def cache_file(self, url, **over):
        """The disk cache file the program keeps url's certificate in, for
        a location with this world's parameters (and overrides): as
        src/cert.c names it, sha256 of the URL, the CA file and the
        CONNECT_TO list (the trust context), one per line."""
        ca = over.get("SES_FEEDBACK_CA_FILE", self.certs.ca)
        ct = over.get("SES_FEEDBACK_CONNECT_TO", self.connect_to())
        key = "%s\n%s\n%s" % (url, ca, ct)
        return os.path.join(self.cache, hashlib.sha256(key.encode()).hexdigest() + ".pem")

    def stored(self, env):
        return self.count("notifications", "sns_message_id = '%s'" % env["MessageId"])

    def is_suppressed(self, email):
        return self.pg.scalar("SELECT ses_feedback.is_suppressed('%s')" % email) == "t"

    # -- tear-down ---------------------------------------------------------------

    def stop_processes(self):
        """Hook: stop what a suite started on top, before the world's own."""

    def stop(self, cleanup=True):
        """Stop everything (each step even if another failed); remove the
        temp dir unless cleanup is False or SES_FEEDBACK_KEEP_TMP is set."""
        steps = [self.stop_processes,
                 lambda: self.nginx and self.nginx.stop(),
                 lambda: self.serve and self.serve.stop(),
                 lambda: self.sns and self.sns.close(),
                 lambda: self.pg and self.pg.stop()]
        for f in steps:
            try:
                f()
            except Exception:
                pass
        if cleanup:
            self.cleanup()

    def cleanup(self):
        if self.tmp is None:
            return
        if KEEP_TMP:
            print("# kept", self.tmp.dir)
        else:
            self.tmp.cleanup()
