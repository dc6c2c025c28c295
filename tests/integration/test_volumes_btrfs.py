"""The btrfs storage type on a real btrfs (a loop-mounted file): raw disks and container
volumes are subvolumes, snapshots are read-only subvolume snapshots beside them, linked clones
are writable snapshots. Driven through the storage test tool (berth-volop); the filesystem is
checked with the btrfs and qemu-img tools a user would use."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, loop_btrfs, require_root

VOLOP = os.path.abspath(os.path.join(BUILD, "tests", "tools", "berth-volop"))
MiB = 1024 * 1024


def run(*cmd, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


class Volop:
    """berth-volop with one storage.cfg: JSON on stdout, exit 1 and a message on failure."""

    def __init__(self, config):
        self.config = config

    def call(self, *args):
        p = subprocess.run([VOLOP, "--config", self.config, *map(str, args)],
                           capture_output=True, text=True, timeout=120)
        return p

    def ok(self, *args):
        p = self.call(*args)
        assert p.returncode == 0, f"berth-volop {' '.join(map(str, args))}: {p.stderr}"
        assert "runtime error:" not in p.stderr and "AddressSanitizer" not in p.stderr, p.stderr
        return json.loads(p.stdout) if p.stdout.strip() else None

    def fails(self, *args):
        p = self.call(*args)
        assert p.returncode != 0, f"berth-volop {' '.join(map(str, args))} succeeded: {p.stdout}"
        assert "runtime error:" not in p.stderr and "AddressSanitizer" not in p.stderr, p.stderr
        return p.stderr

    # --- the operations, in one place so the tool's argument order lives here only ---

    def alloc(self, sid, vmid, fmt, size_kib, name=None):
        out = self.ok("alloc", sid, vmid, fmt, size_kib, *([name] if name else []))
        return out["volid"] if isinstance(out, dict) else out

    def path(self, volid, snap=None):
        out = self.ok("path", volid, *([snap] if snap else []))
        return out["path"] if isinstance(out, dict) else out

    def info(self, volid):
        return self.ok("info", volid)

    def list(self, sid, *args):
        out = self.ok("list", sid, *args)
        return out["volumes"] if isinstance(out, dict) and "volumes" in out else out

    def volid_of(self, out):
        return out["volid"] if isinstance(out, dict) else out


@pytest.fixture(scope="session")
def btrfs_env():
    require_root()
    if not os.access(VOLOP, os.X_OK):
        pytest.skip(f"berth-volop is not built ({VOLOP})")
    with loop_btrfs() as (tmp, mnt):
        dirpath = os.path.join(tmp, "d1")
        cfg = os.path.join(tmp, "storage.cfg")
        with open(cfg, "w") as f:
            f.write(f"btrfs: b1\n\tpath {mnt}/b1\n\tcontent images,rootdir,iso,vztmpl\n\n"
                    f"dir: d1\n\tpath {dirpath}\n\tcontent images,rootdir,iso,vztmpl\n")
        v = Volop(cfg)
        v.ok("activate", "b1")
        v.ok("activate", "d1")
        yield {"volop": v, "mnt": mnt, "root": os.path.join(mnt, "b1"), "tmp": tmp}


@pytest.fixture
def env(btrfs_env):
    return btrfs_env


def subvolumes(mnt):
    """Paths of every subvolume on the filesystem, as `btrfs subvolume list` shows them."""
    out = run("btrfs", "subvolume", "list", mnt).stdout
    return [line.split(" path ", 1)[1] for line in out.splitlines() if " path " in line]


def subvol_show(path):
    """`btrfs subvolume show` as a dict of its 'Key: value' lines; None when not a subvolume."""
    p = run("btrfs", "subvolume", "show", path, check=False)
    if p.returncode != 0:
        return None
    fields = {}
    for line in p.stdout.splitlines():
        k, sep, val = line.strip().partition(":")
        if sep:
            fields[k.strip()] = val.strip()
    return fields


def is_readonly(path):
    return run("btrfs", "property", "get", path, "ro").stdout.strip() == "ro=true"


def write_at(path, data, offset=0):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def read_at(path, n, offset=0):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def assert_no_subvolumes_of(env, vmid):
    left = [p for p in subvolumes(env["mnt"]) if f"-{vmid}-disk-" in p]
    assert left == [], f"leftover subvolumes: {left}"


def test_alloc_raw_makes_a_subvolume_holding_disk_raw(env):
    v = env["volop"]
    volid = v.alloc("b1", 100, "raw", 64 * 1024)
    assert volid == "b1:100/vm-100-disk-0.raw"
    sub = os.path.join(env["root"], "images", "100", "vm-100-disk-0")
    path = v.path(volid)
    assert path == os.path.join(sub, "disk.raw")
    assert os.path.getsize(path) == 64 * MiB
    show = subvol_show(sub)
    assert show is not None, "vm-100-disk-0 is not a btrfs subvolume"
    assert show["Name"] == "vm-100-disk-0"
    assert "b1/images/100/vm-100-disk-0" in subvolumes(env["mnt"])
    info = v.info(volid)
    assert info["format"] == "raw" and info["size"] == 64 * MiB
    v.ok("free", volid)
    assert not os.path.exists(sub)
    assert_no_subvolumes_of(env, 100)


def test_alloc_subvol_is_an_unsized_subvolume_and_sizes_are_refused(env):
    v = env["volop"]
    volid = v.alloc("b1", 101, "subvol", 0)
    assert volid == "b1:101/subvol-101-disk-0.subvol"
    path = v.path(volid)
    assert path == os.path.join(env["root"], "images", "101", "subvol-101-disk-0.subvol")
    assert subvol_show(path) is not None
    info = v.info(volid)
    assert info["format"] == "subvol" and info["size"] == 0
    err = v.fails("alloc", "b1", 101, "subvol", 1024 * 1024)
    assert "btrfs quotas are currently not supported" in err
    assert "cannot resize subvolume" in v.fails("resize", volid, 2 * 1024 * MiB)
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 101)


def test_alloc_of_an_existing_name_is_refused(env):
    v = env["volop"]
    volid = v.alloc("b1", 102, "raw", 1024, "vm-102-disk-5.raw")
    assert volid == "b1:102/vm-102-disk-5.raw"
    assert "already exists" in v.fails("alloc", "b1", 102, "raw", 1024, "vm-102-disk-5.raw")
    # the next free name skips numbers in use
    other = v.alloc("b1", 102, "raw", 1024)
    assert other == "b1:102/vm-102-disk-0.raw"
    v.ok("free", volid)
    v.ok("free", other)
    assert_no_subvolumes_of(env, 102)


def test_raw_snapshot_then_rollback_restores_the_data(env):
    v = env["volop"]
    volid = v.alloc("b1", 110, "raw", 16 * 1024)
    path = v.path(volid)
    run("dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=1", "conv=notrunc,fsync")
    write_at(path, b"BEFORE-SNAPSHOT")
    v.ok("snapshot", volid, "s1")
    snapsub = os.path.join(env["root"], "images", "110", "vm-110-disk-0@s1")
    assert subvol_show(snapsub) is not None
    assert is_readonly(snapsub)
    write_at(path, b"AFTER--SNAPSHOT")
    assert read_at(path, 15) == b"AFTER--SNAPSHOT"
    v.ok("rollback", volid, "s1")
    assert read_at(v.path(volid), 15) == b"BEFORE-SNAPSHOT"
    # the volume is writable again and the snapshot stays
    assert not is_readonly(os.path.dirname(path))
    write_at(path, b"WRITABLE")
    assert subvol_show(snapsub) is not None
    # no temporary subvolume of the rollback is left
    assert [p for p in subvolumes(env["mnt"]) if ".tmp." in p] == []
    v.ok("delsnap", volid, "s1")
    assert subvol_show(snapsub) is None and not os.path.exists(snapsub)
    assert "does not exist" in v.fails("rollback", volid, "s1")
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 110)


def test_subvol_snapshot_then_rollback_restores_the_files(env):
    v = env["volop"]
    volid = v.alloc("b1", 111, "subvol", 0)
    root = v.path(volid)
    with open(os.path.join(root, "etc-hostname"), "w") as f:
        f.write("before\n")
    v.ok("snapshot", volid, "s1")
    snapsub = root + "@s1"
    assert subvol_show(snapsub) is not None and is_readonly(snapsub)
    with open(os.path.join(root, "etc-hostname"), "w") as f:
        f.write("after\n")
    with open(os.path.join(root, "new-file"), "w") as f:
        f.write("x")
    v.ok("rollback", volid, "s1")
    with open(os.path.join(root, "etc-hostname")) as f:
        assert f.read() == "before\n"
    assert not os.path.exists(os.path.join(root, "new-file"))
    v.ok("delsnap", volid, "s1")
    assert not os.path.exists(snapsub)
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 111)


def test_invalid_snapshot_names_are_refused(env):
    v = env["volop"]
    volid = v.alloc("b1", 112, "raw", 1024)
    for bad in ["../x", "a/b", "1abc", "a@b"]:
        v.fails("snapshot", volid, bad)
    assert [p for p in subvolumes(env["mnt"]) if "-112-disk-0@" in p] == []
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 112)


def test_list_shows_volumes_but_not_their_snapshots(env):
    v = env["volop"]
    raw = v.alloc("b1", 120, "raw", 2048)
    sub = v.alloc("b1", 120, "subvol", 0)
    v.ok("snapshot", raw, "snap1")
    v.ok("snapshot", sub, "snap1")
    vols = v.list("b1")
    volids = [x["volid"] for x in vols]
    assert raw in volids and sub in volids
    assert not [x for x in volids if "@" in x], volids
    assert volids.count(raw) == 1
    mine = {x["volid"]: x for x in vols if x.get("vmid") == 120}
    assert set(mine) == {raw, sub}
    assert mine[raw]["format"] == "raw" and mine[raw]["size"] == 2 * MiB
    assert mine[sub]["format"] == "subvol"
    v.ok("free", raw)
    v.ok("free", sub)
    assert_no_subvolumes_of(env, 120)
    assert not [x for x in v.list("b1") if x.get("vmid") == 120]


def test_free_removes_the_volume_and_all_its_snapshots(env):
    v = env["volop"]
    keep = v.alloc("b1", 130, "raw", 1024)  # vm-130-disk-0: must survive
    volid = v.alloc("b1", 130, "raw", 1024)  # vm-130-disk-1
    for s in ("a1", "b2", "c3"):
        v.ok("snapshot", volid, s)
    v.ok("snapshot", keep, "a1")
    assert len([p for p in subvolumes(env["mnt"]) if "vm-130-disk-1" in p]) == 4
    v.ok("free", volid)
    assert [p for p in subvolumes(env["mnt"]) if "vm-130-disk-1" in p] == []
    assert len([p for p in subvolumes(env["mnt"]) if "vm-130-disk-0" in p]) == 2
    assert "does not exist" in v.fails("free", volid)
    v.ok("free", keep)
    assert_no_subvolumes_of(env, 130)
    assert not os.path.exists(os.path.join(env["root"], "images", "130"))


def test_create_base_then_linked_clone_is_a_writable_snapshot_sharing_extents(env):
    v = env["volop"]
    volid = v.alloc("b1", 140, "raw", 16 * 1024)
    path = v.path(volid)
    run("dd", "if=/dev/urandom", f"of={path}", "bs=1M", "count=8", "conv=notrunc,fsync")
    data = read_at(path, 8 * MiB)
    base = v.volid_of(v.ok("create-base", volid))
    assert base == "b1:140/base-140-disk-0.raw"
    basesub = os.path.join(env["root"], "images", "140", "base-140-disk-0")
    assert is_readonly(basesub)
    assert not os.path.exists(os.path.join(env["root"], "images", "140", "vm-140-disk-0"))
    clone = v.volid_of(v.ok("clone", base, 141))
    assert clone == "b1:141/vm-141-disk-0.raw"
    clonepath = v.path(clone)
    clonesub = os.path.dirname(clonepath)
    # a snapshot of the base: its parent UUID is the base's UUID
    assert subvol_show(clonesub)["Parent UUID"] == subvol_show(basesub)["UUID"]
    run("sync")
    du = run("btrfs", "filesystem", "du", "-s", "--raw", clonepath).stdout.splitlines()[-1]
    total, exclusive, shared = (int(x) for x in du.split()[:3])
    assert exclusive == 0 and shared >= 8 * MiB, du
    # writable, and writing leaves the base alone
    assert not is_readonly(clonesub)
    write_at(clonepath, b"CLONE-WRITES-HERE")
    assert read_at(v.path(base), 8 * MiB) == data
    assert read_at(clonepath, 17) == b"CLONE-WRITES-HERE"
    v.ok("free", clone)
    v.ok("free", base)
    assert_no_subvolumes_of(env, 140)
    assert_no_subvolumes_of(env, 141)


def test_create_base_is_refused_while_the_volume_has_snapshots(env):
    # the snapshots are named after the volume and would be orphaned by the rename
    v = env["volop"]
    volid = v.alloc("b1", 144, "raw", 1024)
    v.ok("snapshot", volid, "s1")
    assert "snapshot" in v.fails("create-base", volid)
    assert not is_readonly(os.path.dirname(v.path(volid)))
    v.ok("delsnap", volid, "s1")
    base = v.volid_of(v.ok("create-base", volid))
    assert base == "b1:144/base-144-disk-0.raw"
    assert "base" in v.fails("snapshot", base, "s2")
    v.ok("free", base)
    assert_no_subvolumes_of(env, 144)


def test_subvol_template_clone(env):
    v = env["volop"]
    volid = v.alloc("b1", 142, "subvol", 0)
    with open(os.path.join(v.path(volid), "rootfs-file"), "w") as f:
        f.write("template content")
    base = v.volid_of(v.ok("create-base", volid))
    assert base == "b1:142/base-142-disk-0.subvol"
    assert is_readonly(v.path(base))
    clone = v.volid_of(v.ok("clone", base, 143))
    assert clone == "b1:143/subvol-143-disk-0.subvol"
    with open(os.path.join(v.path(clone), "rootfs-file")) as f:
        assert f.read() == "template content"
    with open(os.path.join(v.path(clone), "new"), "w") as f:
        f.write("writable")
    v.ok("free", clone)
    v.ok("free", base)
    assert_no_subvolumes_of(env, 142)
    assert_no_subvolumes_of(env, 143)


def test_full_copy_of_a_btrfs_raw_disk_to_a_dir_qcow2(env):
    v = env["volop"]
    volid = v.alloc("b1", 150, "raw", 8 * 1024)
    path = v.path(volid)
    run("dd", "if=/dev/urandom", f"of={path}", "bs=1M", "count=2", "conv=notrunc,fsync")
    out = v.ok("copy", volid, "d1", 151, "qcow2")
    copy = v.volid_of(out)
    assert copy.startswith("d1:151/vm-151-disk-") and copy.endswith(".qcow2")
    qpath = v.path(copy)
    info = json.loads(run("qemu-img", "info", "-f", "qcow2", "--output=json", qpath).stdout)
    assert info["virtual-size"] == 8 * MiB
    assert run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", path, qpath,
               check=False).returncode == 0
    v.ok("free", copy)
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 150)


def test_resize_grows_a_raw_disk_and_never_shrinks_it(env):
    v = env["volop"]
    volid = v.alloc("b1", 160, "raw", 4 * 1024)
    v.ok("resize", volid, 12 * MiB)
    assert os.path.getsize(v.path(volid)) == 12 * MiB
    assert v.info(volid)["size"] == 12 * MiB
    assert "shrinking disks is not supported" in v.fails("resize", volid, 4 * MiB)
    assert os.path.getsize(v.path(volid)) == 12 * MiB
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 160)


def test_qcow2_on_btrfs_behaves_as_on_dir(env):
    v = env["volop"]
    volid = v.alloc("b1", 170, "qcow2", 4 * 1024)
    assert volid == "b1:170/vm-170-disk-0.qcow2"
    path = v.path(volid)
    assert path == os.path.join(env["root"], "images", "170", "vm-170-disk-0.qcow2")
    assert subvol_show(path) is None  # a plain file, not a subvolume
    v.ok("snapshot", volid, "q1")
    def snapshots():
        info = json.loads(run("qemu-img", "info", "-f", "qcow2", "--output=json", path).stdout)
        return [x["name"] for x in info.get("snapshots", [])]

    assert snapshots() == ["q1"]
    v.ok("delsnap", volid, "q1")
    assert snapshots() == []
    v.ok("free", volid)
    assert not os.path.exists(path)


def test_subvol_mounts_into_a_container_root(env):
    v = env["volop"]
    volid = v.alloc("b1", 180, "subvol", 0)
    target = tempfile.mkdtemp(prefix="berth-ctroot-")
    try:
        v.ok("mount", volid, target)
        try:
            with open(os.path.join(target, "hello"), "w") as f:
                f.write("from the container")
        finally:
            v.ok("umount", target)
        with open(os.path.join(v.path(volid), "hello")) as f:
            assert f.read() == "from the container"
    finally:
        os.rmdir(target)
    v.ok("free", volid)
    assert_no_subvolumes_of(env, 180)


def test_iso_content_is_stored_as_on_dir(env):
    v = env["volop"]
    isodir = os.path.join(env["root"], "template", "iso")
    assert os.path.isdir(isodir)
    with open(os.path.join(isodir, "boot.iso"), "wb") as f:
        f.write(b"\0" * 4096)
    try:
        assert v.path("b1:iso/boot.iso") == os.path.join(isodir, "boot.iso")
        assert "b1:iso/boot.iso" in [x["volid"] for x in v.list("b1")]
    finally:
        os.unlink(os.path.join(isodir, "boot.iso"))


def test_activate_refuses_a_path_that_is_not_on_btrfs(env):
    tmp = tempfile.mkdtemp(prefix="berth-notbtrfs-")
    try:
        fstype = run("stat", "-f", "-c", "%T", tmp).stdout.strip()
        if fstype == "btrfs":
            pytest.skip("the temporary directory is itself on btrfs")
        cfg = os.path.join(tmp, "storage.cfg")
        with open(cfg, "w") as f:
            f.write(f"btrfs: nb\n\tpath {tmp}/nb\n\tcontent images\n")
        err = Volop(cfg).fails("activate", "nb")
        assert f"storage 'nb' path '{tmp}/nb' is not on a btrfs filesystem" in err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_activate_refuses_an_unmounted_mountpoint(env):
    tmp = tempfile.mkdtemp(prefix="berth-notmounted-")
    try:
        cfg = os.path.join(tmp, "storage.cfg")
        with open(cfg, "w") as f:
            f.write(f"btrfs: nm\n\tpath {tmp}\n\tcontent images\n\tis_mountpoint yes\n")
        err = Volop(cfg).fails("activate", "nm")
        assert "is expected to be a mount point but is not mounted" in err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_no_subvolumes_are_left_behind(env):
    # runs last in this module: every test above freed what it made
    assert subvolumes(env["mnt"]) == []
