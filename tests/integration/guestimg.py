"""Small bootable test guests for the VM tests, built from Debian packages on this machine.

build_guest_images(outdir) makes (or finds already made) two hybrid ISOs that boot under both
SeaBIOS and OVMF through GRUB (grub-mkrescue), and returns their paths:

  berth-linux.iso    Debian's kernel + a busybox initramfs whose /init prints a boot report on
                     the serial console (and tty0): BERTH-FW=bios|efi, BERTH-NIC=..., BERTH-DISK=...,
                     then BERTH-GUEST-UP last; it powers off on the ACPI power button (printing
                     BERTH-POWEROFF first) and keeps a root shell on ttyS0 (prompt "guest# ").
  berth-memtest.iso  memtest86+ (Debian's package) with its serial console on ttyS0.

Nothing is downloaded: the inputs are the files of the packages linux-image-amd64,
busybox-static, memtest86+ and GRUB's (scripts/packages.txt, group test). The images are cached
by content in outdir: a build happens only when an input (or this file) changed. See
docs/testing.md, "Test guests".

Run by hand: python3 tests/integration/guestimg.py [OUTDIR]
"""
import fcntl
import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

FORMAT = 1  # bump to force a rebuild when the image layout changes in a way inputs don't show

LINUX_ISO = "berth-linux.iso"
MEMTEST_ISO = "berth-memtest.iso"

# What the Linux guest prints (one line each, on ttyS0 and tty0).
MARKER = "BERTH-GUEST-UP"
POWEROFF_MARKER = "BERTH-POWEROFF"
PROMPT = "guest# "
# A line memtest86+ (v6) prints on its serial console once its screen is up.
MEMTEST_MARKER = "Memtest86+"

KERNEL_ARGS = "console=ttyS0,115200 console=tty0 quiet loglevel=3 no_timer_check"

# Kernel modules the guest loads (with their dependencies), in this order, when Debian's
# kernel has them as modules: the ACPI power button and evdev (to see it), virtio-net and
# virtio-blk (to report NICs and disks, and to configure an address if asked).
GUEST_MODULES = ["button", "evdev", "virtio_pci", "virtio_net", "virtio_blk"]

# Debian packages whose files the images are made of (their versions are part of the cache key).
PACKAGES = ["linux-image-amd64", "busybox-static", "memtest86+", "grub-common", "grub-pc-bin",
            "grub-efi-amd64-bin", "xorriso", "mtools"]
TOOLS = ["grub-mkrescue", "xorriso", "mformat", "mcopy"]

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"

INIT = r"""#!/bin/sh
# /init of the Berth test guest (PID 1). Prints its boot report on ttyS0 and tty0, ending with
# BERTH-GUEST-UP; powers off on the ACPI power button; keeps a shell on ttyS0.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=vt100 PS1='guest# '
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
# Hold the serial port open from now on: input typed before the shell starts is kept.
{ command exec 3<>/dev/ttyS0; } 2>/dev/null || exec 3>/dev/null
say() { echo "$*" >&3; echo "$*" >/dev/tty0; } 2>/dev/null

for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko 2>/dev/null; done
acpid -c /etc/acpi -l /run/acpid.log -p /run/acpid.pid

fw=bios
[ -d /sys/firmware/efi ] && fw=efi
say "BERTH-FW=$fw"

# berth.ip=ADDR/PREFIX and berth.gw=ADDR from the kernel command line or the SMBIOS system
# serial (smbios1: serial=..., words separated by spaces or ';') configure eth0.
ip link set lo up
ip= gw=
for w in $(cat /proc/cmdline) $(tr ';' ' ' </sys/class/dmi/id/product_serial 2>/dev/null); do
	case "$w" in
	berth.ip=*) ip=${w#berth.ip=} ;;
	berth.gw=*) gw=${w#berth.gw=} ;;
	esac
done
for n in /sys/class/net/*; do
	n=${n##*/}
	[ "$n" = lo ] || say "BERTH-NIC=$n $(cat /sys/class/net/$n/address)"
done
if [ -n "$ip" ] && [ -d /sys/class/net/eth0 ]; then
	ip link set eth0 up && ip addr add "$ip" dev eth0 && say "BERTH-IP=eth0 $ip"
	[ -n "$gw" ] && ip route add default via "$gw"
fi
for b in /sys/block/vd*; do
	[ -e "$b" ] && say "BERTH-DISK=${b##*/} $(cat $b/size)"
done

# Lines typed on the keyboard (QMP send-key) come back on serial as BERTH-KEYS=<line>.
(while IFS= read -r l; do say "BERTH-KEYS=$l"; done </dev/tty1) 2>/dev/null &
# A root shell on the serial console, restarted when it exits.
(while :; do setsid -c sh -i <&3 >&3 2>&3; sleep 1; done) &

say "BERTH-GUEST-UP"
# PID 1 reaps orphans while it waits for its background jobs (which never end).
while :; do wait; sleep 1; done
"""

POWER_BUTTON = r"""#!/bin/sh
# busybox acpid runs this on the ACPI power button (PWRF)
echo BERTH-POWEROFF >/dev/ttyS0
echo BERTH-POWEROFF >/dev/tty0
poweroff -f
"""

GRUB_LINUX = r"""# Berth test guest (tests/integration/guestimg.py)
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set timeout_style=hidden
menuentry "Berth test guest" {
	linux /boot/vmlinuz %s
	initrd /boot/initrd.gz
}
""" % KERNEL_ARGS

GRUB_MEMTEST = r"""# Berth memtest guest (tests/integration/guestimg.py)
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
set timeout_style=hidden
menuentry "memtest86+ (serial console)" {
	if [ "$grub_platform" = "efi" ]; then
		linux /boot/memtest86+x64.efi console=ttyS0,115200
	else
		linux /boot/memtest86+x64.bin console=ttyS0,115200
	fi
}
"""


class GuestImageError(Exception):
    """The images cannot be built here (a tool or input is missing, or a build step failed)."""


def default_cache_dir():
    """$BERTH_GUEST_CACHE, else guest-images/ in the build directory ($BERTH_BUILD or build/)."""
    if os.environ.get("BERTH_GUEST_CACHE"):
        return os.environ["BERTH_GUEST_CACHE"]
    build = os.environ.get("BERTH_BUILD") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
    return os.path.join(os.path.abspath(build), "guest-images")


def missing_tools():
    """Names of the build tools and inputs that are not on this machine (empty: all there)."""
    missing = [t for t in TOOLS if not shutil.which(t)]
    for platform in ("i386-pc", "x86_64-efi"):
        if not os.path.isdir(os.path.join("/usr/lib/grub", platform)):
            missing.append(f"/usr/lib/grub/{platform} (grub-pc-bin / grub-efi-amd64-bin)")
    try:
        find_kernel()
    except GuestImageError as e:
        missing.append(str(e))
    if not _is_static_elf("/bin/busybox"):
        missing.append("a static /bin/busybox (busybox-static)")
    for f in ("/boot/memtest86+x64.bin", "/boot/memtest86+x64.efi"):
        if not os.path.exists(f):
            missing.append(f"{f} (memtest86+)")
    return missing


# ---- inputs ----

def _version_key(v):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", v)]


def find_kernel():
    """(version, vmlinuz path) of the newest /boot/vmlinuz-* that has its modules installed."""
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        ver = os.path.basename(path)[len("vmlinuz-"):]
        if os.path.exists(f"/lib/modules/{ver}/modules.dep") and os.access(path, os.R_OK):
            found.append(ver)
    if not found:
        raise GuestImageError("a readable /boot/vmlinuz-* with /lib/modules (linux-image-amd64)")
    ver = max(found, key=_version_key)
    return ver, f"/boot/vmlinuz-{ver}"


def module_files(ver, names=GUEST_MODULES):
    """[(name, path)] of the named modules and their dependencies, dependencies first; names
    built into the kernel are left out."""
    base = f"/lib/modules/{ver}"
    deps = {}
    with open(os.path.join(base, "modules.dep")) as f:
        for line in f:
            target, _, rest = line.partition(":")
            deps[target] = rest.split()
    by_name = {}
    for target in deps:
        n = os.path.basename(target).split(".ko")[0]
        by_name[n] = target
        by_name.setdefault(n.replace("-", "_"), target)
    order, seen = [], set()

    def visit(target):
        if target in seen:
            return
        seen.add(target)
        # modules.dep lists the full closure; visit it in reverse so deepest come first
        for d in reversed(deps.get(target, [])):
            visit(d)
        order.append(target)

    for n in names:
        if n in by_name:
            visit(by_name[n])
    return [(os.path.basename(t).split(".ko")[0], os.path.join(base, t)) for t in order]


def _is_static_elf(path):
    """True when path is an ELF executable without a program interpreter (statically linked)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:
                return False
            phoff = int.from_bytes(head[32:40], "little")
            phentsize = int.from_bytes(head[54:56], "little")
            phnum = int.from_bytes(head[56:58], "little")
            f.seek(phoff)
            table = f.read(phentsize * phnum)
    except OSError:
        return False
    return all(int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") != 3  # PT_INTERP
               for i in range(phnum))


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _package_versions():
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + PACKAGES,
                             capture_output=True, text=True).stdout
    except OSError:
        return ""
    return out


# ---- the initramfs (cpio "newc", written here) ----

class Cpio:
    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        self.out.write(b"070701" + b"".join(b"%08X" % v for v in fields))
        self.out.write(name_b)
        self.out.write(b"\0" * (-(110 + len(name_b)) % 4))
        self.out.write(data)
        self.out.write(b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor, mode=0o600):
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self):
        self._entry("TRAILER!!!", 0)
        return self.out.getvalue()


def make_initramfs(ver, busybox="/bin/busybox"):
    """The guest's initramfs (gzip-compressed cpio) as bytes."""
    c = Cpio()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "run", "tmp",
              "root", "etc", "etc/acpi", "etc/acpi/PWRF", "lib", "lib/modules", "var"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)
    c.chardev("dev/null", 1, 3, 0o666)
    c.symlink("var/run", "../run")
    with open(busybox, "rb") as f:
        c.file("bin/busybox", f.read(), 0o755)
    applets = subprocess.run([busybox, "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in sorted(set(applets)):
        if a != "bin/busybox":
            c.symlink(a, "/bin/busybox")
    c.file("init", INIT.encode(), 0o755)
    c.file("etc/acpi/PWRF/00000080", POWER_BUTTON.encode(), 0o755)
    mods = module_files(ver)
    for name, path in mods:
        with open(path, "rb") as f:
            c.file(f"lib/modules/{name}.ko", f.read())
    c.file("etc/modules", "".join(n + "\n" for n, _ in mods).encode())
    return gzip.compress(c.finish(), 9, mtime=0)


# ---- building ----

def _inputs():
    """Everything the images are made of: {name: content hash or text}."""
    ver, vmlinuz = find_kernel()
    inputs = {
        "format": FORMAT,
        "builder": _sha256_file(os.path.abspath(__file__)),
        "packages": _package_versions(),
        "kernel": ver,
        "vmlinuz": _sha256_file(vmlinuz),
        "busybox": _sha256_file("/bin/busybox"),
        "memtest": [_sha256_file(f"/boot/memtest86+x64.{e}") for e in ("bin", "efi")],
    }
    inputs["modules"] = [(n, _sha256_file(p)) for n, p in module_files(ver)]
    return inputs


def _mkrescue(staging, out, volid):
    cmd = ["grub-mkrescue", "-o", out, "--fonts=", "--locales=", "--themes=", staging,
           "--", "-volid", volid]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(out):
        raise GuestImageError(f"grub-mkrescue failed ({r.returncode}):\n{r.stdout}{r.stderr}")


def _build_linux(tmp, out, ver, vmlinuz):
    staging = os.path.join(tmp, "linux")
    os.makedirs(os.path.join(staging, "boot", "grub"))
    shutil.copyfile(vmlinuz, os.path.join(staging, "boot", "vmlinuz"))
    with open(os.path.join(staging, "boot", "initrd.gz"), "wb") as f:
        f.write(make_initramfs(ver))
    with open(os.path.join(staging, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_LINUX)
    _mkrescue(staging, out, "BERTH_LINUX")


def _build_memtest(tmp, out):
    staging = os.path.join(tmp, "memtest")
    os.makedirs(os.path.join(staging, "boot", "grub"))
    for e in ("bin", "efi"):
        shutil.copyfile(f"/boot/memtest86+x64.{e}",
                        os.path.join(staging, "boot", f"memtest86+x64.{e}"))
    with open(os.path.join(staging, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB_MEMTEST)
    _mkrescue(staging, out, "BERTH_MEMTEST")


def build_guest_images(outdir=None, force=False):
    """Build the test guest ISOs in outdir (default: default_cache_dir()) unless they are
    there already for the same inputs. Returns {"linux": path, "memtest": path,
    "built": bool, "kernel": version}. Raises GuestImageError when they cannot be built.
    Safe to call from several processes at once (a lock file serialises builds)."""
    outdir = os.path.abspath(outdir or default_cache_dir())
    missing = missing_tools()
    if missing:
        raise GuestImageError("cannot build the test guests, missing: " + ", ".join(missing))
    os.makedirs(outdir, exist_ok=True)
    ver, vmlinuz = find_kernel()
    key = hashlib.sha256(json.dumps(_inputs(), sort_keys=True).encode()).hexdigest()
    paths = {"linux": os.path.join(outdir, LINUX_ISO),
             "memtest": os.path.join(outdir, MEMTEST_ISO)}
    stamp = os.path.join(outdir, "inputs.sha256")
    with open(os.path.join(outdir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = open(stamp).read().strip() if os.path.exists(stamp) else ""
        if not force and current == key and all(os.path.exists(p) for p in paths.values()):
            return dict(paths, built=False, kernel=ver)
        with tempfile.TemporaryDirectory(dir=outdir, prefix=".build-") as tmp:
            if os.path.exists(stamp):
                os.unlink(stamp)
            _build_linux(tmp, os.path.join(tmp, LINUX_ISO), ver, vmlinuz)
            _build_memtest(tmp, os.path.join(tmp, MEMTEST_ISO))
            for name in (LINUX_ISO, MEMTEST_ISO):
                os.replace(os.path.join(tmp, name), os.path.join(outdir, name))
            with open(stamp + ".tmp", "w") as f:
                f.write(key + "\n")
            os.replace(stamp + ".tmp", stamp)
    return dict(paths, built=True, kernel=ver)


# ---- running a guest under raw QEMU (for tests of the images themselves) ----

class SerialConsole:
    """A client of a QEMU serial chardev socket (unix, server=on): collects what the guest
    prints and waits for text in it."""

    def __init__(self, path, timeout=10.0, proc=None):
        self.buf = b""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline or (proc and proc.poll() is not None):
                    raise
                time.sleep(0.01)

    @property
    def text(self):
        return self.buf.decode("utf-8", "replace")

    def wait_for(self, needle, timeout):
        """Read until needle (str) has been printed; returns seconds waited. Raises
        AssertionError with what was printed on timeout or when the guest hangs up."""
        t0 = time.monotonic()
        want = needle.encode()
        while want not in self.buf:
            left = timeout - (time.monotonic() - t0)
            if left <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {needle!r} on "
                                     f"serial; got:\n{self.text[-4000:]}")
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise AssertionError(f"serial closed before {needle!r}; got:\n"
                                     f"{self.text[-4000:]}")
            self.buf += data
        return time.monotonic() - t0

    def send(self, text):
        self.sock.sendall(text.encode())

    def close(self):
        self.sock.close()


def qmp_command(path, command, arguments=None, timeout=10.0):
    """One QMP command on a fresh connection to a QMP unix socket; returns its "return"."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        f = s.makefile("rwb")
        json.loads(f.readline())  # greeting
        for cmd in ({"execute": "qmp_capabilities"},
                    dict({"execute": command}, **({"arguments": arguments} if arguments else {}))):
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:
                msg = json.loads(f.readline())
                if "return" in msg or "error" in msg:
                    break
            if "error" in msg:
                raise AssertionError(f"QMP {cmd['execute']}: {msg['error']}")
        return msg["return"]
    finally:
        s.close()


def qemu_argv(iso, workdir, firmware="bios", memory=256):
    """argv of a raw TCG QEMU booting iso: SeaBIOS on machine pc, or OVMF on q35 (with a
    private copy of the variable store in workdir); serial and QMP sockets in workdir."""
    argv = ["qemu-system-x86_64", "-nodefaults", "-display", "none", "-m", str(memory),
            "-no-reboot",
            "-serial", f"unix:{workdir}/serial.sock,server=on,wait=off",
            "-qmp", f"unix:{workdir}/qmp.sock,server=on,wait=off",
            "-cdrom", iso]
    if firmware == "efi":
        vars_copy = os.path.join(workdir, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        argv[1:1] = ["-machine", "q35,accel=tcg",
                     "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}"]
    else:
        argv[1:1] = ["-machine", "pc,accel=tcg"]
    return argv


if __name__ == "__main__":
    t0 = time.monotonic()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    try:
        result = build_guest_images(args[0] if args else None, force="--force" in sys.argv)
    except GuestImageError as e:
        sys.exit(f"guestimg: {e}")
    print(json.dumps(result, indent=1))
    print(f"guestimg: {'built' if result['built'] else 'cached'} in "
          f"{time.monotonic() - t0:.1f}s", file=sys.stderr)
