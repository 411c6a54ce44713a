# SPDX-License-Identifier: ISC
"""Smoke run of bench/throughput: a short run on a small corpus must print
every figure, have nothing but 2xx, and store exactly what was answered
2xx (plus what was in flight when wrk stopped, which nginx logs as 499).
Its timings are not judged: the benchmark is not part of pass/fail."""
import os
import re
import shutil
import subprocess
import sys

import harness as H

BENCH = os.path.join(H.TOP, "bench", "throughput")
D = type("D", (), {})()

FIGURES = [
    ("rate", r"ses-feedback rate: +([\d.]+) 2xx/s \((\d+) x 2xx"),
    ("pgbench", r"pgbench rate: +([\d.]+) tps \((\d+) transactions, (\d+) failed"),
    ("ratio", r"ratio ses-feedback / pgbench: +([\d.]+)"),
    ("non2xx", r"non-2xx \(wrk, by status\): +(\d+) "),
    ("errors", r"wrk socket errors: +connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
    ("stored", r"rows stored: +(\d+) notifications"),
    ("ids", r"2xx'd MessageIds \(nginx\): +(\d+), stored exactly once (\d+), lost (\d+), "
            r"stored twice (\d+)"),
    ("inflight", r"stored without a 2xx: +(\d+) \((\d+) of them nginx 499"),
    ("match", r"stored == 2xx'd MessageIds \+ in flight: +(\S+)"),
    ("latency", r"latency \(wrk\): +p50 ([\d.]+) ms, p90 [\d.]+ ms, p99 ([\d.]+) ms"),
    ("cpu_sesfb", r"CPU per notification: ses-feedback: +(\d+) us"),
    ("cpu_nginx", r"CPU per notification: nginx: +(\d+) us"),
    ("cpu_pg", r"CPU per notification: PostgreSQL: +(\d+) us"),
    ("cpu_tx", r"PostgreSQL CPU per pgbench transaction: +(\d+) us"),
    ("rss", r"worker RSS \(max VmRSS of the workers\): +before ([\d.]+) MiB, after ([\d.]+) MiB"),
    ("target", r"target rate >= 0.6 x pgbench: +(met|NOT met)"),
    ("allows", r"CPU per notification the rate target allows: +(\d+) us \((\d+) CPUs / "
               r"\(0.6 x (\d+) tps\)\); ses-feedback, nginx and PostgreSQL spend (\d+) us"),
    ("at_targets", r"with the two CPU targets met: +(\d+) us \(ses-feedback 120, PostgreSQL "
                   r"1.3 x (\d+), nginx (\d+); wrk not counted\): a ratio of at most ([\d.]+)"),
    ("idle", r"machine CPU while wrk sent: +([\d.]+) s busy of ([\d.]+) s x (\d+) CPUs "
             r"\((\d+) % idle\)"),
]


def setup():
    D.tmp = H.Tmp()


def teardown():
    D.tmp.cleanup()


def test_smoke_run():
    if not shutil.which("wrk"):
        raise H.Skip("wrk is not installed (tests/install-deps.sh)")
    if not os.path.exists(os.path.join(H.PGBIN, "pgbench")):
        raise H.Skip("pgbench not in " + H.PGBIN)
    env = dict(os.environ, SES_FEEDBACK_BIN=H.SRC_BIN)
    # 8,000 messages: 2 s at up to 4,000/s without sending one twice
    r = subprocess.run([sys.executable, BENCH, "--seconds", "2", "--corpus-size", "8000",
                        "--corpus-dir", D.tmp.path("corpus")],
                       capture_output=True, text=True, env=env, timeout=120)
    out = r.stdout
    assert r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, out, r.stderr)
    got = {}
    for name, rx in FIGURES:
        m = re.search(rx, out)
        assert m, "no %s figure (/%s/) in:\n%s" % (name, rx, out)
        got[name] = m.groups()
    ok = int(got["rate"][1])
    assert ok > 0, out
    assert int(got["pgbench"][1]) > 0 and got["pgbench"][2] == "0", out
    assert got["non2xx"][0] == "0", out
    assert got["errors"] == ("0", "0", "0", "0"), out
    stored = int(got["stored"][0])
    ids, once, lost, twice = map(int, got["ids"])
    inflight, inflight_499 = map(int, got["inflight"])
    assert lost == 0 and twice == 0 and once == ids, out
    # all stored = all answered 2xx, but for those wrk abandoned at its stop
    assert inflight == inflight_499 <= 16, out
    assert stored == ids + inflight and got["match"][0] == "yes", out
    # wrk counts what it read; nginx may have sent a few more at the stop.
    # A corpus that wrapped sent some MessageIds again: their 2xx count
    # apart (answered duplicate, stored once)
    m = re.search(r"corpus: +WRAPPED: \d+ of \d+ requests repeated a MessageId "
                  r"\((\d+) answered 2xx", out)
    repeats = int(m.group(1)) if m else 0
    assert ok - repeats <= ids <= ok - repeats + 16, out
    assert float(got["latency"][1]) >= float(got["latency"][0]) > 0, out
    for k in ("cpu_sesfb", "cpu_nginx", "cpu_pg", "cpu_tx"):
        assert int(got[k][0]) > 0, "%s is 0:\n%s" % (k, out)
    assert float(got["rss"][0]) > 0 and float(got["rss"][1]) > 0, out
    # the budget lines follow from the figures above (each rounded to a us)
    allowed, cpus, tps, spent = map(int, got["allows"])
    assert cpus == os.cpu_count() and abs(tps - float(got["pgbench"][0])) <= 1, out
    assert abs(allowed - cpus * 1e6 / (0.6 * float(got["pgbench"][0]))) <= 1, out
    assert abs(spent - sum(int(got[k][0]) for k in ("cpu_sesfb", "cpu_nginx", "cpu_pg"))) <= 2, out
    at, tx, nginx = map(int, got["at_targets"][:3])
    assert tx == int(got["cpu_tx"][0]) and nginx == int(got["cpu_nginx"][0]), out
    assert abs(at - (120 + 1.3 * tx + nginx)) <= 2, out
    bound = float(got["at_targets"][3])
    assert abs(bound - cpus * 1e6 / at / float(got["pgbench"][0])) <= 0.01, out
    busy, wall, ncpu, idle = float(got["idle"][0]), float(got["idle"][1]), int(got["idle"][2]), \
        int(got["idle"][3])
    assert 0 < busy <= wall * ncpu * 1.05 and 0 <= idle <= 100, out
