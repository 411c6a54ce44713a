#!/bin/sh
# SPDX-License-Identifier: ISC
# ses-feedback quickstart, for a fresh Debian 12 machine, as root: installs
# what is missing, builds and installs ses-feedback, sets up PostgreSQL,
# runs `ses-feedback serve` behind nginx (nginx/example-site.conf as
# shipped, on 127.0.0.1:8080), feeds it the SES mailbox simulator cases
# signed like SNS, and shows the rows they produced.
#
# This machine cannot reach AWS, and nobody but AWS can sign as SNS, so a
# local HTTPS stand-in plays the SNS host (tests/sns_standin.py): it serves a
# demo signing certificate from a demo CA. ses-feedback is pointed at it
# through its ordinary settings SES_FEEDBACK_CA_FILE and
# SES_FEEDBACK_CONNECT_TO; drop those two and it talks to the real SNS.
set -eu
cd "$(dirname "$0")"
top=$(pwd)
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root" >&2; exit 1; }

SES_FEEDBACK_START_SERVICES=yes ./tests/install-deps.sh

echo "== build and install"
[ -x configure ] || ./autogen.sh >/dev/null
./configure --prefix=/usr/local >/dev/null
make -j"$(nproc)" >/dev/null
make install >/dev/null
bin=/usr/local/sbin/ses-feedback
$bin --version

echo "== service user and directories"
id ses-feedback >/dev/null 2>&1 ||
	useradd --system --user-group --home-dir /nonexistent --shell /usr/sbin/nologin ses-feedback
usermod -aG ses-feedback www-data # nginx may use the socket
install -d -o ses-feedback -g ses-feedback -m 0750 /run/ses-feedback /var/cache/ses-feedback
install -d -m 0755 /var/lib/ses-feedback

echo "== PostgreSQL"
pg_lsclusters -h | grep -q '^15 *main' || pg_createcluster 15 main >/dev/null
pg_lsclusters -h | grep '^15 *main' | grep -q online || pg_ctlcluster 15 main start
runuser -u postgres -- psql -Xq -c 'CREATE ROLE "ses-feedback" LOGIN' 2>/dev/null || true
runuser -u postgres -- createdb -O ses-feedback ses_feedback 2>/dev/null || true
runuser -u ses-feedback -- env SES_FEEDBACK_DSN=dbname=ses_feedback $bin migrate

echo "== SNS stand-in (demo only)"
demo=/var/lib/ses-feedback/demo
python3 tests/sns_standin.py --dir $demo --init-only
[ -f /run/ses-feedback/standin.pid ] && kill "$(cat /run/ses-feedback/standin.pid)" 2>/dev/null || true
sleep 0.3
nohup python3 tests/sns_standin.py --dir $demo --port 8443 >/var/log/ses-feedback-standin.log 2>&1 &
echo $! >/run/ses-feedback/standin.pid
connect_to=""
for h in sns.us-east-1.amazonaws.com sns.eu-west-1.amazonaws.com; do
	connect_to="$connect_to $h:443:127.0.0.1:8443"
done

echo "== ses-feedback serve"
if [ -f /run/ses-feedback/serve.pid ]; then
	kill "$(cat /run/ses-feedback/serve.pid)" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do [ -S /run/ses-feedback/ses-feedback.sock ] || break; sleep 0.3; done
fi
SES_FEEDBACK_CA_FILE=$demo/ca.pem SES_FEEDBACK_CONNECT_TO="$connect_to" \
	setsid $bin serve --listen unix:/run/ses-feedback/ses-feedback.sock --workers 2 \
	--user ses-feedback >>/var/log/ses-feedback.log 2>&1 &
echo $! >/run/ses-feedback/serve.pid
for _ in $(seq 50); do [ -S /run/ses-feedback/ses-feedback.sock ] && break; sleep 0.1; done
[ -S /run/ses-feedback/ses-feedback.sock ] || { tail /var/log/ses-feedback.log; exit 1; }

echo "== nginx (nginx/example-site.conf on 127.0.0.1:8080)"
install -d /etc/nginx/snippets
install -m 0644 nginx/ses-feedback.conf /etc/nginx/snippets/ses-feedback.conf
install -m 0644 nginx/example-site.conf /etc/nginx/sites-enabled/ses-feedback
nginx -t 2>/dev/null || nginx -t
if [ -f /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
	nginx -s reload
	sleep 1
else
	nginx
fi
for _ in $(seq 50); do
	python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080), 0.2)' 2>/dev/null && break
	sleep 0.1
done

echo "== health"
python3 -c 'import urllib.request as u; r = u.urlopen("http://127.0.0.1:8080/sns/health"); print("GET /sns/health ->", r.status, r.read().decode().strip())'

echo "== the SES mailbox simulator cases, signed like SNS, through nginx"
python3 tests/demo_feed.py --key $demo/signing.key --url http://127.0.0.1:8080/sns/ses-feedback

echo "== what PostgreSQL now holds"
q() { runuser -u postgres -- psql -X -d ses_feedback -c "$1"; }
q "SELECT n.event_type, e.email, e.bounce_type, e.bounce_subtype, e.outcome
     FROM ses_feedback.recipient_events e
     JOIN ses_feedback.notifications n ON n.id = e.notification_id
    ORDER BY e.id DESC LIMIT 10"
q "SELECT email, reason, first_at, count, expires_at FROM ses_feedback.suppressions ORDER BY email"
q "SELECT a AS address, ses_feedback.is_suppressed(a) FROM unnest(ARRAY[
     'success@simulator.amazonses.com', 'bounce@simulator.amazonses.com',
     'ooto@simulator.amazonses.com', 'complaint@simulator.amazonses.com',
     'suppressionlist@simulator.amazonses.com']) AS a"
cat <<MSG
ses-feedback is running: nginx on http://127.0.0.1:8080/sns/ses-feedback,
workers logging to /var/log/ses-feedback.log, data in database ses_feedback.
Stop it with: kill \$(cat /run/ses-feedback/serve.pid) \$(cat /run/ses-feedback/standin.pid)
MSG
