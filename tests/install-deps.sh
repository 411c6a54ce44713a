#!/bin/sh
# SPDX-License-Identifier: ISC
# Install what building and testing ses-feedback needs on Debian 12, if
# missing. Needs root (or nothing to install).
set -e
pkgs="build-essential autoconf automake libtool pkg-config libfcgi-dev libfcgi-bin
libjson-c-dev libcurl4-openssl-dev libssl-dev libpq-dev libcmocka-dev
postgresql-15 postgresql-client-15 nginx-light spawn-fcgi openssl ca-certificates
python3 procps pgbouncer valgrind clang libclang-rt-14-dev
apache2 libapache2-mod-fcgid dpkg-dev debhelper systemd prometheus faketime wrk
chromium chromium-driver fonts-dejavu-core"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's postgresql package would start a cluster on 5432; the tests use
# their own. Keep package installs from starting services.
if [ ! -e /usr/sbin/policy-rc.d ] && [ "${SES_FEEDBACK_START_SERVICES:-no}" != yes ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# prometheus is there for promtool (the alert rules' tests): its daemon
# must not run, now or at boot. Only when this script installed it.
case " $missing " in *" prometheus "*)
	systemctl disable --now prometheus.service >/dev/null 2>&1 || true
	invoke-rc.d prometheus stop >/dev/null 2>&1 || true
	update-rc.d prometheus disable >/dev/null 2>&1 || true ;;
esac
