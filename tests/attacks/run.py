# SPDX-License-Identifier: ISC
"""Run the attack corpus (cases.json) against a world of its own: real
PostgreSQL, the SNS stand-in, `ses-feedback serve`, nginx with the shipped
snippet. Prints `ok     name` or `FAILED name: why` per case and ends with
`attacks: N passed, M failed`; exit status 0 only if every case passed.

    python3 tests/attacks/run.py [WORD ...]    # only cases whose name or category has WORD

Every case proves, besides its HTTP status, that nothing was written (the
tables notifications, recipient_events, suppressions, subscriptions and
suppression_log are byte-identical before and after, no certificate was
added to the cache) and, when expect_fetch is false, that the SNS stand-in
saw no request at all. Cases that must store (positive controls, SQL
metacharacters) say which rows they add and what the stored bytes are.
See README.md in this directory for the case format.
"""
import copy
import hashlib
import http.client
import json
import os
import re
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import world as Wd  # noqa: E402  (sets sys.path for the harness too)
from world import H, S  # noqa: E402

FIX = H.FIXTURES
TABLES = {"notifications": "id", "recipient_events": "id", "suppressions": "email",
          "subscriptions": "topic_arn", "suppression_log": "id"}
CRASH_MARKS = ("killed by signal", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
               "runtime error:", "Segmentation fault")


class CaseError(Exception):
    pass


# ---- expansion of {{NAME}} and {{rep N text}} ------------------------------

REP = re.compile(r"\{\{rep (\d+) (.*?)\}\}(?!\})", re.S)
VAR = re.compile(r"\{\{([A-Z_0-9]+)\}\}")


def expand(obj, vars_):
    if isinstance(obj, str):
        s = REP.sub(lambda m: m.group(2) * int(m.group(1)), obj)

        def var(m):
            if m.group(1) not in vars_:
                raise CaseError("unknown placeholder {{%s}}" % m.group(1))
            return vars_[m.group(1)]
        return VAR.sub(var, s)
    if isinstance(obj, list):
        return [expand(x, vars_) for x in obj]
    if isinstance(obj, dict):
        return {expand(k, vars_): expand(v, vars_) for k, v in obj.items()}
    return obj


# ---- building the request --------------------------------------------------

def build_message(spec):
    if "text" in spec:
        text = spec["text"]
    else:
        if "fixture" in spec:
            with open(os.path.join(FIX, spec["fixture"])) as f:
                d = json.load(f)
        else:
            d = copy.deepcopy(spec["json"])
        H.fresh_feedback_id(d)
        for path, value in spec.get("set", {}).items():
            set_path(d, path, value)
        text = json.dumps(d, indent=2, ensure_ascii=spec.get("ascii", True))
    for old, new in spec.get("text_replace", []):
        if old not in text:
            raise CaseError("message text_replace: %r not found" % old)
        text = text.replace(old, new)
    return text


def set_path(d, path, value):
    keys = path.split(".")
    for k in keys[:-1]:
        d = d[int(k)] if isinstance(d, list) else d[k]
    last = keys[-1]
    if isinstance(d, list):
        d[int(last)] = value
    else:
        d[last] = value


def apply_env_ops(env, ops, key_file):
    for op in ops:
        if "set" in op:
            env.update(op["set"])
        elif "del" in op:
            for k in op["del"]:
                env.pop(k, None)
        elif "replace" in op:
            field, old, new = op["replace"]
            if old not in env[field]:
                raise CaseError("replace: %r not in %s" % (old, field))
            env[field] = env[field].replace(old, new)
        elif "flip" in op:
            s = env[op["flip"]]
            env[op["flip"]] = s[:10] + ("B" if s[10] == "A" else "A") + s[11:]
        elif "signature_of" in op:
            # the genuine signature of a variant of this envelope
            other = copy.deepcopy(env)
            other.update(op["signature_of"])
            env["Signature"] = S.sign(other, key_file)["Signature"]
        else:
            raise CaseError("unknown envelope op %r" % op)


def apply_body_ops(body, ops):
    for op in ops:
        if "raw" in op:
            body = op["raw"].encode()
        elif "raw_hex" in op:
            body = bytes.fromhex(op["raw_hex"])
        elif "replace" in op:
            old = op["replace"].encode()
            new = bytes.fromhex(op["with_hex"]) if "with_hex" in op else op["with"].encode()
            if old not in body:
                raise CaseError("body replace: %r not found" % old[:60])
            body = body.replace(old, new, op.get("count", 1))
        elif "append_member" in op:
            i = body.rindex(b"}")
            body = body[:i].rstrip() + b",\n  " + op["append_member"].encode() + b"\n" + body[i:]
        elif "prepend_member" in op:
            i = body.index(b"{") + 1
            body = body[:i] + b"\n  " + op["prepend_member"].encode() + b"," + body[i:]
        elif "prefix_hex" in op:
            body = bytes.fromhex(op["prefix_hex"]) + body
        elif "suffix" in op:
            body = body + op["suffix"].encode()
        elif "pad_to" in op:
            n = op["pad_to"]
            if len(body) > n:
                raise CaseError("body of %d bytes already over pad_to %d" % (len(body), n))
            i = body.rindex(b"}")
            body = body[:i] + b" " * (n - len(body)) + body[i:]
        else:
            raise CaseError("unknown body op %r" % op)
    return body


def served_body(w, spec):
    out = b""
    for part in spec.get("parts", []):
        if part.startswith("@"):
            name = part[1:]
            if name.endswith(".der"):
                out += w.acerts.der(name[:-4])
            elif name.endswith(".key"):
                out += w.acerts.private_pem(name[:-4])
            else:
                out += w.acerts.pem(name)
        else:
            out += part.encode()
    if "pad_to" in spec:
        out += b"\n" * (spec["pad_to"] - len(out))
    return out


class Built:
    pass


def build(w, case, gvars):
    b = Built()
    name = case["name"]
    v = dict(gvars)
    v["CID"] = hashlib.sha256(name.encode()).hexdigest()[:32]
    v["MID"] = str(uuid.uuid4())
    v["TOKEN"] = "2336412f37fb687f5d51e6e2425" + uuid.uuid4().hex
    # Timestamps relative to now, for the replay window: {{NOW}},
    # {{NOW_PLUS_1}}, {{NOW_MINUS_4530}}, ... An age to be refused is 30 s
    # past its mark: the program reads the time with time(), whose second
    # can lag this clock's by a few milliseconds (the kernel's coarse
    # clock), and its Timestamp is cut to the second, so a message made
    # exactly 86400 s ago can be judged 86399 s old ("23 h 59 min"), one
    # made 4501 s ago 4500 s (inside the window).
    v["NOW"] = S.now_timestamp()
    for n in (1, 60, 901, 3600, 4400, 4530, 86430, 2592030):
        v["NOW_PLUS_%d" % n] = S.now_timestamp(n)
        v["NOW_MINUS_%d" % n] = S.now_timestamp(-n)
    topic = expand(case.get("topic", "{{TOPIC}}"), v)
    v["CASE_TOPIC"] = topic
    try:
        v["HOST"] = S.host_for(topic)
    except Exception:
        v["HOST"] = "sns.us-east-1.amazonaws.com"
    c = expand({k: val for k, val in case.items() if k not in ("name", "note")}, v)
    b.vars, b.case = v, c
    kind = c.get("kind", "Notification")
    cert_id = c.get("cert_id", v["CID"] if "serve" in c else Wd.CERT_ID)
    key_file = w.acerts.key(c.get("key", "sign"))
    message = build_message(c.get("message", {"fixture": "sim-bounce.json"}))
    env = S.envelope(topic, message, kind=kind, subject=c.get("subject"),
                     version=c.get("version", 2), message_id=v["MID"],
                     timestamp=c.get("timestamp"),
                     cert=c.get("cert_url") or S.cert_url(topic, cert_id),
                     token=None if kind == "Notification" else v["TOKEN"],
                     subscribe_url=c.get("subscribe_url"))
    apply_env_ops(env, c.get("before_sign", []), key_file)
    if c.get("sign", True):
        S.sign(env, key_file)
    apply_env_ops(env, c.get("after_sign", []), key_file)
    b.env = env
    body = json.dumps(env, indent=2, ensure_ascii=c.get("ascii", True)).encode()
    b.body = apply_body_ops(body, c.get("body", []))
    hdr = S.headers_for(env) if c.get("sns_headers", True) else {
        "Content-Type": "text/plain; charset=UTF-8"}
    for k, val in c.get("headers", {}).items():
        for existing in [h for h in hdr if h.lower() == k.lower()]:
            del hdr[existing]
        if val is not None:
            hdr[k] = val
    b.headers = hdr
    b.serve_path = None
    if "serve" in c:
        s = c["serve"]
        b.serve_path = s.get("path", "/SimpleNotificationService-%s.pem" % cert_id)
        b.serve_spec = {"status": s.get("status", 200), "body": served_body(w, s),
                        "chunked": s.get("chunked", False),
                        "headers": dict({"Content-Type": "application/x-pem-file"},
                                        **s.get("headers", {}))}
    b.confirm = c.get("confirm")
    return b


# ---- talking to the world --------------------------------------------------

def send(port, method, path, body, headers, chunked=False, timeout=20):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if chunked:
            h = dict(headers)
            h["Transfer-Encoding"] = "chunked"
            chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]
            conn.request(method, path, body=iter(chunks), headers=h, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read().decode("utf-8", "replace")
        return r.status, {k.lower(): val for k, val in r.getheaders()}, data
    finally:
        conn.close()


SNAP_SQL = " UNION ALL ".join(
    "SELECT '%s', count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.%s), '')) "
    "FROM ses_feedback.%s t" % (t, order, t) for t, order in TABLES.items())


def snapshot(w):
    return {r[0]: (int(r[1]), r[2]) for r in w.pg.query(SNAP_SQL)}


def hexlit(s):
    return "convert_from(decode('%s', 'hex'), 'UTF8')" % s.encode().hex()


def stored_values(w, expr, mid):
    if re.match(r"^e\.", expr):
        frm = ("ses_feedback.notifications n JOIN ses_feedback.recipient_events e "
               "ON e.notification_id = n.id")
        order = "e.id"
    elif re.match(r"^s\.", expr):
        frm = ("ses_feedback.notifications n JOIN ses_feedback.subscriptions s "
               "ON s.topic_arn = n.topic_arn")
        order = "s.topic_arn"
    else:
        frm, order = "ses_feedback.notifications n", "n.id"
    rows = w.pg.query("SELECT encode(convert_to((%s)::text, 'UTF8'), 'hex') FROM %s "
                      "WHERE n.sns_message_id = '%s' ORDER BY %s" % (expr, frm, mid, order))
    return [None if r[0] is None else bytes.fromhex(r[0]).decode("utf-8") for r in rows]


# ---- one case ---------------------------------------------------------------

def run_case(w, case, gvars, before=None):
    """Run one case; returns the database snapshot taken after it (the next
    case's "before": nothing else writes in between)."""
    b = build(w, case, gvars)
    c = b.case
    if b.serve_path:
        w.sns.raw[b.serve_path] = b.serve_spec
    if b.confirm:
        w.sns.confirm[b.vars["TOKEN"]] = {"status": b.confirm.get("status", 200),
                                          "headers": b.confirm.get("headers", {}),
                                          "body": b.confirm.get("body", "").encode()}
    if before is None:
        before = snapshot(w)
    n_req = w.sns.snapshot()
    cache_before = w.cache_listing()
    log_at = w.log_size()
    want = c["expect_status"]
    want = want if isinstance(want, list) else [want]
    problems = []
    for i in range(c.get("repeat", 1)):
        t_req = time.time()
        try:
            st, hdr, text = send(w.port, c.get("method", "POST"), c.get("path", "/sns"), b.body,
                                 b.headers, chunked=c.get("chunked", False))
        except Exception as e:
            raise CaseError("request failed: %s" % e)
        if time.time() - t_req > 15:
            problems.append("answer took %.1f s (SNS gives up at 15 s)" % (time.time() - t_req))
        if st not in want:
            problems.append("status %d, want %s (%s)" % (st, "/".join(map(str, want)),
                                                          text.strip()[:80]))
        for k, val in c.get("expect_headers", {}).items():
            if hdr.get(k.lower()) != val:
                problems.append("header %s: %r, want %r" % (k, hdr.get(k.lower()), val))
    # wait for the request's log line (written by the worker at its end)
    logtext = ""
    end = time.time() + 2
    while time.time() < end:
        logtext = w.log_since(log_at)
        if logtext.count(" status=") >= c.get("repeat", 1) and logtext.endswith("\n"):
            break
        time.sleep(0.02)
    for mark in CRASH_MARKS:
        if mark in logtext:
            problems.append("service log: " + mark)
    reason = c.get("expect_reason")
    if reason and reason not in logtext:
        m = re.findall(r'reason=("(?:[^"\\]|\\.)*"|\S+)', logtext)
        problems.append("log lacks %r (reason: %s)" % (reason, "; ".join(m)[:200] or "none"))

    # the stand-in
    got, conns = w.sns.since(n_req)
    if not c["expect_fetch"]:
        if got:
            problems.append("stand-in was asked %s" % got)
        elif conns:
            problems.append("stand-in saw %s" % conns)
    else:
        if not got and not conns:
            problems.append("stand-in was never asked")
        if "expect_requests" in c and sorted(got) != sorted(c["expect_requests"]):
            problems.append("stand-in requests %s, want %s" % (got, c["expect_requests"]))
        for name in c.get("expect_server_names", []):
            if "tls server name " + name not in conns:
                problems.append("no TLS connection for %s (saw %s)" % (name, conns))

    # the database
    after = snapshot(w)
    rows = c.get("expect_rows", {})
    for t in TABLES:
        if t in rows:
            delta = after[t][0] - before[t][0]
            if delta != rows[t]:
                problems.append("%s: %+d rows, want %+d" % (t, delta, rows[t]))
        elif after[t] != before[t]:
            problems.append("%s changed (%+d rows)" % (t, after[t][0] - before[t][0]))
    for expr, values in c.get("expect_stored", {}).items():
        have = stored_values(w, expr, b.env.get("MessageId", b.vars["MID"]))
        if have != values:
            problems.append("stored %s = %s, want %s" % (expr, short(have), short(values)))
    for addr, sup in c.get("expect_suppressed", {}).items():
        got_s = w.pg.scalar("SELECT ses_feedback.is_suppressed(%s)" % hexlit(addr)) == "t"
        if got_s != sup:
            problems.append("is_suppressed(%r) = %s, want %s" % (short(addr), got_s, sup))
    if "expect_rows" not in c and w.cache_listing() != cache_before:
        problems.append("certificate cache changed: %s" % sorted(
            set(w.cache_listing()) ^ set(cache_before)))
    if os.environ.get("ATTACKS_VERBOSE"):
        for line in logtext.splitlines():
            if " status=" in line:
                m = re.search(r'outcome=(\S+) status=(\d+).*?(?:reason=(.*))?$', line)
                print("#   %s" % (" ".join(x for x in m.groups() if x) if m else line[:200]))
    if problems:
        raise CaseError("; ".join(problems))
    return after


def short(x, n=120):
    s = repr(x)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def warm_up(w, gvars):
    """One genuine notification fetches the standard certificate, which
    lands in the disk cache: from then on no worker fetches it again, so
    any request to the stand-in in a case is that case's doing."""
    env = S.sign(S.envelope(gvars["TOPIC"], build_message({"fixture": "sim-success.json"}),
                            cert=S.cert_url(gvars["TOPIC"], Wd.CERT_ID)), w.certs.sign_key)
    st, _, text = send(w.port, "POST", "/sns", json.dumps(env).encode(), S.headers_for(env))
    if st != 200 or not w.cache_listing():
        raise RuntimeError("warm-up notification: %d %s (cache %s)"
                           % (st, text, w.cache_listing()))


def main(argv):
    t0 = time.time()
    with open(os.environ.get("ATTACKS_CASES", os.path.join(HERE, "cases.json"))) as f:
        doc = json.load(f)
    cases = doc["cases"]
    names = [c["name"] for c in cases]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        print("duplicate case names: %s" % sorted(dups))
        return 2
    words = argv[1:]
    if words:
        cases = [c for c in cases if any(x in c["name"] or x == c["category"] for x in words)]
    w = Wd.World()
    passed = failed = 0
    try:
        w.start()
        warm_up(w, doc["vars"])
        snap = None
        for case in cases:
            try:
                snap = run_case(w, case, doc["vars"], snap)
                passed += 1
                print("ok     %s" % case["name"], flush=True)
            except CaseError as e:
                snap = None
                failed += 1
                print("FAILED %s: %s" % (case["name"], e), flush=True)
            except Exception as e:  # a bug in the case or the runner
                snap = None
                failed += 1
                print("FAILED %s: %s: %s" % (case["name"], type(e).__name__, e), flush=True)
    except Exception as e:
        print("FAILED (world): %s: %s" % (type(e).__name__, e))
        failed = max(1, len(cases) - passed)
    finally:
        w.stop()
    cats = {}
    for c in cases:
        cats[c["category"]] = cats.get(c["category"], 0) + 1
    print("# %d cases in %d categories: %s" % (len(cases), len(cats), ", ".join(
        "%s %d" % kv for kv in sorted(cats.items()))))
    print("# %.1f s" % (time.time() - t0))
    print("attacks: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
