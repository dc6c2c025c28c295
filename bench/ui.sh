#!/bin/bash
# bench/ui.sh: the web UI's budgets, measured in Debian's Chromium (headless, driven by
# playwright-core) against a real berthd on loopback:
#   - first paint and "dashboard ready" (the tree shows the node and the guest list is drawn)
#     for a logged-in user, with an empty HTTP cache (cold) and a reload (warm);
#   - JavaScript shipped for the dashboard: the bytes Chromium received for scripts (gzip as
#     the proxy sends them) and their size unpacked; the lazily loaded chunks (noVNC,
#     xterm.js, charts) are listed apart with their gzip sizes from ui/dist;
#   - how long after a CT's start (or stop) task ends the resource tree shows it running
#     (or stopped), with the page open and the start done through the API by someone else.
# Not part of `make test`. Usage (as root):  bench/ui.sh      # ROUNDS=7 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-7}
scripts/install-deps.sh build run test
make build BUILD="$BUILD" >/dev/null
scripts/setup-host.sh >/dev/null

root=$(mktemp -d /var/tmp/berth-bench-ui-XXXXXX)
chmod 755 "$root"
log="$root/berthd.log"
"$BUILD/berthd" --root "$root" --listen 127.0.0.1:0 --node bench --foreground >"$log" 2>&1 &
daemon=$!
cleanup() {
	"$BUILD/berth" --root "$root" ct stop 100 >/dev/null 2>&1 || true
	"$BUILD/berth" --root "$root" ct destroy 100 --force 1 >/dev/null 2>&1 || true
	kill "$daemon" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$root/run/proxy.port" ] && [ -S "$root/run/api.sock" ] && break; sleep 0.1; done

password=bench-ui-password
echo "$password" | "$BUILD/berth" --root "$root" admin create bench@pve >/dev/null
"$BUILD/berth" --root "$root" template build busybox >/dev/null
tmpl=$("$BUILD/berth" --root "$root" get /nodes/bench/storage/local/content --content vztmpl \
	--output-format json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["volid"])')
"$BUILD/berth" --root "$root" create /nodes/bench/lxc --vmid 100 --ostemplate "$tmpl" \
	--hostname bench-ct --memory 64 >/dev/null
secret=$("$BUILD/berth" --root "$root" create /access/users/root@pam/token/bench --privsep 0 \
	--output-format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')

BERTH_URL="https://127.0.0.1:$(cat "$root/run/proxy.port")" BERTH_USER=bench@pve \
	BERTH_PASSWORD="$password" BERTH_TOKEN="root@pam!bench=$secret" ROUNDS="$ROUNDS" \
	node bench/ui-measure.mjs
