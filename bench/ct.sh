#!/bin/bash
# bench/ct.sh: containers through Berth's API next to raw LXC on the same rootfs (ratio =
# berth / raw): start (API call until the start task reports the CT running, i.e. liblxc saw
# init run), stop, and create from the busybox template next to extracting the same tarball;
# then host memory per idle running CT with N containers. LXD is measured where `lxc` (LXD's
# client) is installed and initialised; otherwise the line says why not. Not part of
# `make test`. Usage (as root):
#   bench/ct.sh            # ROUNDS=10 N_CTS=50 BUILD=build DIR=/var/tmp
# DIR holds the bench's root (storage included); both sides extract and start there.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-10}
N_CTS=${N_CTS:-50}
scripts/install-deps.sh build run bench
[ -x "$BUILD/berthd" ] || make build BUILD="$BUILD" >/dev/null
scripts/setup-host.sh >/dev/null

root=$(mktemp -d "${DIR:-/var/tmp}/berth-bench-ct-XXXXXX")
chmod 755 "$root" # the proxy user and the CTs' mapped root reach paths below it
log="$root/berthd.log"
"$BUILD/berthd" --root "$root" --listen 127.0.0.1:0 --node bench --foreground >"$log" 2>&1 &
daemon=$!
cleanup() {
	for d in "$root"/rawlxc/*/; do
		[ -d "$d" ] && lxc-stop -k -n "$(basename "$d")" -P "$root/rawlxc" >/dev/null 2>&1 || true
	done
	if [ -S "$root/run/api.sock" ]; then
		for id in $("$BUILD/berth" --root "$root" get /nodes/localhost/lxc --output-format json 2>/dev/null |
			python3 -c 'import json,sys; print(" ".join(str(c["vmid"]) for c in json.load(sys.stdin)))'); do
			"$BUILD/berth" --root "$root" ct destroy "$id" --force 1 >/dev/null 2>&1 || true
		done
	fi
	kill "$daemon" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$root/run/proxy.port" ] && [ -S "$root/run/api.sock" ] && break; sleep 0.1; done

"$BUILD/berth" --root "$root" template build busybox >/dev/null
secret=$("$BUILD/berth" --root "$root" create /access/users/root@pam/token/bench --privsep 0 \
	--output-format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')

ROOT="$root" PORT=$(cat "$root/run/proxy.port") SECRET="$secret" ROUNDS="$ROUNDS" N_CTS="$N_CTS" \
	BERTH="$BUILD/berth" /usr/bin/python3 - <<'PY'
import http.client, json, os, ssl, subprocess, time, statistics, urllib.parse
root, port, rounds, n_cts = os.environ["ROOT"], os.environ["PORT"], int(os.environ["ROUNDS"]), int(os.environ["N_CTS"])
# one kept-alive HTTPS connection with the least client-side work per call (the requests
# library spent 2-3 ms per call here, more than the server): the figures are Berth's
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
auth = {"Authorization": f"PVEAPIToken=root@pam!bench={os.environ['SECRET']}"}
prefix = "/api2/json/nodes/localhost"

def api(method, path, **data):
    body, headers = None, dict(auth)
    path = prefix + path
    if method == "GET" and data:
        path += "?" + urllib.parse.urlencode(data)
    elif data:
        body = urllib.parse.urlencode(data)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    text = r.read()
    if r.status != 200:
        raise SystemExit(f"{method} {path}: {r.status} {r.reason}")
    return json.loads(text)["data"]

def wait(upid):
    while True:
        st = api("GET", f"/tasks/{upid}/status")
        if st["status"] == "stopped":
            if st.get("exitstatus") != "OK":
                raise SystemExit(f"task {upid}: {st.get('exitstatus')}")
            return
        time.sleep(0.001)

def timed(fn):
    t0 = time.perf_counter(); fn(); return (time.perf_counter() - t0) * 1000

tmpl = [c["volid"] for c in api("GET", "/storage/local/content", content="vztmpl")
        if "busybox" in c["volid"]][0]
tmpl_path = subprocess.run([os.environ["BERTH"], "--root", root, "get",
                            f"/nodes/localhost/storage/local/content/{tmpl}", "--output-format", "json"],
                           capture_output=True, text=True, check=True)
tar_path = json.loads(tmpl_path.stdout)["path"]

rows = []
def row(name, berth, raw):
    b, r = statistics.median(berth), statistics.median(raw)
    rows.append(f"| {name:<44} | {b:9.1f} | {r:9.1f} | {b / r:5.2f} |")

# create: a directory rootfs (size 0), next to extracting the same tarball into a directory
# inside a user namespace (what any unprivileged create has to do at least)
create, extract = [], []
for i in range(rounds):  # interleaved, so both sides see the same machine
    vmid = 300 + i
    create.append(timed(lambda: wait(api("POST", "/lxc", vmid=vmid, ostemplate=tmpl,
                                         rootfs="local:0", hostname=f"b{vmid}"))))
    d = f"{root}/extract{i}"
    os.makedirs(d); os.chown(d, 100000, 100000)
    extract.append(timed(lambda: subprocess.run(
        f"zstd -dc {tar_path} | unshare --map-users=100000,0,65536 --map-groups=100000,0,65536 "
        f"--setuid 0 --setgid 0 tar -x -p --numeric-owner -C {d} -f -", shell=True, check=True)))
row("create from template vs zstd|tar in userns", create, extract)

# start/stop: CT 300 through Berth; the same rootfs directory under raw lxc-start with the
# config Berth generated (rootfs path pointed at the directory). lxc-start as installed maps
# the CT's ids through the setuid newuidmap/newgidmap it finds on PATH; Berth's start helper
# has liblxc write the maps itself (it runs as root), so raw is also timed that way.
conf = open(f"{root}/lxc/300/config").read() if os.path.exists(f"{root}/lxc/300/config") else None
if conf is None:
    wait(api("POST", "/lxc/300/status/start")); wait(api("POST", "/lxc/300/status/stop"))
    conf = open(f"{root}/lxc/300/config").read()
vol = json.loads(subprocess.run([os.environ["BERTH"], "--root", root, "get",
                                 "/nodes/localhost/lxc/300/config", "--output-format", "json"],
                                capture_output=True, text=True, check=True).stdout)["rootfs"].split(",")[0]
voldir = json.loads(subprocess.run([os.environ["BERTH"], "--root", root, "get",
                                    f"/nodes/localhost/storage/local/content/{vol}", "--output-format", "json"],
                                   capture_output=True, text=True, check=True).stdout)["path"]
rawpath = f"{root}/rawlxc"
os.makedirs(f"{rawpath}/raw300", exist_ok=True)
lines = []
for l in conf.splitlines():
    if l.startswith("lxc.rootfs.path"):
        l = f"lxc.rootfs.path = dir:{voldir}"
    elif l.startswith(("lxc.cgroup.dir", "lxc.log.file")):
        l = l.replace("/300", "/raw300")
    lines.append(l)
open(f"{rawpath}/raw300/config", "w").write("\n".join(lines) + "\n")
os.chmod(rawpath, 0o711); os.chmod(f"{rawpath}/raw300", 0o711)
nomap = dict(os.environ, PATH="/nonexistent")
raw_start = ["/usr/bin/lxc-start", "-n", "raw300", "-P", rawpath, "-d"]
raw_stop = ["/usr/bin/lxc-stop", "-k", "-n", "raw300", "-P", rawpath]
start, stop, rstart, rstop, rstart2 = [], [], [], [], []
for i in range(rounds):  # interleaved
    start.append(timed(lambda: wait(api("POST", "/lxc/300/status/start"))))
    stop.append(timed(lambda: wait(api("POST", "/lxc/300/status/stop"))))
    rstart.append(timed(lambda: subprocess.run(raw_start, check=True)))
    rstop.append(timed(lambda: subprocess.run(raw_stop, check=True)))
    rstart2.append(timed(lambda: subprocess.run(raw_start, check=True, env=nomap)))
    subprocess.run(raw_stop, check=True)
row("start (API → running) vs lxc-start -d", start, rstart)
row("start vs lxc-start -d, maps written by liblxc", start, rstart2)
row("stop (API → stopped) vs lxc-stop -k", stop, rstop)

print(f"berth ct bench: {rounds} rounds each (median), {os.cpu_count()} CPUs, {os.uname().release}")
print("| operation                                    |  berth ms |    raw ms | ratio |")
print("|----------------------------------------------|-----------|-----------|-------|")
for r in rows:
    print(r)

# memory: N idle running CTs; per CT = the monitor's PSS + the CT's cgroup memory
def meminfo(key):
    for l in open("/proc/meminfo"):
        if l.startswith(key + ":"):
            return int(l.split()[1])
def pss(pid):
    for l in open(f"/proc/{pid}/smaps_rollup"):
        if l.startswith("Pss:"):
            return int(l.split()[1])
    return 0
def daemon_rss():
    pid = int(subprocess.run(["pgrep", "-o", "-f", f"berthd --root {root}"], capture_output=True,
                             text=True).stdout.split()[0])
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1])
rss0 = daemon_rss()
avail0 = meminfo("MemAvailable")
ids = []
for i in range(n_cts):
    vmid = 400 + i
    wait(api("POST", "/lxc", vmid=vmid, ostemplate=tmpl, rootfs="local:0", hostname=f"m{vmid}", memory=64))
    wait(api("POST", f"/lxc/{vmid}/status/start"))
    ids.append(vmid)
time.sleep(3)
mon = cg = 0
for vmid in ids:
    procs = open(f"/sys/fs/cgroup/memory/lxc.monitor/{vmid}/cgroup.procs").read().split() \
        if os.path.exists("/sys/fs/cgroup/memory/lxc.monitor") else \
        open(f"/sys/fs/cgroup/lxc.monitor/{vmid}/cgroup.procs").read().split()
    mon += sum(pss(p) for p in procs)
    st = api("GET", f"/lxc/{vmid}/status/current")
    cg += st["mem"] // 1024
avail1 = meminfo("MemAvailable")
rss1 = daemon_rss()
print()
print(f"{n_cts} idle busybox CTs running:")
print(f"  per CT: monitor PSS {mon / n_cts / 1024:.2f} MiB + CT memory {cg / n_cts / 1024:.2f} MiB "
      f"= {(mon + cg) / n_cts / 1024:.2f} MiB (raw LXC measured here before: 0.6-0.7 MiB)")
print(f"  host MemAvailable drop per CT: {(avail0 - avail1) / n_cts / 1024:.2f} MiB")
print(f"  berthd RSS: {rss0 / 1024:.1f} MiB before, {rss1 / 1024:.1f} MiB with {n_cts} CTs")
t0 = time.perf_counter()
api("GET", "/lxc")
print(f"  GET /nodes/{{node}}/lxc with {n_cts} CTs: {(time.perf_counter() - t0) * 1000:.1f} ms")
PY

if command -v lxc >/dev/null && lxc info >/dev/null 2>&1; then
	echo "LXD: present; compare with 'lxc launch/start/stop --force' by hand (not automated yet)"
else
	echo "LXD: not measured (LXD is not installed/initialised here; NOTES.md's figures: launch 263 ms, start 203 ms, stop --force 704 ms)"
fi
