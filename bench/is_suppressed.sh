#!/bin/sh
# SPDX-License-Identifier: ISC
# Benchmark: how fast senders can ask ses_feedback.is_suppressed(), against
# a baseline measured in the same run (a bare `SELECT 1` over the same
# connection), with SUPPRESSED addresses in the table (default 200,000).
# Starts a throwaway PostgreSQL cluster; prints figures, asserts nothing.
#
#   bench/is_suppressed.sh            # from a built tree
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
n=${SUPPRESSED:-200000}
secs=${SECONDS_EACH:-5}
pgbin=${PGBIN:-/usr/lib/postgresql/15/bin}
tmp=$(mktemp -d)
chmod 755 "$tmp"
as=""
if [ "$(id -u)" = 0 ]; then
	chown postgres "$tmp"
	as="runuser -u postgres --"
fi
trap '$as $pgbin/pg_ctl -D $tmp/data -m immediate stop >/dev/null 2>&1; rm -rf $tmp' EXIT
$as $pgbin/initdb -D "$tmp/data" -A trust -U postgres --no-sync >/dev/null
$as $pgbin/pg_ctl -D "$tmp/data" -l "$tmp/log" -w -o "-k $tmp -c listen_addresses=''" start >/dev/null
psql() { command psql -X -q -h "$tmp" -U postgres "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
SES_FEEDBACK_DSN="host=$tmp dbname=bench user=postgres" "$top/ses-feedback" migrate >/dev/null
psql -d bench -c "INSERT INTO ses_feedback.suppressions (email, reason, first_at, last_at)
    SELECT 'user' || i || '@example' || (i % 97) || '.com', 'hard_bounce', now(), now()
      FROM generate_series(1, $n) i; ANALYZE ses_feedback.suppressions"
cat >"$tmp/base.sql" <<'SQL'
\set i random(1, 400000)
SELECT 1;
SQL
cat >"$tmp/one.sql" <<SQL
\set i random(1, 400000)
SELECT ses_feedback.is_suppressed('User' || :i || '@Example' || (:i % 97) || '.com');
SQL
cat >"$tmp/many.sql" <<SQL
\set i random(1, 400000)
SELECT count(*) FILTER (WHERE suppressed) FROM ses_feedback.is_suppressed(ARRAY(
    SELECT 'user' || (:i + k) || '@example' || ((:i + k) % 97) || '.com'
      FROM generate_series(0, 49) k));
SQL
tps() {
	pgbench -n -h "$tmp" -U postgres -T "$secs" -c 1 -M prepared -f "$1" bench 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
base=$(tps "$tmp/base.sql")
one=$(tps "$tmp/one.sql")
many=$(tps "$tmp/many.sql")
awk -v b="$base" -v o="$one" -v m="$many" -v n="$n" 'BEGIN {
	printf "suppressions in table:                 %d\n", n
	printf "baseline SELECT 1:                     %9.0f calls/s\n", b
	printf "is_suppressed(text), half suppressed:  %9.0f calls/s  (%.2f of baseline, %.1f us each)\n", o, o / b, 1e6 / o
	printf "is_suppressed(text[]) of 50 addresses: %9.0f calls/s  (%.0f addresses/s)\n", m, m * 50
}'
