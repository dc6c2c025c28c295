"""Containers for the integration tests: a daemon with the busybox template built through its
own API, vmids no other test run on this host is using (cgroups and veth names are host-wide,
not per daemon root), a test bridge, and teardown that leaves no container, cgroup, mount,
loop device or link behind, also when a test fails half-way.

Tests import the fixtures they use (`from ctlib import ct_host, ct, bridge`)."""
import contextlib
import glob
import os
import random
import secrets
import shutil
import subprocess

import pytest

from conftest import NODE, require_root, start_with_admin, stop_and_check, wait_for

TASK_TIMEOUT = 90  # generous: the ASan build's workers are slow
TEMPLATE = "busybox"


def skip_unless_containers_can_run():
    """Skip (with the reason) where this host cannot run the busybox CTs."""
    require_root()
    if shutil.which("lxc-attach") is None:
        pytest.skip("the lxc package (lxc-attach) is not installed")
    for f in ("/etc/subuid", "/etc/subgid"):
        try:
            lines = open(f).read().split()
        except OSError:
            lines = []
        if "root:100000:65536" not in lines:
            pytest.skip(f"{f} lacks root:100000:65536, which unprivileged containers need")
    if not glob.glob("/sys/fs/cgroup/*"):
        pytest.skip("no cgroup file system under /sys/fs/cgroup")
    if not os.path.exists("/bin/busybox"):
        pytest.skip("/bin/busybox (busybox-static) is missing; the CT template is built from it")


# ---- what a container leaves on the host ----

def cgroup_dirs(vmid):
    """Cgroup directories named after vmid (the CT's and its monitor's), in every hierarchy."""
    found = []
    for base in glob.glob("/sys/fs/cgroup/*/lxc*") + glob.glob("/sys/fs/cgroup/lxc*"):
        found += glob.glob(os.path.join(base, str(vmid)))
    return sorted(found)


def mounts_under(path):
    with open("/proc/mounts") as f:
        return [line for line in f if path in line]


def loop_devices_under(path):
    found = []
    for bf in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            backing = open(bf).read().strip()
        except OSError:
            continue
        if backing.startswith(path):
            found.append(f"{bf.split('/')[3]} -> {backing}")
    return found


def veths(vmid):
    return sorted(os.path.basename(p) for p in glob.glob(f"/sys/class/net/veth{vmid}i*"))


def host_traces(b, vmid):
    """Everything of CT vmid still on the host: {kind: [items]} without empty kinds."""
    traces = {
        "cgroups": cgroup_dirs(vmid),
        "mounts": mounts_under(b.root),
        "loop devices": loop_devices_under(b.root),
        "veths": veths(vmid),
    }
    return {k: v for k, v in traces.items() if v}


def thaw(vmid):
    """Thaw CT vmid's cgroups (v1 freezer.state, cgroup2 cgroup.freeze) if they exist."""
    for name, value in ((f"/sys/fs/cgroup/freezer/lxc/{vmid}/freezer.state", "THAWED"),
                        (f"/sys/fs/cgroup/unified/lxc/{vmid}/cgroup.freeze", "0"),
                        (f"/sys/fs/cgroup/lxc/{vmid}/cgroup.freeze", "0")):
        try:
            with open(name, "w") as f:
                f.write(value)
        except OSError:
            pass


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


# ---- a daemon with the template ----

class CtHost:
    """A berthd with the busybox template, and the CTs the tests made on it."""

    def __init__(self, b, template):
        self.b = b
        self.template = template  # volid, local:vztmpl/busybox-...tar.zst
        # six-digit vmids from a random block of 100: other test runs on this host use
        # other blocks, so cgroups "lxc/<vmid>" and veth names never collide
        self._base = random.randrange(2000, 9000) * 100
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
        return f"/nodes/{NODE}/lxc/{vmid}{tail}"

    # tasks

    def task(self, method, path, params=None, session=None, ok=True):
        """Call a route that starts a task, wait for it; returns the task's status object
        (asserting exitstatus OK unless ok=False)."""
        s = session or self.s
        upid = s.data(method, path, params)
        assert isinstance(upid, str) and upid.startswith("UPID:"), upid
        st = self.b.wait_task(upid, session=s, timeout=TASK_TIMEOUT)
        if ok:
            assert st["exitstatus"] == "OK", f"{upid}: {st['exitstatus']}\n" + self.task_log(upid)
        return st

    def task_log(self, upid):
        lines = self.s.data("GET", f"/nodes/{NODE}/tasks/{upid}/log", {"limit": 500})
        return "\n".join(line["t"] for line in lines)

    def create(self, vmid=None, session=None, **params):
        vmid = vmid or self.vmid()
        p = {"vmid": vmid, "ostemplate": self.template}
        p.update(params)
        self.task("POST", f"/nodes/{NODE}/lxc", p, session=session)
        return vmid

    def power(self, vmid, action, ok=True, **params):
        return self.task("POST", self.path(vmid, f"/status/{action}"), params or None, ok=ok)

    def start(self, vmid):
        self.power(vmid, "start")
        return self.status(vmid)["pid"]

    def stop(self, vmid):
        self.power(vmid, "stop")

    def destroy(self, vmid, **params):
        self.task("DELETE", self.path(vmid), params or None)

    def status(self, vmid):
        return self.s.data("GET", self.path(vmid, "/status/current"))

    def config(self, vmid, **query):
        return self.s.data("GET", self.path(vmid, "/config"), query or None)

    def enter(self, vmid, script, check=True):
        """Run a shell script inside the CT through `berth ct enter` (stdin); returns the
        CompletedProcess."""
        r = self.b.cli("ct", "enter", vmid, input=script, timeout=60)
        if check:
            assert r.returncode == 0, f"ct enter {vmid} ({r.returncode}):\n{r.stdout}\n{r.stderr}"
        return r

    # teardown

    def exists(self, vmid):
        return vmid in [e["vmid"] for e in self.s.data("GET", f"/nodes/{NODE}/lxc")]

    def remove(self, vmid):
        """Take CT vmid away by every means there is; never raises."""
        thaw(vmid)  # a frozen CT dies only once thawed, whatever stops it
        try:
            if self.exists(vmid):
                self.task("DELETE", self.path(vmid), {"force": 1, "purge": 1}, ok=False)
        except Exception:  # noqa: BLE001 - teardown falls back to LXC's own tools
            pass
        if cgroup_dirs(vmid):
            thaw(vmid)
            try:
                subprocess.run(["lxc-stop", "-n", str(vmid), "-P",
                                os.path.join(self.b.root, "lxc"), "-k"],
                               capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                pass

    def cleanup(self, vmids):
        for vmid in vmids:
            self.remove(vmid)
        left = {v: host_traces(self.b, v) for v in vmids}
        left = {v: t for v, t in left.items() if t}
        assert not left, f"containers left traces on the host: {left}"


def start_ct_host(**kw):
    skip_unless_containers_can_run()
    b = start_with_admin(**kw)
    try:
        upid = b.admin().data("POST", f"/nodes/{NODE}/aplinfo",
                              {"storage": "local", "template": TEMPLATE})
        st = b.wait_task(upid, timeout=180)
        assert st["exitstatus"] == "OK", f"building the {TEMPLATE} template: {st['exitstatus']}"
        volids = [c["volid"] for c in b.admin().data(
            "GET", f"/nodes/{NODE}/storage/local/content", {"content": "vztmpl"})]
        assert len(volids) == 1, volids
        return CtHost(b, volids[0])
    except BaseException:
        stop_and_check([b])
        raise


@contextlib.contextmanager
def running_ct_host(**kw):
    """start_ct_host(**kw) for a with-block: afterwards its CTs are removed (leaving nothing
    on the host) and the daemon stops. A module that needs daemon options defines its own
    ct_host fixture with it; the ct fixture then uses that one."""
    h = start_ct_host(**kw)
    try:
        yield h
    finally:
        try:
            h.cleanup(list(h.made))
        finally:
            stop_and_check([h.b])


@pytest.fixture(scope="module")
def ct_host():
    """One daemon per module with the busybox template built through POST aplinfo."""
    with running_ct_host() as h:
        yield h


@pytest.fixture
def ct(ct_host):
    """The module's CtHost; the CTs a test makes are destroyed after it (also on failure),
    and must leave nothing on the host."""
    first = len(ct_host.made)
    yield ct_host
    ct_host.cleanup(ct_host.made[first:])


@pytest.fixture
def bridge():
    """A fresh Linux bridge, up, removed after the test."""
    name = "br-bt" + secrets.token_hex(3)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True)


def subnet():
    """A /24 in 10.99.0.0/16 for one test's CTs."""
    return f"10.99.{random.randrange(1, 255)}"


def wait_status(h, vmid, status, timeout=30):
    return wait_for(lambda: h.status(vmid)["status"] == status, timeout,
                    f"CT {vmid} to be {status}")
