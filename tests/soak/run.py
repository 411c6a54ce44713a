# SPDX-License-Identifier: ISC
"""Memory and descriptors stay flat: one worker serves N requests (default
20,000; SOAK_N=200000 for the long run) of every kind, and its RSS and open
descriptors after N are compared with those after 1,000.

Prints the figures and ends with `soak: 1 passed, 0 failed` (or the reverse).
"""
import http.client
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, ".."))
import harness as H  # noqa: E402
import sns_signer as S  # noqa: E402
import test_core as C  # noqa: E402

N = int(os.environ.get("SOAK_N", "20000"))
WARM = 1000
RSS_MARGIN_KB = int(os.environ.get("SOAK_RSS_MARGIN_KB", "1024"))


def worker_stats(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def main():
    C.W.start()
    ok = False
    try:
        env = {"SES_FEEDBACK_DSN": C.W.pg.dsn, "SES_FEEDBACK_TOPICS": C.ALLOWED,
               "SES_FEEDBACK_CA_FILE": C.W.certs.ca,
               "SES_FEEDBACK_CONNECT_TO": C.W.sns.connect_to(),
               "SES_FEEDBACK_CERT_CACHE": C.W.cache, "SES_FEEDBACK_LOG_LEVEL": "warn"}
        serve, sock = H.start_serve(C.W.tmp, "soak", env, workers=1)
        nx = H.Nginx(C.W.tmp, "nxsoak",
                     "upstream ses_feedback { server unix:%s; }\n"
                     "server {\n listen 127.0.0.1:@PORT@;\n access_log off;\n"
                     " location = /sns {\n  include %s;\n }\n}\n"
                     % (sock, H.snippet()))
        pid = int(H.run(["pgrep", "-P", str(serve.p.pid)]).stdout.split()[0])
        # The mix: new notifications (stored), the same again (verified,
        # duplicate), health checks, malformed bodies (400), a topic that is
        # not allowed (403), a bad signature (403), other methods (405).
        names = ["sim-bounce.json", "sim-complaint.json", "sim-success.json",
                 "event-delivery.json", "event-open.json"]
        fresh = [C.signed(C.fixture(names[i % 5]), version=1 + i % 2) for i in range(300)]
        bad_sig = C.signed(C.fixture("sim-bounce.json"))
        bad_sig["Message"] = bad_sig["Message"].replace("bounce@", "b0unce@")
        other = C.signed(C.fixture("sim-bounce.json"), topic=C.OTHER_ACCOUNT_TOPIC)

        def req(i):
            k = i % 10
            if k < 4:
                e = fresh[i % len(fresh)]
                return "POST", json.dumps(e), S.headers_for(e)
            if k < 6:
                return "GET", None, {}
            if k == 6:
                return "POST", '{"Type": "Notification"', {}
            if k == 7:
                return "POST", json.dumps(other), S.headers_for(other)
            if k == 8:
                return "POST", json.dumps(bad_sig), S.headers_for(bad_sig)
            return "PUT", "x", {}

        counts = {}
        lock = threading.Lock()
        marks = {}

        def drive(start, stop, step):
            c = http.client.HTTPConnection("127.0.0.1", nx.port, timeout=30)
            for i in range(start, stop, step):
                m, body, hdrs = req(i)
                for _ in range(3):
                    try:
                        c.request(m, "/sns", body=body, headers=hdrs)
                        r = c.getresponse()
                        r.read()
                        break
                    except (http.client.HTTPException, OSError):
                        c.close()
                        c = http.client.HTTPConnection("127.0.0.1", nx.port, timeout=30)
                with lock:
                    counts[r.status] = counts.get(r.status, 0) + 1
            c.close()

        def phase(a, b, threads=4):
            ts = [threading.Thread(target=drive, args=(a + t, b, threads)) for t in range(threads)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        t0 = time.time()
        phase(0, WARM)
        marks["warm"] = worker_stats(pid)
        phase(WARM, N)
        marks["end"] = worker_stats(pid)
        took = time.time() - t0
        still = int(H.run(["pgrep", "-P", str(serve.p.pid)]).stdout.split()[0])
        (rss0, fd0), (rss1, fd1) = marks["warm"], marks["end"]
        print("soak: %d requests in %.1fs (%.0f/s), statuses %s" %
              (N, took, N / took, dict(sorted(counts.items()))))
        print("soak: worker %d RSS %d KiB after %d, %d KiB after %d (%+d KiB); "
              "fds %d -> %d" % (pid, rss0, WARM, rss1, N, rss1 - rss0, fd0, fd1))
        expect = {200, 400, 403, 405}
        ok = (still == pid and set(counts) <= expect and sum(counts.values()) == N and
              rss1 - rss0 <= RSS_MARGIN_KB and fd1 == fd0)
        if not ok:
            print("soak: FAILED (worker replaced: %s, statuses %s, RSS growth %d KiB > %d, "
                  "fds %d -> %d)" % (still != pid, counts, rss1 - rss0, RSS_MARGIN_KB, fd0, fd1))
        nx.stop()
        serve.stop()
    finally:
        C.W.stop()
    print("soak: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
