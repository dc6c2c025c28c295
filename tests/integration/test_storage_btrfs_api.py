"""A btrfs storage used through the API the way users do it — proxmoxer and the berth CLI —
on a real loop-mounted btrfs: create the storage, allocate VM disks and container volumes
(each a subvolume), list, inspect, upload a template, build one, delete."""
import os
import subprocess

import pytest
from conftest import NODE, loop_btrfs, require_root, start_with_admin, stop_and_check


@pytest.fixture(scope="module")
def env():
    require_root()
    with loop_btrfs(1024) as (tmp, mnt):
        b = start_with_admin()
        try:
            api = b.api()
            path = os.path.join(mnt, "berth")
            api.storage.post(storage="bt", type="btrfs", path=path,
                             content="images,rootdir,vztmpl,iso")
            yield b, api, path
        finally:
            stop_and_check([b])


def is_subvolume(path):
    return subprocess.run(["btrfs", "subvolume", "show", path], capture_output=True).returncode == 0


def test_storage_is_active_with_btrfs_figures(env):
    b, api, path = env
    (st,) = api.nodes(NODE).storage.get(storage="bt")
    assert st["type"] == "btrfs" and st["active"] == 1 and st["enabled"] == 1
    assert 0 < st["total"] <= 1024 << 20 and st["avail"] > 0
    assert os.path.isdir(os.path.join(path, "images"))
    assert os.path.isdir(os.path.join(path, "template", "cache"))
    entry = api.storage("bt").get()
    assert entry["type"] == "btrfs" and entry["path"] == path


def test_vm_disk_and_ct_volume_are_subvolumes(env):
    b, api, path = env
    content = api.nodes(NODE).storage("bt").content
    volid = content.post(vmid=100, filename="vm-100-disk-0.raw", size="64M")
    assert volid == "bt:100/vm-100-disk-0.raw"
    assert is_subvolume(os.path.join(path, "images", "100", "vm-100-disk-0"))
    disk = os.path.join(path, "images", "100", "vm-100-disk-0", "disk.raw")
    assert os.path.getsize(disk) == 64 << 20

    ct = content.post(vmid=101, filename="subvol-101-disk-0.subvol", size="0", format="subvol")
    assert ct == "bt:101/subvol-101-disk-0.subvol"
    assert is_subvolume(os.path.join(path, "images", "101", "subvol-101-disk-0.subvol"))

    listed = {e["volid"]: e for e in content.get()}
    assert listed[volid]["format"] == "raw" and listed[volid]["size"] == 64 << 20
    assert listed[volid]["vmid"] == 100
    assert listed[ct]["format"] == "subvol" and listed[ct]["content"] == "rootdir"
    assert [e["volid"] for e in content.get(vmid=101)] == [ct]

    info = content(volid).get()
    assert info["path"] == disk and info["format"] == "raw" and info["size"] == 64 << 20

    # btrfs refuses sized subvolumes (no quotas), as Proxmox does
    with pytest.raises(Exception) as e:
        content.post(vmid=102, filename="subvol-102-disk-0.subvol", size="1G", format="subvol")
    assert "quota" in str(e.value)

    for v in (volid, ct):
        upid = content(v).delete()
        assert b.wait_task(upid)["exitstatus"] == "OK"
    assert not os.path.exists(os.path.join(path, "images", "100", "vm-100-disk-0"))
    assert not os.path.exists(os.path.join(path, "images", "101", "subvol-101-disk-0.subvol"))


def test_upload_and_template_build_land_on_btrfs(env, tmp_path):
    b, api, path = env
    src = tmp_path / "mini.tar.gz"
    src.write_bytes(os.urandom(1 << 20))
    upid = api.nodes(NODE).storage("bt").upload.post(content="vztmpl",
                                                     filename=open(src, "rb"))
    assert b.wait_task(upid)["exitstatus"] == "OK"
    stored = os.path.join(path, "template", "cache", "mini.tar.gz")
    assert open(stored, "rb").read() == src.read_bytes()

    p = b.cli("template", "build", "busybox", "--storage", "bt", timeout=300)
    assert p.returncode == 0, p.stderr
    vztmpl = {e["volid"] for e in api.nodes(NODE).storage("bt").content.get(content="vztmpl")}
    assert "bt:vztmpl/mini.tar.gz" in vztmpl
    assert any(v.startswith("bt:vztmpl/busybox-") and v.endswith(".tar.zst") for v in vztmpl)


def test_btrfs_storage_on_other_filesystem_is_refused(env, tmp_path):
    b, api, path = env
    r = b.admin().post("/storage", {"storage": "notbtrfs", "type": "btrfs",
                                    "path": str(tmp_path / "x")})
    assert r.status == 500 and "not on a btrfs filesystem" in r.reason, r.status_line
    assert "notbtrfs" not in {s["storage"] for s in api.storage.get()}
