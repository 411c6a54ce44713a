#!/bin/sh
# SPDX-License-Identifier: ISC
# ses-feedback - build and run the libFuzzer harnesses.
# Each harness is built with clang's libFuzzer, ASan and UBSan straight from
# src/*.c, seeded from the repository's test data and run for FUZZ_SECONDS.
# Exit 0 only when every harness ran its full time with no crash, leak,
# timeout or sanitizer report.
#
# Environment: FUZZ_SECONDS per harness (20), FUZZ_TIMEOUT seconds one
# input may take (10), FUZZ_ONLY harness names to run (all), CLANG (clang).
# Everything it writes is under tests/fuzz/build/: binaries, logs, seeds-*
# (rebuilt every run), corpus-* (kept between runs) and crashes/.

set -u

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_TIMEOUT=${FUZZ_TIMEOUT:-10}
FUZZ_ONLY=${FUZZ_ONLY:-"envelope ses url config"}
CLANG=${CLANG:-clang}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$here/build
srcs="buf.c log.c cfg.c json_in.c sns.c ses.c addr.c policy.c cert.c certcache.c http.c deadline.c sig.c"

# libFuzzer reads -max_total_time=0 as "no limit".
case $FUZZ_SECONDS in
'' | *[!0-9]* | 0 | 00*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds, at least 1" >&2
	exit 2
	;;
esac

mkdir -p "$build/crashes" || exit 2

if ! libs=$(pkg-config --cflags --libs json-c libcurl libcrypto); then
	echo "fuzz: pkg-config cannot find json-c, libcurl and libcrypto" >&2
	exit 2
fi

# config.h comes from ./configure; without it, the two names src/ uses.
# Paths relative to $root (clang runs there): the word lists below must
# not split a tree path with a space in it.
incs="-Isrc -I."
if [ ! -f "$root/config.h" ]; then
	printf '#define PACKAGE_NAME "ses-feedback"\n#define PACKAGE_VERSION "fuzz"\n' \
	    >"$build/config.h"
	incs="$incs -Itests/fuzz/build"
fi

max_len_of() {
	case $1 in
	envelope | ses) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

start=$(date +%s)

# Build all harnesses at once: each is one clang run over its own file
# and the library sources.
pids=""
for n in $FUZZ_ONLY; do
	if [ ! -f "$here/fuzz_$n.c" ]; then
		echo "fuzz: no harness tests/fuzz/fuzz_$n.c" >&2
		exit 2
	fi
	files="tests/fuzz/fuzz_$n.c"
	for s in $srcs; do
		files="$files src/$s"
	done
	rm -f "$build/fuzz_$n"
	# $files, $incs and $libs are word lists: split on purpose.
	# shellcheck disable=SC2086
	(cd "$root" && exec "$CLANG" -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined -Wall -Wextra $incs $files $libs -o "$build/fuzz_$n") \
	    >"$build/fuzz_$n.build.log" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p"
done

# Seeds are made afresh each run, so that they follow the test data.
for n in $FUZZ_ONLY; do
	rm -rf "$build/seeds-$n"
	mkdir -p "$build/seeds-$n" "$build/corpus-$n"
done
if [ -d "$build/seeds-ses" ]; then
	cp "$root"/tests/fixtures/ses/*.json "$build/seeds-ses/"
fi
if command -v python3 >/dev/null 2>&1; then
	python3 - "$root" "$build" <<'EOF' || echo "fuzz: warning: seed generation failed" >&2
import base64, glob, json, os, re, subprocess, sys, tempfile

root, build = sys.argv[1], sys.argv[2]
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
TOPIC_CN = "arn:aws-cn:sns:cn-north-1:123456789012:t"


def put(name, kind, data):
    d = os.path.join(build, "seeds-" + kind)
    if not os.path.isdir(d):
        return
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def envelopes():
    sys.path.insert(0, os.path.join(root, "tests"))
    import sns_signer

    topics = [TOPIC, "arn:aws:sns:eu-west-1:123456789012:ses-feedback",
              TOPIC_CN, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t.fifo"]
    sig = base64.b64encode(bytes(range(256))).decode("ascii")
    fixtures = sorted(glob.glob(os.path.join(root, "tests/fixtures/ses/*.json")))
    messages = [open(f, encoding="utf-8").read() for f in fixtures]
    messages.append("Successfully validated SNS topic for Amazon SES event publishing.")
    for i, msg in enumerate(messages):
        topic = topics[i % len(topics)]
        for version in (1, 2):
            env = sns_signer.envelope(
                topic, msg, version=version,
                subject="Amazon SES Email Event Notification" if version == 2 else None,
                message_id="%08x-0000-4000-8000-%012x" % (i, version))
            env["Signature"] = sig
            env["UnsubscribeURL"] = env["UnsubscribeURL"].rsplit(":", 1)[0] + ":sub"
            text = json.dumps(env, indent=2) if version == 2 else json.dumps(env)
            put("env-%02d-v%d.json" % (i, version), "envelope", text)
    for j, kind in enumerate(("SubscriptionConfirmation", "UnsubscribeConfirmation")):
        for k, topic in enumerate(topics):
            env = sns_signer.envelope(
                topic, "You have chosen to subscribe to the topic %s." % topic, kind=kind,
                message_id="%08x-0000-4000-8000-0000000000ff" % (j * 8 + k),
                token="2336412f37fb687f5d51e6e2425%032x" % k)
            env["Signature"] = sig
            put("conf-%d-%d.json" % (j, k), "envelope", json.dumps(env, indent=2))


def c_string(lit):
    """Decode one C string literal (with its quotes) to bytes."""
    out, i, s = bytearray(), 1, lit[:-1]
    simple = {"n": 10, "t": 9, "r": 13, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8,
              "f": 12, "v": 11, "?": 63}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        c = s[i + 1]
        if c == "x":
            m = re.match(r"[0-9a-fA-F]+", s[i + 2:])
            out.append(int(m.group(0), 16) & 0xff)
            i += 2 + len(m.group(0))
        elif c in "01234567":
            m = re.match(r"[0-7]{1,3}", s[i + 1:])
            out.append(int(m.group(0), 8) & 0xff)
            i += 1 + len(m.group(0))
        else:
            out.append(simple[c])
            i += 2
    return bytes(out)


def unit_test_urls():
    """Every string expression in test_cert.c that mentions http, with its
    object-like string macros (HOST, HEX, TOPIC, ...) expanded."""
    text = open(os.path.join(root, "tests/unit/test_cert.c"), encoding="utf-8").read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    tok = re.compile(r'"(?:[^"\\\n]|\\.)*"|[A-Za-z_]\w*|\S')
    macros = {}
    for m in re.finditer(r"^#define[ \t]+(\w+)[ \t]+(.+)$", text, re.M):
        macros[m.group(1)] = tok.findall(m.group(2))

    def expand(tokens, depth=0):
        out = []
        for t in tokens:
            if t in macros and depth < 8:
                body = expand(macros[t], depth + 1)
                if body and all(b.startswith('"') for b in body):
                    out += body
                    continue
            out.append(t)
        return out

    body = re.sub(r"^#.*$", " ", text, flags=re.M)
    urls, run = [], []
    for t in expand(tok.findall(body)) + [";"]:
        if t.startswith('"'):
            run.append(c_string(t))
            continue
        if run:
            s = b"".join(run)
            if b"http" in s and s not in urls:
                urls.append(s)
            run = []
    return urls


def topic_for(url):
    m = re.search(rb"sns\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/", url)
    if m is None:
        return TOPIC.encode()
    region = m.group(1).decode()
    part = "aws-cn" if m.group(2) else ("aws-us-gov" if "-gov-" in region else "aws")
    return ("arn:%s:sns:%s:123456789012:t" % (part, region)).encode()


def url_seeds():
    urls = unit_test_urls() + [b"", b"https://"]
    for i, u in enumerate(urls):
        put("url-%03d" % i, "url", u)
        put("sub-%03d" % i, "url", topic_for(u) + b"\0abc123\0" + u)
    print("fuzz: %d URL seeds from tests/unit/test_cert.c" % len(urls))
    pems(len(urls))


def pems(base):
    """Certificates for cert_check_pem(): genuine-looking, wrong names, weak
    or EC keys, two blocks, trailing data. Made with the openssl tool."""
    with tempfile.TemporaryDirectory(dir=build) as tmp:
        def run(*args):
            subprocess.run(["openssl"] + list(args), cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa")
        run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "weak")
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ec")
        certs = {}
        for name, key, subj, san in (
                ("good", "rsa", "/CN=sns.amazonaws.com", None),
                ("regional", "rsa", "/CN=x", "DNS:sns.us-east-1.amazonaws.com"),
                ("cn", "rsa", "/CN=sns.amazonaws.com.cn", None),
                ("wildcard", "rsa", "/CN=*.amazonaws.com", None),
                ("evil", "rsa", "/CN=sns.amazonaws.com.evil.example", None),
                ("weak", "weak", "/CN=sns.amazonaws.com", None),
                ("ec", "ec", "/CN=sns.amazonaws.com", None)):
            args = ["req", "-x509", "-new", "-key", key, "-days", "36500", "-subj", subj,
                    "-out", name + ".pem"]
            if san:
                args += ["-addext", "subjectAltName=" + san]
            run(*args)
            certs[name] = open(os.path.join(tmp, name + ".pem"), "rb").read()
    for name, pem in certs.items():
        put("pem-" + name, "url", pem)
    good = certs["good"]
    put("pem-two", "url", good + certs["regional"])
    put("pem-trailing", "url", good + b"x\n")
    put("pem-leading", "url", b"x" + good)
    put("pem-crlf", "url", good.replace(b"\n", b"\r\n"))
    put("pem-cn-topic", "url", TOPIC_CN.encode() + b"\0t0k\0" + certs["cn"])


def config_seeds():
    keys = {
        "SES_FEEDBACK_AUTO_CONFIRM": ["on", "off", "yes", ""],
        "SES_FEEDBACK_CA_FILE": ["/etc/ssl/certs/ca-certificates.crt", ""],
        "SES_FEEDBACK_CERT_CACHE": ["/var/cache/ses-feedback", ""],
        "SES_FEEDBACK_CONNECT_TO": ["sns.us-east-1.amazonaws.com:443:127.0.0.1:8443", ""],
        "SES_FEEDBACK_DSN": ["host=/run/postgresql dbname=ses", ""],
        "SES_FEEDBACK_LOG_LEVEL": ["error", "warn", "info", "debug", "INFO", "trace"],
        "SES_FEEDBACK_MAX_BODY": ["4096", "1048576", "16777216", "4095", "16777217",
                                  "99999999999999999999999", "-1", " 4096", "4096x", ""],
        "SES_FEEDBACK_MIN_SIGNATURE_VERSION": ["1", "2", "3", "12", ""],
        "SES_FEEDBACK_TOPICS": [
            TOPIC,
            "arn:aws:sns:*:123456789012:*",
            "arn:aws:sns:us-east-1:123456789012:ses-*, arn:aws-cn:sns:*:*:*",
            "arn:aws:sns:*-west-?:123456789012:*feedback*\tarn:aws-us-gov:sns:*:*:t.fifo",
            "arn:aws:sns:us-east-1:123456789012:t\x01", "*", ""],
    }
    arns = [TOPIC, "arn:aws:sns:eu-west-1:123456789012:ses-feedback",
            "arn:aws-cn:sns:cn-north-1:123456789012:t", "arn:aws:sns:us-east-1:123456789012",
            "arn:aws:sns:us-east-1:123456789012:t:extra", "", "::::::"]
    put("empty", "config", "")
    full = "".join("%s=%s\n" % (k, v[0]) for k, v in keys.items())
    put("full", "config", full + "".join("ARN=%s\n" % a for a in arns))
    i = 0
    for k, values in keys.items():
        for v in values:
            put("one-%03d" % i, "config", "%s=%s\nARN=%s\n" % (k, v, arns[i % len(arns)]))
            i += 1


for step in (envelopes, url_seeds, config_seeds):
    try:
        step()
    except Exception as e:  # a missing tool costs seeds, not the run
        print("fuzz: warning: %s: %s" % (step.__name__, e), file=sys.stderr)
EOF
else
	echo "fuzz: warning: no python3: only the SES fixtures are used as seeds" >&2
fi

: "${ASAN_OPTIONS:=detect_leaks=1}"
: "${UBSAN_OPTIONS:=print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS

passed=0
failed=0
for n in $FUZZ_ONLY; do
	bin=$build/fuzz_$n
	log=$build/fuzz_$n.log
	if [ ! -x "$bin" ]; then
		echo "fuzz_$n: FAIL build failed, see $build/fuzz_$n.build.log"
		sed -n '1,20p' "$build/fuzz_$n.build.log"
		failed=$((failed + 1))
		continue
	fi
	"$bin" -max_total_time="$FUZZ_SECONDS" -max_len="$(max_len_of "$n")" \
	    -rss_limit_mb=2048 -timeout="$FUZZ_TIMEOUT" -print_final_stats=1 \
	    -artifact_prefix="$build/crashes/$n-" \
	    "$build/corpus-$n" "$build/seeds-$n" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	slowest=$(sed -n 's/^stat::slowest_unit_time_sec: *//p' "$log" | tail -n 1)
	corpus=$(find "$build/corpus-$n" -type f | wc -l | tr -d ' ')
	if [ "$rc" -eq 0 ] && grep -q '^Done [0-9]* runs in' "$log" &&
	    ! grep -q -e '^==[0-9]*== \{0,1\}ERROR' -e 'runtime error:' -e '^SUMMARY: ' "$log"; then
		echo "fuzz_$n: PASS ${execs:-?} executions in ${FUZZ_SECONDS}s," \
		    "slowest input ${slowest:-?}s, corpus $corpus files"
		passed=$((passed + 1))
		continue
	fi
	what=$(grep -m 1 -e '^SUMMARY: ' -e 'runtime error:' -e '^==[0-9]*== \{0,1\}ERROR' "$log")
	echo "fuzz_$n: FAIL (exit $rc) after ${execs:-?} executions: ${what:-see log}"
	# The frames in our own code say where to look.
	grep -E '^ +#[0-9]+ 0x[0-9a-f]+ in [^ ]+ ([^ ]*/)?(src|tests/fuzz)/[^ /]+\.c:' "$log" |
	    awk '!seen[$4]++' | head -n 6
	sed -n 's/.*Test unit written to \(.*\)$/  reproducer: \1/p' "$log"
	echo "  log: $log"
	echo "  replay: $bin <reproducer>"
	failed=$((failed + 1))
done

echo "fuzz: took $(($(date +%s) - start))s"
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
