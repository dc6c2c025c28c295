#!/bin/bash
# bench/storage.sh: storage operations through Berth's storage layer next to the raw commands
# they stand for (ratio = berth / raw), and upload throughput through the HTTPS proxy next to
# `cp` of the same file. Not part of `make test`. Usage (as root):
#   bench/storage.sh            # ROUNDS=10 UPLOAD_MIB=2048 BUILD=build
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-10}
UPLOAD_MIB=${UPLOAD_MIB:-2048}
scripts/install-deps.sh build run bench
[ -x "$BUILD/berthd" ] || make build BUILD="$BUILD" >/dev/null
volop="$BUILD/tests/tools/berth-volop"

work=$(mktemp -d /var/tmp/berth-bench-storage-XXXXXX)
chmod 755 "$work" # the proxy user reaches the daemon's sockets below it
mnt="$work/btrfs"
daemon=
cleanup() {
	[ -n "$daemon" ] && { kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; }
	mountpoint -q "$mnt" && umount "$mnt"
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/dir" "$work/raw" "$mnt"
truncate -s 4G "$work/btrfs.img"
mkfs.btrfs -q "$work/btrfs.img"
mount -o loop "$work/btrfs.img" "$mnt"
mkdir -p "$mnt/b1" "$mnt/raw"
cat >"$work/storage.cfg" <<CFG
dir: d1
	path $work/dir
	content images,rootdir

btrfs: b1
	path $mnt/b1
	content images,rootdir
CFG
op() { "$volop" --config "$work/storage.cfg" "$@" >/dev/null; }
now_ns() { date +%s%N; }
# mean milliseconds of ROUNDS runs of "$@" with $i set to the round
timeit() {
	local t0 t1 total=0
	for i in $(seq "$ROUNDS"); do
		t0=$(now_ns); eval "$1"; t1=$(now_ns)
		total=$((total + t1 - t0))
	done
	awk -v t="$total" -v n="$ROUNDS" 'BEGIN { printf "%.2f", t / n / 1e6 }'
}
row() { # name berth_ms raw_ms
	awk -v a="$2" -v b="$3" -v n="$1" 'BEGIN { printf "| %-34s | %9.2f | %9.2f | %5.2f |\n", n, a, b, a / b }'
}

echo "berth storage bench: $ROUNDS rounds each, $(nproc) CPUs, $(uname -r)"
echo "| operation                          | berth ms  |   raw ms  | ratio |"
echo "|------------------------------------|-----------|-----------|-------|"

# dir: qcow2 allocate, snapshot, rollback, linked clone
b=$(timeit 'op alloc d1 $((100 + i)) qcow2 1048576')
r=$(timeit 'qemu-img create -q -f qcow2 "$work/raw/q$i.qcow2" 1G')
row "dir: allocate qcow2 1 GiB" "$b" "$r"
b=$(timeit 'op snapshot d1:$((100 + i))/vm-$((100 + i))-disk-0.qcow2 s1')
r=$(timeit 'qemu-img snapshot -c s1 --image-opts "driver=qcow2,file.filename=$work/raw/q$i.qcow2"')
row "dir: qcow2 snapshot" "$b" "$r"
b=$(timeit 'op rollback d1:$((100 + i))/vm-$((100 + i))-disk-0.qcow2 s1')
r=$(timeit 'qemu-img snapshot -a s1 --image-opts "driver=qcow2,file.filename=$work/raw/q$i.qcow2"')
row "dir: qcow2 rollback" "$b" "$r"
op alloc d1 900 qcow2 1048576
op create-base d1:900/vm-900-disk-0.qcow2
qemu-img create -q -f qcow2 "$work/raw/base.qcow2" 1G
b=$(timeit 'op clone d1:900/base-900-disk-0.qcow2 $((200 + i))')
r=$(timeit 'qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 "$work/raw/c$i.qcow2"')
row "dir: qcow2 linked clone" "$b" "$r"

# btrfs: raw allocate (subvolume + file), snapshot, rollback, linked clone
b=$(timeit 'op alloc b1 $((100 + i)) raw 1048576')
r=$(timeit 'btrfs -q subvolume create "$mnt/raw/v$i" && truncate -s 1G "$mnt/raw/v$i/disk.raw"')
row "btrfs: allocate raw 1 GiB" "$b" "$r"
b=$(timeit 'op snapshot b1:$((100 + i))/vm-$((100 + i))-disk-0.raw s1')
r=$(timeit 'btrfs -q subvolume snapshot -r "$mnt/raw/v$i" "$mnt/raw/v$i@s1"')
row "btrfs: snapshot" "$b" "$r"
b=$(timeit 'op rollback b1:$((100 + i))/vm-$((100 + i))-disk-0.raw s1')
r=$(timeit 'btrfs -q subvolume snapshot "$mnt/raw/v$i@s1" "$mnt/raw/v$i.new" && btrfs -q subvolume delete "$mnt/raw/v$i" && mv "$mnt/raw/v$i.new" "$mnt/raw/v$i"')
row "btrfs: rollback" "$b" "$r"
op alloc b1 900 raw 1048576
op create-base b1:900/vm-900-disk-0.raw
b=$(timeit 'op clone b1:900/base-900-disk-0.raw $((200 + i))')
r=$(timeit 'btrfs -q subvolume snapshot "$mnt/raw/v1" "$mnt/raw/clone$i"')
row "btrfs: linked clone" "$b" "$r"

# upload through the proxy versus cp
root="$work/root"
mkdir -p "$root"
"$BUILD/berthd" --root "$root" --listen 127.0.0.1:0 --node bench --foreground >"$work/berthd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -s "$root/run/proxy.port" ] && [ -S "$root/run/api.sock" ] && break; sleep 0.1; done
port=$(cat "$root/run/proxy.port")
proxy=$(pgrep -P "$daemon" -x berthd-proxy)
secret=$("$BUILD/berth" --root "$root" create /access/users/root@pam/token/bench --privsep 0 \
	--output-format json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
head -c "$((UPLOAD_MIB << 20))" /dev/urandom >"$work/upload.iso"
sync
t0=$(now_ns); cp "$work/upload.iso" "$work/copy.iso"; sync; t1=$(now_ns)
cp_ms=$(( (t1 - t0) / 1000000 )); rm -f "$work/copy.iso"
t0=$(now_ns)
upid=$(curl -sk -H "Authorization: PVEAPIToken=root@pam!bench=$secret" \
	-F content=iso -F "filename=@$work/upload.iso" \
	"https://127.0.0.1:$port/api2/json/nodes/bench/storage/local/upload" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["data"])')
while "$BUILD/berth" --root "$root" get "/nodes/bench/tasks/$upid/status" --output-format json |
	grep -q '"running"'; do sleep 0.2; done
sync; t1=$(now_ns)
up_ms=$(( (t1 - t0) / 1000000 ))
status=$("$BUILD/berth" --root "$root" get "/nodes/bench/tasks/$upid/status" --output-format json)
grep -q '"exitstatus": *"OK"' <<<"$status" || { echo "upload task failed: $status" >&2; exit 1; }
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$proxy/status")
echo
echo "| upload of $UPLOAD_MIB MiB                 |   ms  | MiB/s | ratio to cp |"
echo "|---------------------------------|-------|-------|-------------|"
awk -v ms="$cp_ms" -v n="$UPLOAD_MIB" 'BEGIN { printf "| cp + sync                       | %5d | %5.0f | 1.00        |\n", ms, n / ms * 1000 }'
awk -v ms="$up_ms" -v c="$cp_ms" -v n="$UPLOAD_MIB" 'BEGIN { printf "| HTTPS upload (curl -F) + task  | %5d | %5.0f | %5.2f       |\n", ms, n / ms * 1000, ms / c }'
echo "proxy peak RSS (VmHWM) during the upload: $hwm KiB"
