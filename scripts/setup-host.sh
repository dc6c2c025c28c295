#!/bin/sh
# Prepare this host for Berth (idempotent, needs root):
#  - system user `berth` for the unprivileged HTTPS proxy;
#  - root:100000:65536 in /etc/subuid and /etc/subgid for unprivileged containers;
#  - PAM service `berth` for the pam realm (common-auth + common-account).
set -eu
if [ "$(id -u)" -ne 0 ]; then
	echo "berth: setup-host.sh must run as root" >&2
	exit 1
fi
if ! getent passwd berth >/dev/null; then
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		--user-group berth
	echo "berth: created system user berth"
fi
for f in /etc/subuid /etc/subgid; do
	touch "$f"
	if ! grep -q '^root:100000:65536$' "$f"; then
		echo 'root:100000:65536' >> "$f"
		echo "berth: added root:100000:65536 to $f"
	fi
done
if [ ! -e /etc/pam.d/berth ]; then
	cat > /etc/pam.d/berth <<'PAM'
# PAM service for Berth's pam realm (written by berth's setup-host.sh)
auth    include common-auth
account include common-account
PAM
	echo "berth: created /etc/pam.d/berth"
fi
# a bridge vmbr0 for guests when the host has none (isolated, NAT'ed)
"$(dirname "$0")/setup-bridge.sh"
