#!/bin/sh
# Install the Debian packages Berth needs that are missing (scripts/packages.txt).
# Usage: install-deps.sh [group ...]   (default: build run test)
set -eu
cd "$(dirname "$0")/.."
groups="${*:-build run test}"
missing=""
while read -r pkg group; do
	case "$pkg" in ''|'#'*) continue ;; esac
	case " $groups " in *" $group "*) ;; *) continue ;; esac
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $pkg"
done < scripts/packages.txt
# The web UI's build needs Node.js and npm. A machine may have them from elsewhere (NodeSource
# ships npm inside its nodejs package), so look for the commands, not for Debian's packages.
case " $groups " in *" build "*)
	command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm" ;;
esac
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "berth: missing Debian packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "berth: installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
