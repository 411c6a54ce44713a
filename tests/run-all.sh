#!/bin/sh
# SPDX-License-Identifier: ISC
# The whole test suite: installs what is missing (Debian 12, as root), builds
# with warnings as errors, runs the cmocka unit tests and the integration
# tests (real PostgreSQL, nginx, spawn-fcgi, HTTPS stand-in for SNS), and
# ends with one line: N passed, N failed, N skipped. A skipped test (one that
# cannot run here, such as what needs root) prints its reason.
set -u
# nginx, apache2, pgbouncer: /usr/sbin is not in a Debian user's PATH.
case :$PATH: in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac
export PATH
cd "$(dirname "$0")/.."
top=$(pwd)

"$top/tests/install-deps.sh" || { echo "install-deps.sh failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

fail_build() {
	echo "build failed: $1" >&2
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	./autogen.sh >/dev/null 2>&1 || fail_build autogen.sh
fi
# Always configure: a tree configured otherwise (by the quickstart, say)
# must not silently skip the unit tests or the warnings-as-errors build.
./configure --enable-werror ${CONFIGURE_FLAGS:-} >/dev/null || fail_build configure
make -j"$(nproc)" >/dev/null || fail_build make

# counts NAME LOG: set p, f and s from LOG's last
# "NAME: N passed, M failed[, K skipped]" line; no such line counts as one
# failure (and the end of LOG is shown).
counts() {
	l=$(grep "$1: [0-9]* passed, [0-9]* failed" "$2" | tail -1)
	p=$(echo "$l" | sed -n "s/.*$1: \([0-9]*\) passed.*/\1/p")
	f=$(echo "$l" | sed -n 's/.* \([0-9]*\) failed\(, [0-9]* skipped\)\{0,1\}$/\1/p')
	s=$(echo "$l" | sed -n 's/.* failed, \([0-9]*\) skipped$/\1/p')
	[ -n "$s" ] || s=0
	if [ -z "$p" ] || [ -z "$f" ]; then
		p=0
		f=1
		echo "$1: no result line; the end of its output:"
		tail -40 "$2"
	fi
}
skipped=0

start=$(date +%s)
checklog=$(mktemp)
# make check is the unit tier only (seconds, no server); the attack corpus
# and the integration modules are make check-attacks and check-integration.
make -j"$(nproc)" check >"$checklog" 2>&1
make check-attacks >>"$checklog" 2>&1
grep -E '^(FAILED|attacks: )' "$checklog"
counts attacks "$checklog"
att_pass=$p
att_fail=$f
skipped=$((skipped + s))
[ "$f" -eq 0 ] || tail -30 "$checklog"
rm -f "$checklog"
unit_pass=$(cat tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
unit_fail=$(cat tests/unit/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)')
unit_skip=$(cat tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: SKIP')
skipped=$((skipped + unit_skip))
for t in tests/unit/*.log; do
	grep -q -E '^(not ok|Bail out)' "$t" && { echo "--- $t"; grep -E '^(not ok|#)' "$t" | head -20; }
done
# A unit binary that crashed before printing a plan counts as a failure.
for t in tests/unit/*.trs; do
	grep -q '^:global-test-result: ERROR' "$t" && unit_fail=$((unit_fail + 1))
done
echo "unit: $unit_pass passed, $unit_fail failed, $unit_skip skipped"

out=$(mktemp)
make check-integration 2>&1 | tee "$out"
counts integration "$out"
rm -f "$out"
int_pass=$p
int_fail=$f
skipped=$((skipped + s))

# The whole suite once more against a build with AddressSanitizer and
# UndefinedBehaviorSanitizer, in a copy of the tree: the unit tests and the
# attack corpus (make check), the integration tests, and the replay with
# database faults; any sanitizer report in any log fails.
san_pass=0
san_fail=0
if [ "${SES_FEEDBACK_SANITIZE:-yes}" = yes ]; then
	san="$top/tests/tmp/sanitize"
	rm -rf "$san" && mkdir -p "$san"
	git ls-files -z 2>/dev/null | xargs -0 cp --parents -t "$san" 2>/dev/null ||
		tar --exclude=./tests/tmp -cf - . | tar -C "$san" -xf -
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if (cd "$san" && ./autogen.sh >build.log 2>&1 &&
		./configure --enable-werror \
		    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		    LDFLAGS="-fsanitize=address,undefined" >>build.log 2>&1 &&
		make -j"$(nproc)" >>build.log 2>&1); then
		out=$(mktemp)
		(cd "$san" && make -j"$(nproc)" check >"$out" 2>&1; make check-attacks >>"$out" 2>&1)
		p=$(cat "$san"/tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS')
		f=$(cat "$san"/tests/unit/*.trs 2>/dev/null | grep -c -E '^:test-result: (FAIL|ERROR|XPASS)')
		grep -q '^:global-test-result: ERROR' "$san"/tests/unit/*.trs && f=$((f + 1))
		s=$(cat "$san"/tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: SKIP')
		skipped=$((skipped + s))
		echo "[sanitize] unit: $p passed, $f failed, $s skipped"
		san_pass=$((san_pass + p))
		san_fail=$((san_fail + f))
		grep -E '^(FAILED|attacks: )' "$out" | sed 's/^/[sanitize] /'
		counts attacks "$out"
		san_pass=$((san_pass + p))
		san_fail=$((san_fail + f))
		skipped=$((skipped + s))
		[ "$f" -eq 0 ] || tail -30 "$out"
		# A failure is shown with its traceback, a skip with its reason.
		SES_FEEDBACK_BIN="$san/ses-feedback" \
		python3 tests/integration/run.py 2>&1 | sed 's/^/[sanitize] /' | tee "$out" |
			awk '/^\[sanitize\] (ok|SKIP|FAILED) / { show = 0 }
			     /^\[sanitize\] (FAILED|SKIP) |integration: / { show = 1 }
			     show'
		counts integration "$out"
		san_pass=$((san_pass + p))
		san_fail=$((san_fail + f))
		skipped=$((skipped + s))
		# The database faults (read-only, restart) drive every statement
		# error path; replay.py fails on any sanitizer report in its logs.
		SES_FEEDBACK_BIN="$san/ses-feedback" REPLAY_N=300 \
		    REPLAY_FAULTS=read_only,pg_restart python3 tests/replay/replay.py 2>&1 |
			sed 's/^/[sanitize] /' | tee "$out" | grep -E "PROBLEM|replay: "
		counts replay "$out"
		san_pass=$((san_pass + p))
		san_fail=$((san_fail + f))
		rm -f "$out"
	else
		echo "sanitizer build failed; the end of $san/build.log:"
		tail -30 "$san/build.log"
		san_fail=1
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# Sum the closing "NAME: N passed, M failed" line of a log into the totals.
extra_pass=0
extra_fail=0
count_line() {
	counts "$1" "$2"
	extra_pass=$((extra_pass + p))
	extra_fail=$((extra_fail + f))
	skipped=$((skipped + s))
}
# run_counted NAME command...: shows the command's failure, skip and result
# lines; when something failed, the last 60 lines of its output too, so the
# reason is there without a rerun.
run_counted() {
	name=$1
	shift
	out=$(mktemp)
	"$@" 2>&1 | sed "s/^/[$name] /" | tee "$out" |
		grep -E "FAIL|SKIP|: [0-9]+ passed|soak: |replay: " || true
	count_line "$name" "$out"
	if [ "$f" -ne 0 ]; then
		echo "[$name] --- the last 60 lines of its output:"
		tail -60 "$out"
	fi
	rm -f "$out"
}

# The core integration suite once more under valgrind memcheck: any error,
# or a definite leak, in any process fails its last test.
if [ "${SES_FEEDBACK_VALGRIND:-yes}" = yes ]; then
	vdir=$(mktemp -d)
	chmod 1777 "$vdir"
	run_counted integration env SES_FEEDBACK_VALGRIND_DIR="$vdir" \
	    SES_FEEDBACK_WRAPPER="$(command -v valgrind) --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file=$vdir/%p.log" \
	    python3 tests/integration/run.py test_core
	rm -rf "$vdir"
fi

# Fuzzing: each libFuzzer harness for a short fixed time (FUZZ_SECONDS).
run_counted fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-10}" sh tests/fuzz/run.sh

# Memory and descriptors of a worker stay flat (SOAK_N requests, 20,000 by
# default; the long run is SOAK_N=200000).
run_counted soak python3 tests/soak/run.py

# make distcheck: the tarball builds, installs and uninstalls out of tree.
dc() {
	dclog=$(mktemp)
	if make distcheck DISTCHECK_CONFIGURE_FLAGS="--disable-unit-tests --enable-werror" \
	    >"$dclog" 2>&1; then
		echo "distcheck: 1 passed, 0 failed"
	else
		tail -20 "$dclog"
		echo "distcheck: 0 passed, 1 failed"
	fi
	rm -f ses-feedback-*.tar.gz "$dclog"
}
run_counted distcheck dc

# The Debian package: build, install, check, purge. It skips itself (with
# the reason) when not root or when ses-feedback is installed already.
run_counted packaging sh tests/packaging/run.sh

# SNS-like replay with faults (REPLAY_N notifications), the primary's
# failover to its synchronous standby among them; then the scale-out shape:
# two handler hosts behind one nginx upstream, through PgBouncer, the
# soft-bounce sequences sent in any order.
if [ -f tests/replay/replay.py ]; then
	run_counted replay python3 tests/replay/replay.py
	run_counted replay env REPLAY_N=6000 REPLAY_HOSTS=2 REPLAY_PGBOUNCER=1 \
	    REPLAY_SOFT_ORDER=any REPLAY_FAULTS=worker_kill,pg_restart,read_only,supervisor_kill \
	    python3 tests/replay/replay.py
fi

end=$(date +%s)
echo "suite took $((end - start))s"
passed=$((unit_pass + att_pass + int_pass + san_pass + extra_pass))
failed=$((unit_fail + att_fail + int_fail + san_fail + extra_fail))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
