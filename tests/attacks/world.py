# SPDX-License-Identifier: ISC
"""The attack corpus's own test world: the integration harness's pieces
(PostgreSQL, test CA, SNS stand-in, `ses-feedback serve`, nginx with the
shipped snippet), plus what the corpus needs on top of the stand-in:
answers chosen per path (a certificate body with padding, no length,
a status) and per ConfirmSubscription token (a redirect)."""
import os
import socket
import ssl
import sys
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness as H  # noqa: E402
import sns_signer as S  # noqa: E402
from certs import AttackCerts  # noqa: E402

CERT_ID = "0123456789abcdef0123456789abcdef"
ALLOWED = ("arn:aws:sns:us-east-1:123456789012:ses-*, "
           "arn:aws:sns:eu-west-1:123456789012:ses-eu, "
           "arn:aws-cn:sns:cn-north-1:123456789012:ses-cn, "
           "arn:aws:sns:ap-south-1:123456789012:ses-probe")


class AttackSNS(H.FakeSNS):
    """FakeSNS with two more kinds of answer, both logged like the rest:
    raw[path] = {status, headers, body (bytes), chunked} and
    confirm[token] = {status, headers, body} for ConfirmSubscription."""

    def __init__(self, certs):
        super().__init__(certs)
        self.raw = {}
        self.confirm = {}
        outer = self
        base = self.httpd.RequestHandlerClass

        class Handler(base):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                spec = outer.raw.get(u.path)
                if spec is None and u.path == "/" and "Action=ConfirmSubscription" in (u.query or ""):
                    tok = urllib.parse.parse_qs(u.query).get("Token", [""])[0]
                    spec = outer.confirm.get(tok)
                if spec is None:
                    return base.do_GET(self)
                with outer.lock:
                    outer.requests.append((self.headers.get("Host"), self.path))
                try:
                    self._answer(spec)
                except (OSError, ssl.SSLError):
                    pass  # the client hung up (as it should on an oversized body)

            def _answer(self, spec):
                body = spec.get("body", b"")
                self.send_response(spec.get("status", 200))
                for k, v in spec.get("headers", {}).items():
                    self.send_header(k, v)
                if spec.get("chunked"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 4096):
                        part = body[i:i + 4096]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self.httpd.RequestHandlerClass = Handler

        # Log every TCP connection and every TLS server name asked for, not
        # only the HTTP requests: with the catch-all CONNECT_TO entry every
        # outgoing HTTPS attempt of ses-feedback, to any host and port,
        # lands here, so even a fetch that would fail its TLS name check
        # (evil.tld, an IP address) leaves a trace.
        self.connections = []
        listening = self.httpd.socket
        ctx = listening.context

        def sni(sslobj, name, context):
            with outer.lock:
                outer.connections.append("tls server name %s" % name)

        ctx.sni_callback = sni

        def get_request():
            sock, addr = socket.socket.accept(listening)
            with outer.lock:
                outer.connections.append("connection")
            return ctx.wrap_socket(sock, server_side=True), addr

        self.httpd.get_request = get_request

    def snapshot(self):
        with self.lock:
            return len(self.requests), len(self.connections)

    def since(self, snap):
        with self.lock:
            return (["%s %s" % (h, p) for h, p in self.requests[snap[0]:]],
                    self.connections[snap[1]:])

    def connect_to_all(self):
        """The SNS hosts, then every other host and port: all to us."""
        return self.connect_to() + " ::127.0.0.1:%d" % self.port


class World:
    def start(self):
        self.tmp = H.Tmp()
        errors = []
        # PostgreSQL and the certificates take the longest: in parallel.
        t = threading.Thread(target=self._pg, args=(errors,))
        t.start()
        self.hcerts = H.Certs(self.tmp)
        self.certs = AttackCerts(self.hcerts, self.tmp.path("attack-certs"))
        t.join()
        if errors:
            raise errors[0]
        self.sns = AttackSNS(self.hcerts)
        self.sns.serve_pem(CERT_ID, self.hcerts.sign_cert)
        self.cache = self.tmp.path("certcache")
        if hasattr(H, "service_owned_dir"):  # the cache must be the service user's own
            H.service_owned_dir(self.cache)
        else:
            os.makedirs(self.cache)
        r = H.run([H.BIN, "migrate"], env=H.service_env({"SES_FEEDBACK_DSN": self.pg.dsn}))
        if r.returncode != 0:
            raise RuntimeError("migrate: " + r.stderr)
        self.serve, self.sock = H.start_serve(self.tmp, "serve",
                                              {"SES_FEEDBACK_DSN": self.pg.dsn}, workers=2)
        self.nginx = H.Nginx(self.tmp, "nx", self.nginx_http())
        self.port = self.nginx.port

    def _pg(self, errors):
        try:
            self.pg = H.Postgres(self.tmp)
        except Exception as e:  # reported by start()
            errors.append(e)

    def params(self, **over):
        p = {"SES_FEEDBACK_DSN": self.pg.dsn, "SES_FEEDBACK_TOPICS": ALLOWED,
             "SES_FEEDBACK_CA_FILE": self.hcerts.ca,
             "SES_FEEDBACK_CONNECT_TO": self.sns.connect_to_all(),
             "SES_FEEDBACK_CERT_CACHE": self.cache}
        p.update(over)
        return "".join('        fastcgi_param %s "%s";\n' % kv for kv in p.items())

    def location(self, path, **over):
        return ("    location = %s {\n%s        include %s;\n    }\n"
                % (path, self.params(**over), H.snippet()))

    def nginx_http(self):
        return ("upstream ses_feedback { server unix:%s; keepalive 4; }\n"
                "server {\n    listen 127.0.0.1:@PORT@;\n" % self.sock
                + self.location("/sns")
                + self.location("/sns-small", SES_FEEDBACK_MAX_BODY="4096")
                + self.location("/sns-manual", SES_FEEDBACK_AUTO_CONFIRM="off")
                + self.location("/sns-v2only", SES_FEEDBACK_MIN_SIGNATURE_VERSION="2")
                # '*' in the partition and region fields, as operators write
                # it (the shipped examples have arn:aws:sns:*:ACCOUNT:ses-*)
                + self.location("/sns-anyregion",
                                SES_FEEDBACK_TOPICS="arn:*:sns:*:123456789012:ses-*")
                + "}\n")

    def log_size(self):
        try:
            return os.path.getsize(self.serve.log)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.serve.log, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def cache_listing(self):
        return sorted(os.listdir(self.cache))

    def stop(self):
        for f in (lambda: self.nginx.stop(), lambda: self.serve.stop(),
                  lambda: self.sns.close(), lambda: self.pg.stop()):
            try:
                f()
            except Exception:
                pass
        if os.environ.get("SES_FEEDBACK_KEEP_TMP"):
            print("# kept", self.tmp.dir)
        else:
            self.tmp.cleanup()
