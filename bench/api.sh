#!/bin/bash
# bench/api.sh: HTTPS API throughput with an API token (wrk) and the memory of both berthd
# processes, idle and after load. Not part of `make test`. Usage (as root):
#   bench/api.sh            # DURATION=10 CONNS=32 THREADS=2 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
scripts/install-deps.sh build run bench
[ -x "$BUILD/berthd" ] || make build BUILD="$BUILD" >/dev/null

root=$(mktemp -d /tmp/berth-bench-XXXXXX)
chmod 755 "$root" # the proxy user reaches the daemon's sockets below it
log="$root/berthd.log"
"$BUILD/berthd" --root "$root" --listen 127.0.0.1:0 --node bench --foreground >"$log" 2>&1 &
daemon=$!
cleanup() { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$root/run/proxy.port" ] && [ -S "$root/run/api.sock" ] && break; sleep 0.1; done
port=$(cat "$root/run/proxy.port")
proxy=$(pgrep -P "$daemon" -x berthd-proxy)

secret=$("$BUILD/berth" --root "$root" create /access/users/root@pam/token/bench --privsep 0 \
	--output-format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
lua="$root/auth.lua"
printf 'wrk.headers["Authorization"] = "PVEAPIToken=root@pam!bench=%s"\n' "$secret" > "$lua"

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# PSS shares each page among the processes mapping it: the two daemons map the same
# libraries (libcrypto, libc), which RSS counts once per process
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
anon_kib() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }
sleep 1
idle_root=$(rss_kib "$daemon"); idle_proxy=$(rss_kib "$proxy")
idle_pss=$(( $(pss_kib "$daemon") + $(pss_kib "$proxy") ))
idle_anon=$(( $(anon_kib "$daemon") + $(anon_kib "$proxy") ))

run() {
	local path=$1
	# a check that the route answers 200 with the token before measuring
	code=$(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: PVEAPIToken=root@pam!bench=$secret" \
		"https://127.0.0.1:$port$path")
	[ "$code" = 200 ] || { echo "GET $path answered $code" >&2; exit 1; }
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$lua" "https://127.0.0.1:$port$path")
	rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
	p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
	p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
	errors=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out" | tr '\n' ' ')
	printf '| GET %-28s | %10s | %8s | %8s | %s\n' "$path" "$rps" "$p50" "$p99" "${errors:-no errors}"
}

echo "berth API bench: wrk -t$THREADS -c$CONNS -d${DURATION}s over HTTPS, token auth, $(nproc) CPUs"
echo "| request                          |      req/s |      p50 |      p99 | errors"
echo "|----------------------------------|------------|----------|----------|-------"
run /api2/json/version
run /api2/json/nodes/bench/status
load_root=$(rss_kib "$daemon"); load_proxy=$(rss_kib "$proxy")
echo
echo "| RSS (KiB)       | root daemon | proxy | together |"
echo "|-----------------|-------------|-------|----------|"
printf '| idle            | %11s | %5s | %8s |\n' "$idle_root" "$idle_proxy" $((idle_root + idle_proxy))
printf '| after the load  | %11s | %5s | %8s |\n' "$load_root" "$load_proxy" $((load_root + load_proxy))
echo
echo "idle, both processes: PSS $idle_pss KiB, anonymous (heap, stacks) $idle_anon KiB"
