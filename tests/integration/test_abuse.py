# SPDX-License-Identifier: ISC
"""Slow and abusive clients, and privileges: a stalled or dribbling client
never holds a worker for long, the service keeps answering others, and it
refuses to serve as root."""
import json
import os
import socket
import struct
import subprocess
import threading
import time

import harness as H
import sns_signer as S
import test_core as C


class AbuseWorld(H.World):
    """One worker with a 2 s I/O timeout behind nginx with short client
    timeouts; the program's configuration is in its own environment too, so
    that an nginx without fastcgi_param lines (keepalive test) reaches it."""

    def __init__(self):
        super().__init__(C.ALLOWED, workers=1, serve_args=["--io-timeout", "2"], name="slow",
                         server_options="client_body_timeout 3s;\nclient_header_timeout 3s;")

    def start_service(self):
        self.serve_env.update({"SES_FEEDBACK_TOPICS": C.ALLOWED,
                               "SES_FEEDBACK_CA_FILE": self.certs.ca,
                               "SES_FEEDBACK_CONNECT_TO": self.sns.connect_to()})
        super().start_service()


W = AbuseWorld()


def setup():
    W.start()


def teardown():
    W.stop()


def fcgi_record(rtype, req_id, content):
    pad = (8 - len(content) % 8) % 8
    return struct.pack("!BBHHBx", 1, rtype, req_id, len(content), pad) + content + b"\0" * pad


def test_stalled_fastcgi_connection_is_dropped_after_io_timeout():
    """A client that opens a FastCGI request on the socket and stalls holds
    the only worker for --io-timeout (2 s), no longer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(W.sock)
    s.sendall(fcgi_record(1, 1, struct.pack("!HB5x", 1, 0)))  # BEGIN_REQUEST, then nothing
    t0 = time.time()
    st, _, _ = H.request(W.nginx.port, "GET", "/sns", timeout=15)
    took = time.time() - t0
    assert st == 200, st
    assert took < 6, "a stalled client held the worker for %.1fs" % took
    s.settimeout(5)
    try:
        got = s.recv(100)
        assert got == b"", "stalled connection should have been closed: %r" % got
    except ConnectionResetError:
        pass
    s.close()


def test_client_stalling_after_headers_does_not_block_others():
    env = W.signed(H.fixture("sim-success.json"), C.TOPIC)
    body = json.dumps(env).encode()
    s = socket.create_connection(("127.0.0.1", W.nginx.port))
    s.sendall(b"POST /sns HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
    others = [H.request(W.nginx.port, "GET", "/sns", timeout=10)[0] for _ in range(5)]
    assert others == [200] * 5, others
    s.settimeout(10)
    data = s.recv(4096)  # nginx gives up on the body after client_body_timeout
    assert b"408" in data or data == b"", data[:80]
    s.close()


def test_dribbled_body_is_served_others_meanwhile():
    env = W.signed(H.fixture("sim-success.json"), C.TOPIC)
    body = json.dumps(env).encode()
    s = socket.create_connection(("127.0.0.1", W.nginx.port))
    head = "POST /sns HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n" % len(body)
    for k, v in S.headers_for(env).items():
        head += "%s: %s\r\n" % (k, v)
    s.sendall(head.encode() + b"\r\n")
    results = []

    def others():
        for _ in range(4):
            results.append(H.request(W.nginx.port, "GET", "/sns", timeout=10)[0])
    t = threading.Thread(target=others)
    t.start()
    for i in range(0, len(body), max(1, len(body) // 8)):
        s.sendall(body[i:i + max(1, len(body) // 8)])
        time.sleep(0.2)
    t.join()
    s.settimeout(10)
    resp = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    assert resp.startswith(b"HTTP/1.1 200"), resp[:60]
    assert results == [200] * 4, results
    assert W.stored(env) == 1


def test_many_connections_beyond_workers_all_answered():
    """40 concurrent POSTs against one worker: all answered correctly."""
    envs = [W.signed(H.fixture("sim-bounce.json"), C.TOPIC) for _ in range(40)]
    out = []

    def go(e):
        out.append(W.post(e)[0])
    ts = [threading.Thread(target=go, args=(e,)) for e in envs]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert sorted(out) == [200] * 40, out
    assert all(W.stored(e) == 1 for e in envs)


def test_refuses_to_serve_as_root():
    if os.geteuid() != 0:
        raise H.Skip("needs root (checks the refusal to serve as root)")
    r = H.run([H.BIN, "serve", "--listen", "unix:" + W.tmp.path("root.sock")])
    assert r.returncode == 1 and "refusing to serve as root" in r.stderr, r.stderr
    assert not os.path.exists(W.tmp.path("root.sock"))
    r = subprocess.run([H.BIN], input=b"{}", capture_output=True,
                       env=H.service_env({"GATEWAY_INTERFACE": "CGI/1.1",
                                          "REQUEST_METHOD": "POST"}))
    assert r.returncode == 1 and b"refusing to serve CGI as root" in r.stderr, r.stderr
    assert r.stdout == b""


def test_dropped_privileges_and_safe_modes():
    if os.geteuid() != 0:
        raise H.Skip("needs root (serve --user drops to %s)" % H.SERVICE_USER)
    import pwd
    nobody = pwd.getpwnam(H.SERVICE_USER).pw_uid
    st = os.stat(W.sock)
    assert st.st_uid == nobody, st
    pids = [W.serve.p.pid] + [int(x) for x in
                              H.run(["pgrep", "-P", str(W.serve.p.pid)]).stdout.split()]
    for pid in pids:
        with open("/proc/%d/status" % pid) as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        assert uids == [str(nobody)] * 4, (pid, uids)
    # an unsafe cache directory is not used
    bad = W.tmp.path("badcache")
    os.makedirs(bad)
    os.chmod(bad, 0o777)
    e = dict(W.serve_env, SES_FEEDBACK_CERT_CACHE=bad)
    env = W.signed(H.fixture("sim-success.json"), C.TOPIC)
    r = C.cgi_run(env, e, world=W)
    assert r.stdout.startswith("Status: 200"), r.stdout
    assert "writable by no one else" in r.stderr, r.stderr
    assert os.listdir(bad) == []


def test_kept_connections_do_not_starve_new_ones():
    """Even when nginx is told to keep FastCGI connections open (keepalive
    8, which the shipped snippet does not do) to a single worker, an idle
    kept connection is given up as soon as another connection waits, so no
    request waits for the I/O timeout."""
    nx = H.Nginx(W.tmp, "nxkeep",
                 "upstream ses_feedback { server unix:%s; keepalive 8; }\n"
                 "server {\n listen 127.0.0.1:@PORT@;\n location = /sns {\n"
                 "  fastcgi_keep_conn on;\n"
                 "  include %s;\n }\n}\n" % (W.sock, H.snippet()))
    try:
        times = []

        def go():
            for _ in range(5):
                t0 = time.time()
                st = H.request(nx.port, "GET", "/sns", timeout=10)[0]
                times.append((st, time.time() - t0))
        ts = [threading.Thread(target=go) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert len(times) == 30 and all(st == 200 for st, _ in times), times
        worst = max(d for _, d in times)
        assert worst < 1.5, "a request waited %.2fs (io-timeout is 2s)" % worst
    finally:
        nx.stop()
