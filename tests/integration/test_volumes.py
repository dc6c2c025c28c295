"""Volumes on a `dir` storage, driven through berth-volop (the storage layer's public
operations): allocation, resize, snapshots, templates and linked clones, copies, container
images, and hostile images that must never make us read host files."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BUILD, SANITIZER_MARKERS, require_root

VOLOP = os.path.abspath(os.path.join(BUILD, "tests", "tools", "berth-volop"))


class Volop:
    def __init__(self, root):
        self.root = root
        self.cfg = os.path.join(root, "storage.cfg")
        with open(self.cfg, "w") as f:
            f.write(
                f"dir: local\n\tpath {root}/local\n"
                "\tcontent images,rootdir,iso,vztmpl,backup,snippets\n\n"
                f"dir: second\n\tpath {root}/second\n\tcontent images,rootdir\n")

    def run(self, *args):
        p = subprocess.run([VOLOP, "--config", self.cfg, *map(str, args)],
                           capture_output=True, text=True, timeout=120)
        for marker in SANITIZER_MARKERS:
            assert marker not in p.stderr, f"{args}: {p.stderr}"
        return p

    def __call__(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, f"{args}: {p.stderr}"
        return json.loads(p.stdout)

    def fails(self, *args):
        p = self.run(*args)
        assert p.returncode == 1, f"{args} succeeded: {p.stdout}"
        return p.stderr.strip()


@pytest.fixture
def vol():
    require_root()
    if not os.path.exists(VOLOP):
        pytest.skip(f"{VOLOP} not built")
    root = tempfile.mkdtemp(prefix="bt-vol-", dir="/tmp")
    v = Volop(root)
    v("activate", "local")
    v("activate", "second")
    yield v
    shutil.rmtree(root, ignore_errors=True)


def qemu_io(path, cmd, fmt="qcow2"):
    p = subprocess.run(["qemu-io", "-f", fmt, "-c", cmd, path], capture_output=True, text=True)
    out = p.stdout + p.stderr
    # qemu-io exits 1 when a read's pattern differs; anything else is a broken test setup
    assert p.returncode == 0 or "Pattern verification failed" in out, out
    return out


def test_activate_creates_pves_directory_layout(vol):
    for sub in ("images", "template/iso", "template/cache", "dump", "snippets"):
        assert os.path.isdir(os.path.join(vol.root, "local", sub)), sub
    st = vol("status", "local")
    assert st["active"] and st["total"] > 0 and st["avail"] <= st["total"]


def test_alloc_raw_qcow2_subvol_with_pves_names(vol):
    assert vol("alloc", "local", 100, "raw", 1024) == "local:100/vm-100-disk-0.raw"
    assert vol("alloc", "local", 100, "qcow2", 2048) == "local:100/vm-100-disk-1.qcow2"
    assert vol("alloc", "local", 101, "subvol", 0) == "local:101/subvol-101-disk-0.subvol"
    assert vol("alloc", "local", 100, "qcow2", 1024, "vm-100-disk-9.qcow2") == \
        "local:100/vm-100-disk-9.qcow2"
    assert "already exists" in vol.fails("alloc", "local", 100, "qcow2", 1024,
                                         "vm-100-disk-9.qcow2")
    assert "illegal name" in vol.fails("alloc", "local", 100, "raw", 1024, "vm-200-disk-0.raw")
    assert "wrong extension" in vol.fails("alloc", "local", 100, "raw", 1024, "vm-100-x.qcow2")
    assert "subvol quotas" in vol.fails("alloc", "local", 101, "subvol", 1024)
    assert vol("path", "local:100/vm-100-disk-0.raw") == \
        f"{vol.root}/local/images/100/vm-100-disk-0.raw"
    assert os.path.isdir(f"{vol.root}/local/images/101/subvol-101-disk-0.subvol")
    info = vol("info", "local:100/vm-100-disk-1.qcow2")
    assert info["format"] == "qcow2" and info["size"] == 2048 * 1024 and info["vmid"] == 100
    assert os.path.getsize(f"{vol.root}/local/images/100/vm-100-disk-0.raw") == 1024 * 1024


def test_hostile_volids_are_refused(vol):
    for volid in ("local:../../etc/passwd", "local:100/../../../etc/shadow.raw",
                  "local:/etc/passwd", "local:iso/../../x.iso", "local:100/.x.raw",
                  "nosuch:100/vm-100-disk-0.raw", "local:100/vm-100-disk-0.raw\n"):
        vol.fails("path", volid)
    assert "does not exist" in vol.fails("info", "local:100/vm-100-disk-7.raw")


def test_resize_grows_and_refuses_to_shrink(vol):
    q = vol("alloc", "local", 100, "qcow2", 1024)
    r = vol("alloc", "local", 100, "raw", 1024)
    for volid in (q, r):
        vol("resize", volid, 4 << 20)
        assert vol("info", volid)["size"] == 4 << 20
        assert "shrinking disks is not supported" in vol.fails("resize", volid, 1 << 20)
        assert vol("info", volid)["size"] == 4 << 20


def test_list_filters_by_content_and_vmid(vol):
    vol("alloc", "local", 100, "qcow2", 1024)
    vol("alloc", "local", 101, "subvol", 0)
    vol("alloc", "local", 102, "raw", 1024)
    with open(f"{vol.root}/local/template/iso/debian.iso", "wb") as f:
        f.write(b"\0" * 4096)
    with open(f"{vol.root}/local/template/iso/.hidden.iso", "wb") as f:
        f.write(b"\0")
    with open(f"{vol.root}/local/template/iso/notes.txt", "w") as f:
        f.write("x")
    with open(f"{vol.root}/local/images/100/snap-x.qcow2", "w") as f:
        f.write("x")
    ids = [v["volid"] for v in vol("list", "local")]
    assert ids == sorted(ids)
    assert set(ids) == {"local:100/vm-100-disk-0.qcow2", "local:101/subvol-101-disk-0.subvol",
                        "local:102/vm-102-disk-0.raw", "local:iso/debian.iso"}
    by_id = {v["volid"]: v for v in vol("list", "local")}
    assert by_id["local:101/subvol-101-disk-0.subvol"]["content"] == "rootdir"
    assert by_id["local:100/vm-100-disk-0.qcow2"]["content"] == "images"
    assert by_id["local:iso/debian.iso"]["size"] == 4096
    assert [v["volid"] for v in vol("list", "local", "iso")] == ["local:iso/debian.iso"]
    assert [v["volid"] for v in vol("list", "local", "rootdir")] == \
        ["local:101/subvol-101-disk-0.subvol"]
    assert [v["volid"] for v in vol("list", "local", "images,rootdir", 102)] == \
        ["local:102/vm-102-disk-0.raw"]
    # the second storage holds no iso content: nothing listed even if asked
    assert vol("list", "second", "iso") == []


def test_qcow2_snapshot_rollback_restores_content(vol):
    volid = vol("alloc", "local", 100, "qcow2", 1024)
    path = vol("path", volid)
    qemu_io(path, "write -P 0xab 0 64k")
    vol("snapshot", volid, "before")
    qemu_io(path, "write -P 0xcd 0 64k")
    assert "Pattern verification failed" in qemu_io(path, "read -P 0xab 0 64k")
    vol("rollback", volid, "before")
    assert "Pattern verification failed" not in qemu_io(path, "read -P 0xab 0 64k")
    vol("delsnap", volid, "before")
    snaps = subprocess.run(["qemu-img", "snapshot", "-l", path], capture_output=True,
                           text=True, check=True).stdout
    assert "before" not in snaps
    vol.fails("rollback", volid, "before")
    assert "invalid snapshot name" in vol.fails("snapshot", volid, "-x")
    raw = vol("alloc", "local", 100, "raw", 1024)
    assert "does not support snapshots" in vol.fails("snapshot", raw, "s1")


def test_template_and_linked_clone_share_the_base(vol):
    volid = vol("alloc", "local", 100, "qcow2", 1024)
    qemu_io(vol("path", volid), "write -P 0x5a 0 64k")
    base = vol("create-base", volid)
    assert base == "local:100/base-100-disk-0.qcow2"
    base_path = vol("path", base)
    assert os.stat(base_path).st_mode & 0o777 == 0o444
    assert not os.path.exists(f"{vol.root}/local/images/100/vm-100-disk-0.qcow2")
    assert "not a base" in vol.fails("clone", vol("alloc", "local", 100, "qcow2", 1024), 300)

    clone = vol("clone", base, 200)
    assert clone == "local:100/base-100-disk-0.qcow2/200/vm-200-disk-0.qcow2"
    cpath = vol("path", clone)
    assert cpath == f"{vol.root}/local/images/200/vm-200-disk-0.qcow2"
    info = json.loads(subprocess.run(["qemu-img", "info", "-f", "qcow2", "--output=json", cpath],
                                     capture_output=True, text=True, check=True).stdout)
    assert info["backing-filename"] == "../100/base-100-disk-0.qcow2"
    assert info["backing-filename-format"] == "qcow2"
    assert "Pattern verification failed" not in qemu_io(cpath, "read -P 0x5a 0 64k")
    listed = vol("list", "local", "images", 200)
    assert listed[0]["volid"] == clone and listed[0]["parent"] == "../100/base-100-disk-0.qcow2"

    assert "still in use by linked clones" in vol.fails("free", base)
    assert os.path.exists(base_path)
    vol("free", clone)
    vol("free", base)
    assert not os.path.exists(base_path)


def test_full_copy_converts_and_crosses_storages(vol):
    src = vol("alloc", "local", 100, "raw", 1024)
    qemu_io(vol("path", src), "write -P 0x77 0 64k", fmt="raw")
    q = vol("copy", src, "local", 100, "qcow2")
    assert q == "local:100/vm-100-disk-1.qcow2"
    assert vol("info", q)["format"] == "qcow2" and vol("info", q)["size"] == 1 << 20
    assert "Pattern verification failed" not in qemu_io(vol("path", q), "read -P 0x77 0 64k")
    other = vol("copy", q, "second", 300)
    assert other == "second:300/vm-300-disk-0.raw"
    assert "Pattern verification failed" not in qemu_io(vol("path", other),
                                                       "read -P 0x77 0 64k", fmt="raw")
    sv = vol("alloc", "local", 101, "subvol", 0)
    with open(os.path.join(vol("path", sv), "hello"), "w") as f:
        f.write("world")
    copy = vol("copy", sv, "second", 301)
    with open(os.path.join(vol("path", copy), "hello")) as f:
        assert f.read() == "world"
    assert "not supported" in vol.fails("copy", sv, "second", 302, "raw")


def _loops():
    return subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout


def _mounts():
    with open("/proc/self/mountinfo") as f:
        return f.read()


def test_ct_raw_image_mkfs_mount_write_umount_leaves_nothing(vol):
    loops, mounts = _loops(), _mounts()
    volid = vol("alloc", "local", 105, "raw", 32 * 1024)
    path = vol("path", volid)
    vol("mkfs", path)
    target = os.path.join(vol.root, "mnt")
    os.mkdir(target)
    vol("mount", volid, target)
    try:
        assert path in _loops()
        with open(os.path.join(target, "file"), "w") as f:
            f.write("inside")
        assert os.stat(target).st_uid == 0
    finally:
        vol("umount", target)
    assert _loops() == loops
    assert _mounts() == mounts
    assert not os.path.exists(os.path.join(target, "file"))
    # mounted again: the file is in the image
    vol("mount", volid, target)
    try:
        with open(os.path.join(target, "file")) as f:
            assert f.read() == "inside"
    finally:
        vol("umount", target)
    assert _loops() == loops and _mounts() == mounts
    assert "not a mount point" in vol.fails("umount", target)


def test_subvol_bind_mount(vol):
    mounts = _mounts()
    volid = vol("alloc", "local", 101, "subvol", 0)
    target = os.path.join(vol.root, "mnt")
    os.mkdir(target)
    vol("mount", volid, target)
    with open(os.path.join(target, "x"), "w") as f:
        f.write("y")
    vol("umount", target)
    assert os.path.exists(os.path.join(vol("path", volid), "x"))
    assert _mounts() == mounts


def test_untrusted_images_with_host_references_are_refused(vol):
    d = vol.root
    host = os.path.join(d, "hostfile")
    with open(host, "wb") as f:
        f.write(b"secret" * 1000)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow",
                    f"{d}/backing.qcow2", "1M"], check=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", f"data_file={host}",
                    f"{d}/datafile.qcow2", "1M"], check=True)
    with open(f"{d}/extent.vmdk", "w") as f:
        f.write('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                'createType="monolithicFlat"\nRW 16 FLAT "/etc/shadow" 0\n'
                'ddb.virtualHWVersion = "4"\n')
    assert "backing file" in vol.fails("image-info", f"{d}/backing.qcow2", "qcow2", "untrusted")
    assert "data-file" in vol.fails("image-info", f"{d}/datafile.qcow2", "qcow2", "untrusted")
    assert "extent" in vol.fails("image-info", f"{d}/extent.vmdk", "vmdk", "untrusted")
    # trusted (our own linked clones) reports the backing file
    assert vol("image-info", f"{d}/backing.qcow2", "qcow2")["backing-file"] == "/etc/shadow"


def test_raw_file_with_qcow2_header_is_raw(vol):
    volid = vol("alloc", "local", 100, "raw", 1024)
    path = vol("path", volid)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow",
                    f"{vol.root}/evil.qcow2", "10G"], check=True)
    with open(f"{vol.root}/evil.qcow2", "rb") as f:
        header = f.read()
    with open(path, "r+b") as f:
        f.write(header)
    size = os.path.getsize(path)
    info = vol("image-info", path, "raw", "untrusted")
    assert info["format"] == "raw" and info["virtual-size"] == size
    assert "backing-file" not in info
    vinfo = vol("info", volid)
    assert vinfo["format"] == "raw" and vinfo["size"] == size
