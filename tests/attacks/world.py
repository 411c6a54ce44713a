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
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))

import harness as H  # noqa: E402
import sns_signer as S  # noqa: E402
from certs import AttackCerts  # noqa: E402

CERT_ID = H.CERT_ID
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


class World(H.World):
    """The shared world with the corpus's stand-in (AttackSNS), its own
    certificates (acerts, on top of the harness's certs), keep-alive FastCGI
    connections, and the locations the cases name."""

    def __init__(self):
        super().__init__(ALLOWED, upstream_options=" keepalive 4;")

    def more_certs(self):
        self.acerts = AttackCerts(self.certs, self.tmp.path("attack-certs"))

    def make_sns(self):
        return AttackSNS(self.certs)

    def connect_to(self):
        return self.sns.connect_to_all()

    def locations(self):
        return [("/sns", {}),
                ("/sns-small", {"SES_FEEDBACK_MAX_BODY": "4096"}),
                ("/sns-manual", {"SES_FEEDBACK_AUTO_CONFIRM": "off"}),
                ("/sns-v2only", {"SES_FEEDBACK_MIN_SIGNATURE_VERSION": "2"}),
                # '*' in the partition and region fields, as operators write
                # it (the shipped examples have arn:aws:sns:*:ACCOUNT:ses-*)
                ("/sns-anyregion", {"SES_FEEDBACK_TOPICS": "arn:*:sns:*:123456789012:ses-*"})]

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
