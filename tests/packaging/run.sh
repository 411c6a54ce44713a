#!/bin/sh
# SPDX-License-Identifier: ISC
# Packaging test: build the ses-feedback .deb from a temporary copy of the
# working tree (the files git knows of, plus new untracked ones it does not
# ignore), install it, check what it installed, then purge it again.
# Needs root (dpkg -i) and apt-get for missing build dependencies (those of
# debian/control's Build-Depends, plus build-essential and dpkg-dev); leaves
# the build dependencies installed, removes the package, and removes the
# ses-feedback user and group if they did not exist before.
# Ends with `packaging: N passed, M failed, K skipped`; every failure prints
# why (the check's output, or the end of the build or install log). Exit 0
# only if all passed; 77 when skipped (not root, or ses-feedback installed).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...: on failure, the command's output too
	what=$1
	shift
	if check_out=$("$@" 2>&1); then
		ok "$what"
	else
		bad "$what (exit $?)"
		[ -z "$check_out" ] || printf '%s\n' "$check_out" | tail -20 | sed 's/^/     /'
	fi
}
finish() {
	echo "packaging: $pass passed, $fail failed, 0 skipped"
	[ "$fail" -eq 0 ]
	exit
}
skip() {
	echo "SKIP packaging: $*"
	echo "packaging: 0 passed, 0 failed, 1 skipped"
	exit 77
}

if [ "$(id -u)" -ne 0 ]; then
	skip "needs root (it installs and purges the package)"
fi
if dpkg-query -W -f '${Status}' ses-feedback 2>/dev/null | grep -q 'installed'; then
	skip "ses-feedback is already installed; not touching it"
fi
user_existed=no
getent passwd ses-feedback >/dev/null && user_existed=yes
group_existed=no
getent group ses-feedback >/dev/null && group_existed=yes

tmp=$(mktemp -d /tmp/ses-feedback-pkg.XXXXXX)
installed=no
# Purging the package removes /var/cache/ses-feedback; keep one that an
# earlier install (quickstart.sh, make install) made, and put it back.
cache=/var/cache/ses-feedback
cache_saved=no
if [ -e "$cache" ]; then
	cp -a "$cache" "$tmp/cache-saved" && cache_saved=yes
fi
cleanup() {
	if [ "$installed" = yes ]; then
		dpkg --purge ses-feedback >/dev/null 2>&1 || true
	fi
	if [ "$cache_saved" = yes ] && [ ! -e "$cache" ]; then
		cp -a "$tmp/cache-saved" "$cache"
	fi
	if [ "$user_existed" = no ] && getent passwd ses-feedback >/dev/null; then
		userdel ses-feedback 2>/dev/null || true
	fi
	if [ "$group_existed" = no ] && getent group ses-feedback >/dev/null; then
		groupdel ses-feedback 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Build dependencies: build-essential, dpkg-dev and debian/control's
# Build-Depends (the first of alternatives, without versions; the virtual
# debhelper-compat is debhelper). Only what is missing is installed.
[ -f "$root/debian/control" ] || { bad "debian/control exists in $root"; finish; }
deps="build-essential dpkg-dev $(sed -n '/^Build-Depends/,/^[^[:space:]]/{
		s/^Build-Depends[^:]*://; /^[^[:space:]]/d; p; }' "$root/debian/control" |
	tr ',' '\n' | sed 's/|.*//; s/[[(<].*//; s/:any//; s/[[:space:]]//g' |
	sed 's/^debhelper-compat$/debhelper/' | grep -v '^$' | sort -u | tr '\n' ' ')"
case $deps in
*debhelper*) ;;
*) bad "Build-Depends read from debian/control (got: $deps)"; finish ;;
esac
missing=
for p in $deps; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "== apt-get install$missing"
	export DEBIAN_FRONTEND=noninteractive
	# A minimal root may have no package lists yet: update once and retry.
	if ! apt-get install -y --no-install-recommends $missing >"$tmp/apt.log" 2>&1; then
		{ apt-get update && apt-get install -y --no-install-recommends $missing; } \
			>>"$tmp/apt.log" 2>&1 ||
			{ tail -20 "$tmp/apt.log"; bad "apt-get install$missing"; finish; }
	fi
fi
ok "build dependencies installed:$(printf ' %s' $deps)"

# The files git knows of, plus new untracked ones it does not ignore; a tree
# without git (or not a git checkout): everything but build outputs.
echo "== copy the tree to $tmp/src"
mkdir "$tmp/src"
if command -v git >/dev/null && git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$root" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done; true' sh |
		tar --null -T - -cf -) | tar -C "$tmp/src" -xf -
else
	# (dpkg-buildpackage's clean step runs `make distclean` in the copy)
	echo "   (no git: copying the tree but for test and fuzz outputs)"
	(cd "$root" && tar --exclude=./.git --exclude=./tests/tmp --exclude=./tests/fuzz/build \
		--exclude=./quickstart -cf - .) | tar -C "$tmp/src" -xf -
fi
[ -f "$tmp/src/debian/control" ] || { bad "debian/ in the copy of $root"; finish; }

echo "== dpkg-buildpackage -us -uc -b"
if (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	bad "dpkg-buildpackage -us -uc -b; the end of its log:"
	tail -40 "$tmp/build.log" | sed 's/^/     /'
	finish
fi
deb=$(ls "$tmp"/ses-feedback_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { bad "binary package built (no ses-feedback_*.deb in $tmp: $(ls "$tmp"))"; finish; }
ok "built $(basename "$deb")"

deps_field=$(dpkg-deb -f "$deb" Depends)
check "Depends from shlibs (libfcgi, libpq, libcurl, json-c, libssl)" \
	sh -c 'for l in libfcgi0ldbl libpq5 libcurl4 libjson-c5 libssl3 adduser; do
		echo "$0" | grep -q "$l" || exit 1; done' "$deps_field"
if command -v lintian >/dev/null; then
	# Informational only: lintian is not a build dependency.
	echo "-- lintian:"
	lintian "$deb" 2>&1 | sed 's/^/   /' | head -20
fi

echo "== dpkg -i"
if dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	installed=yes
	ok "dpkg -i $(basename "$deb")"
else
	installed=yes # half-installed: purge it all the same
	bad "dpkg -i $(basename "$deb"); its output:"
	sed 's/^/     /' "$tmp/install.log"
	finish
fi

version=$(dpkg-deb -f "$deb" Version)
check "ses-feedback --version says $version" \
	sh -c '/usr/sbin/ses-feedback --version | grep -q "^ses-feedback $0 "' "$version"
check "man page /usr/share/man/man8/ses-feedback.8.gz" \
	test -f /usr/share/man/man8/ses-feedback.8.gz
if command -v man >/dev/null; then
	check "man -w ses-feedback finds it" sh -c 'man -w 8 ses-feedback | grep -q ses-feedback.8'
fi
[ "$user_existed" = yes ] &&
	echo "note the user ses-feedback existed before the install: postinst's adduser was not exercised"
check "system user ses-feedback (uid < 1000, nologin)" \
	sh -c 'e=$(getent passwd ses-feedback) && u=$(echo "$e" | cut -d: -f3) &&
		[ "$u" -lt 1000 ] && echo "$e" | grep -q "nologin$"'
check "group ses-feedback" getent group ses-feedback
check "/etc/default/ses-feedback is a conffile" \
	sh -c 'dpkg-query -W -f "\${Conffiles}" ses-feedback | grep -q " /etc/default/ses-feedback "'
check "/etc/default/ses-feedback has only comments and blank lines" \
	sh -c '! grep -qv "^[[:space:]]*\(#.*\)\?$" /etc/default/ses-feedback'

unitdir=
for d in /lib/systemd/system /usr/lib/systemd/system; do
	[ -f "$d/ses-feedback.socket" ] && unitdir=$d && break
done
units="ses-feedback.socket ses-feedback.service ses-feedback-serve.service"
for u in $units; do
	check "unit $u installed" test -n "$unitdir" -a -f "$unitdir/$u"
done
# systemd/ holds the one copy of each unit; `make install` writes it with
# ExecStart= in the configured sbindir, which for the package is /usr/sbin.
for u in $units; do
	check "unit $u is systemd/$u with sbindir /usr/sbin" \
		sh -c 'sed "s|/usr/sbin/ses-feedback|/usr/sbin/ses-feedback|" "$1" | diff - "$0"' \
		"$unitdir/$u" "$root/systemd/$u"
done
check "service units start /usr/sbin/ses-feedback" \
	sh -c 'grep -q "^ExecStart=/usr/sbin/ses-feedback" "$0" &&
		grep -q "^ExecStart=/usr/sbin/ses-feedback" "$1"' \
	"$unitdir/ses-feedback.service" "$unitdir/ses-feedback-serve.service"
check "ses-feedback.socket enabled (sockets.target.wants)" \
	test -L /etc/systemd/system/sockets.target.wants/ses-feedback.socket
check "ses-feedback-serve.service not enabled" \
	test ! -e /etc/systemd/system/multi-user.target.wants/ses-feedback-serve.service
if command -v systemd-analyze >/dev/null && [ -n "$unitdir" ]; then
	for u in $units; do
		out=$(cd / && systemd-analyze verify "$unitdir/$u" 2>&1)
		if [ $? -eq 0 ] && [ -z "$out" ]; then
			ok "systemd-analyze verify $u"
		else
			bad "systemd-analyze verify $u: $out"
		fi
	done
else
	echo "skip systemd-analyze verify (systemd-analyze not installed)"
fi

listing=$(dpkg -L ses-feedback)
for f in /usr/sbin/ses-feedback /usr/share/ses-feedback/sql/001-baseline.sql \
	/usr/share/ses-feedback/sql/functions.sql /usr/share/ses-feedback/sql/roles.sql \
	/usr/share/ses-feedback/nginx/ses-feedback.conf /usr/share/ses-feedback/nginx/example-site.conf; do
	check "dpkg -L lists $f" sh -c 'echo "$1" | grep -qx "$0"' "$f" "$listing"
done

# What ses-feedback.service does, without systemd: a listening socket on
# fd 0, the process started as the service user. A FastCGI GET (the health
# check) must get a Status line back: 200 if a local database happens to
# answer, 503 otherwise. And as root it must refuse.
if command -v python3 >/dev/null && command -v setpriv >/dev/null; then
	cat >"$tmp/fcgi_probe.py" <<'EOF'
import os, socket, struct, subprocess, sys

path, as_root = sys.argv[1], sys.argv[2] == "root"
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(path)
ls.listen(8)
os.chmod(path, 0o666)
cmd = ["/usr/sbin/ses-feedback"]
if not as_root:
    cmd = ["setpriv", "--reuid=ses-feedback", "--regid=ses-feedback", "--clear-groups"] + cmd
env = {"PATH": "/usr/bin:/bin", "SES_FEEDBACK_DSN": "host=/nonexistent connect_timeout=2"}
p = subprocess.Popen(cmd, stdin=ls.fileno(), stderr=subprocess.PIPE, env=env)
ls.close()
if as_root:
    err = p.communicate(timeout=10)[1].decode()
    sys.exit(0 if p.returncode != 0 and "refusing" in err else 1)

def rec(t, content):
    return struct.pack("!BBHHBx", 1, t, 1, len(content), 0) + content

def nv(k, v):
    return bytes([len(k), len(v)]) + k + v

params = b"".join(nv(k, v) for k, v in [(b"REQUEST_METHOD", b"GET"),
    (b"SCRIPT_NAME", b"/sns/ses-feedback"), (b"REQUEST_URI", b"/sns/ses-feedback"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"), (b"CONTENT_LENGTH", b"0")])
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.settimeout(15)
c.connect(path)
c.sendall(rec(1, struct.pack("!HB5x", 1, 0)) + rec(4, params) + rec(4, b"") + rec(5, b""))
data = b""
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
    if b"\x01\x03\x00\x01" in data:  # FCGI_END_REQUEST
        break
p.terminate()
p.wait(timeout=25)
out = b""
while len(data) >= 8:
    _, t, _, n, pad = struct.unpack("!BBHHB", data[:7])
    if t == 6:
        out += data[8:8 + n]
    data = data[8 + n + pad:]
first = out.split(b"\r\n", 1)[0].decode(errors="replace")
print(first)
sys.exit(0 if first in ("Status: 200 OK", "Status: 503 Service Unavailable")
         or first.startswith(("Status: 200", "Status: 503")) else 1)
EOF
	sockdir=$(mktemp -d /tmp/ses-feedback-sock.XXXXXX)
	chmod 0755 "$sockdir"
	if status=$(timeout 40 python3 "$tmp/fcgi_probe.py" "$sockdir/a.sock" user 2>&1); then
		ok "FastCGI on fd 0 as ses-feedback answers a GET ($status)"
	else
		bad "FastCGI on fd 0 as ses-feedback answers a GET: $status"
	fi
	check "FastCGI on fd 0 as root is refused" \
		timeout 20 python3 "$tmp/fcgi_probe.py" "$sockdir/b.sock" root
	rm -rf "$sockdir"
else
	echo "skip FastCGI fd-0 probe (python3 or setpriv missing)"
fi

echo "== dpkg --purge"
if dpkg --purge ses-feedback >"$tmp/purge.log" 2>&1; then
	installed=no
	ok "dpkg --purge ses-feedback"
else
	bad "dpkg --purge ses-feedback; its output:"
	sed 's/^/     /' "$tmp/purge.log"
fi
check "package gone" sh -c '! dpkg-query -W -f "\${Status}" ses-feedback 2>/dev/null | grep -q installed'
check "binary, units, conffile and enablement link gone" \
	sh -c '! ls /usr/sbin/ses-feedback /lib/systemd/system/ses-feedback.socket \
		/usr/lib/systemd/system/ses-feedback.socket /etc/default/ses-feedback \
		/etc/systemd/system/sockets.target.wants/ses-feedback.socket 2>/dev/null | grep -q .'

finish
