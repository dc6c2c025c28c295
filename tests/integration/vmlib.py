"""Virtual machines for the integration tests: a daemon set to TCG (this host's /dev/kvm
cannot run guest kernels; the tests must not depend on KVM anyway), vmids no other test run
on this host uses (taps and cgroups are host-wide), and teardown that leaves no QEMU, tap,
cgroup or run file behind, also when a test fails half-way.

Tests import the fixtures they use (`from vmlib import vm_host, vm`)."""
import glob
import os
import random
import shutil
import signal
import time
import urllib.parse

import pytest

from conftest import NODE, require_root, start_with_admin, stop_and_check, wait_for

TASK_TIMEOUT = 120  # generous: TCG guests and the ASan build are slow on a busy host
QEMU = "/usr/bin/qemu-system-x86_64"


def skip_unless_vms_can_run():
    require_root()
    if not os.access(QEMU, os.X_OK):
        pytest.skip(f"{QEMU} (Debian's qemu-system-x86) is not installed")


def run_dir(b):
    return os.path.join(b.root, "run", "qemu")


def qemu_pid(b, vmid):
    """QEMU's pid from its pidfile when that process still runs QEMU, else None."""
    try:
        pid = int(open(os.path.join(run_dir(b), f"{vmid}.pid")).read().strip())
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
    except (OSError, ValueError):
        return None
    return pid if b"qemu" in cmdline else None


def taps(vmid):
    return sorted(os.path.basename(p) for p in glob.glob(f"/sys/class/net/tap{vmid}i*"))


def vm_cgroups(vmid):
    return sorted(glob.glob(f"/sys/fs/cgroup/*/qemu.slice/{vmid}.scope") +
                  glob.glob(f"/sys/fs/cgroup/qemu.slice/{vmid}.scope"))


def host_traces(b, vmid):
    """What VM vmid left on the host: a running QEMU, taps, cgroups, run files."""
    left = {}
    if qemu_pid(b, vmid):
        left["qemu"] = qemu_pid(b, vmid)
    if taps(vmid):
        left["taps"] = taps(vmid)
    if vm_cgroups(vmid):
        left["cgroups"] = vm_cgroups(vmid)
    files = glob.glob(os.path.join(run_dir(b), f"{vmid}.*"))
    # the QEMU log stays for post-mortems, as Proxmox keeps its task logs
    files = [f for f in files if not f.endswith(".log")]
    if files:
        left["files"] = sorted(files)
    return left


class VmHost:
    """A berthd running VMs with TCG, and the VMs the tests made on it."""

    def __init__(self, b):
        self.b = b
        self._base = random.randrange(2000, 9000) * 100 + 10_000_000
        self._next = 0
        self.made = []

    @property
    def s(self):
        return self.b.admin()

    def vmid(self):
        self._next += 1
        assert self._next < 100, "out of vmids in this module's block"
        vmid = self._base + self._next
        self.made.append(vmid)
        return vmid

    def path(self, vmid, tail=""):
        return f"/nodes/{NODE}/qemu/{vmid}{tail}"

    def task(self, method, path, params=None, session=None, ok=True):
        s = session or self.s
        upid = s.data(method, path, params)
        assert isinstance(upid, str) and upid.startswith("UPID:"), upid
        st = self.b.wait_task(upid, session=s, timeout=TASK_TIMEOUT)
        if ok:
            assert st["exitstatus"] == "OK", f"{upid}: {st['exitstatus']}\n" + self.task_log(upid)
        return st

    def task_log(self, upid):
        q = urllib.parse.quote(upid, safe=":@")
        lines = self.s.data("GET", f"/nodes/{NODE}/tasks/{q}/log", {"limit": 500})
        return "\n".join(line["t"] for line in lines)

    def create(self, vmid=None, session=None, ok=True, **params):
        vmid = vmid or self.vmid()
        p = {"vmid": vmid, "memory": 128}
        p.update(params)
        self.task("POST", f"/nodes/{NODE}/qemu", p, session=session, ok=ok)
        return vmid

    def power(self, vmid, action, ok=True, **params):
        return self.task("POST", self.path(vmid, f"/status/{action}"), params or None, ok=ok)

    def status(self, vmid):
        return self.s.data("GET", self.path(vmid, "/status/current"))

    def config(self, vmid, **query):
        return self.s.data("GET", self.path(vmid, "/config"), query or None)

    def stored_config(self, vmid):
        return self.b.store_files()[f"nodes/{NODE}/qemu-server/{vmid}.conf"].decode()

    def exists(self, vmid):
        return vmid in [e["vmid"] for e in self.s.data("GET", f"/nodes/{NODE}/qemu")]

    def remove(self, vmid):
        """Take VM vmid away by every means there is; never raises."""
        try:
            if self.exists(vmid):
                self.task("POST", self.path(vmid, "/status/stop"), ok=False)
                self.task("DELETE", self.path(vmid), {"purge": 1, "skiplock": 1}, ok=False)
        except Exception:  # noqa: BLE001 - teardown falls back to signals
            pass
        pid = qemu_pid(self.b, vmid)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            deadline = time.monotonic() + 10
            while qemu_pid(self.b, vmid) and time.monotonic() < deadline:
                time.sleep(0.05)

    def cleanup(self, vmids):
        for vmid in vmids:
            self.remove(vmid)
        # QEMU's taps and cgroup go with it; give the kernel a moment
        left = {}
        deadline = time.monotonic() + 5
        while True:
            left = {v: host_traces(self.b, v) for v in vmids}
            left = {v: t for v, t in left.items() if t}
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not left, f"VMs left traces on the host: {left}"


def start_vm_host():
    skip_unless_vms_can_run()
    b = start_with_admin()
    try:
        # TCG, whatever the host has: the tests must not depend on KVM
        b.admin().data("PUT", f"/nodes/{NODE}/config", {"kvm": 0})
        return VmHost(b)
    except BaseException:
        stop_and_check([b])
        raise


@pytest.fixture(scope="module")
def vm_host():
    h = start_vm_host()
    try:
        yield h
    finally:
        try:
            h.cleanup(list(h.made))
        finally:
            stop_and_check([h.b])


@pytest.fixture
def vm(vm_host):
    """The module's VmHost; the VMs a test makes are destroyed after it (also on failure)
    and must leave nothing on the host."""
    first = len(vm_host.made)
    yield vm_host
    vm_host.cleanup(vm_host.made[first:])


def wait_vm_status(h, vmid, status, timeout=60):
    return wait_for(lambda: h.status(vmid)["status"] == status, timeout=timeout,
                    what=f"VM {vmid} {status}")


def local_path(h, volid):
    """The host path of a volume on the 'local' dir storage."""
    return h.s.data("GET", f"/nodes/{NODE}/storage/local/content/{volid}")["path"]


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


def upload_guest_iso(h, which="linux"):
    """A test guest (guestimg.py: "linux" or "memtest") uploaded to 'local' as an ISO through
    the API; its volid. Skips (with the reason) where the images cannot be built."""
    import guestimg
    from test_storage_hostile import upload_raw, upload_result
    try:
        images = guestimg.build_guest_images()
    except guestimg.GuestImageError as e:
        pytest.skip(str(e))
    os.makedirs(os.path.join(h.b.root, "storage", "local", "template", "iso"), exist_ok=True)
    with open(images[which], "rb") as f:
        data = f.read()
    r = upload_raw(h.b, "iso", f"berth-{which}.iso", data)
    assert upload_result(h.b, r) == (200, "OK"), r.reason
    return f"local:iso/berth-{which}.iso"


@pytest.fixture(scope="module")
def iso(vm_host):
    """The module's Linux test guest ISO on 'local' (upload_guest_iso)."""
    return upload_guest_iso(vm_host)


@pytest.fixture
def guest_vm(vm_host, iso):
    """As `vm`, for tests that boot the test guest (the ISO is there first)."""
    first = len(vm_host.made)
    yield vm_host
    vm_host.cleanup(vm_host.made[first:])
