"""VM disks after create, as qemu-server's API has them (reference: PUT resize, PUT unlink,
POST move_disk, POST template): resize grows only (`+` relative, absolute, no unit = bytes),
also live through QMP for a running VM whose guest then sees the new size; unlink detaches a
disk to unusedN, or frees it with force, drops it from the boot order, and waits as a pending
deletion on a running VM; move_disk copies into a new volume in another format or on another
storage (the source kept as unusedN, or freed with delete=1), live by drive-mirror for a
running VM whose guest keeps writing, and a failed copy leaves no volume and no change;
template turns the disks into base volumes, sets `template: 1` and makes start fail. Real
QEMU images and real QEMU under TCG; proxmoxer as Ansible's proxmox_disk drives it."""
import json
import os
import re
import subprocess
import tempfile

from conftest import NODE, wait_for
from test_storage_api import add_dir_storage
from test_vm_hotplug import boot, mon, pending
from vmlib import guest_vm, iso, vm, vm_host  # noqa: F401 - fixtures
from vmlib import local_path

GIB = 1 << 30
MIB = 1 << 20


def img_info(path, fmt):
    out = subprocess.run(["qemu-img", "info", "-f", fmt, "--output=json", "-U", path],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def vol(cfg, key):
    return cfg[key].split(",")[0]


def read_image(path, fmt, offset, length):
    """length bytes at offset of a (stopped) image's guest view."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.raw")
        subprocess.run(["qemu-img", "convert", "-U", "-f", fmt, "-O", "raw", path, out],
                       check=True, capture_output=True)
        with open(out, "rb") as f:
            f.seek(offset)
            return f.read(length)


def resize(h, vmid, ok=True, **params):
    return h.task("PUT", h.path(vmid, "/resize"), params, ok=ok)


def move(h, vmid, ok=True, **params):
    return h.task("POST", h.path(vmid, "/move_disk"), params, ok=ok)


def unlink(h, vmid, **params):
    return h.s.data("PUT", h.path(vmid, "/unlink"), params)


def volumes(h, sid, vmid):
    return sorted(e["volid"] for e in
                  h.s.data("GET", f"/nodes/{NODE}/storage/{sid}/content", {"vmid": vmid}))


# ---- resize ----

def test_resize_grows_the_volume_and_the_config(vm):
    vmid = vm.create(virtio0="local:1")
    path = local_path(vm, vol(vm.config(vmid), "virtio0"))
    t = resize(vm, vmid, disk="virtio0", size="+1G")
    assert t["upid"].split(":")[5] == "resize"
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-0\.raw,size=2G", vm.config(vmid)["virtio0"])
    assert os.path.getsize(path) == 2 * GIB
    resize(vm, vmid, disk="virtio0", size="3G")
    assert vm.config(vmid)["virtio0"].endswith(",size=3G") and os.path.getsize(path) == 3 * GIB
    # no unit: bytes; the same size again is a no-op that succeeds
    resize(vm, vmid, disk="virtio0", size=str(3 * GIB + 512 * MIB))
    assert vm.config(vmid)["virtio0"].endswith(",size=3584M")
    resize(vm, vmid, disk="virtio0", size="3584M")
    assert os.path.getsize(path) == 3 * GIB + 512 * MIB


def test_resize_qcow2_keeps_its_format(vm):
    vmid = vm.create(scsi0="local:1,format=qcow2,discard=on")
    path = local_path(vm, vol(vm.config(vmid), "scsi0"))
    resize(vm, vmid, disk="scsi0", size="+0.5G")
    assert vm.config(vmid)["scsi0"].endswith("discard=on,size=1536M")
    assert img_info(path, "qcow2")["virtual-size"] == GIB + 512 * MIB


def test_resize_refusals_are_task_errors_with_pve_texts(vm):
    vmid = vm.create(virtio0="local:2", ide2="none,media=cdrom")
    before = vm.stored_config(vmid)
    for params, why in (({"disk": "virtio0", "size": "1G"}, "shrinking disks is not supported"),
                        ({"disk": "ide2", "size": "+1G"}, "unable to parse volume ID 'none'"),
                        ({"disk": "virtio3", "size": "+1G"}, "disk 'virtio3' does not exist"),
                        ({"disk": "virtio0", "size": "+1G", "digest": "0" * 40},
                         "checksum mismatch (file change by other user?)")):
        t = resize(vm, vmid, ok=False, **params)
        assert t["exitstatus"] == why, params
    assert vm.stored_config(vmid) == before
    # what the schema refuses never becomes a task
    for params in ({"disk": "virtio0", "size": "-1G"}, {"disk": "virtio0", "size": "1X"},
                   {"disk": "rootfs", "size": "1G"}):
        r = vm.s.put(vm.path(vmid, "/resize"), params)
        assert r.status == 400, params
    # skiplock is root@pam's (admin@pve is not)
    r = vm.s.put(vm.path(vmid, "/resize"), {"disk": "virtio0", "size": "+1G", "skiplock": 1})
    assert r.status == 400 and r.json()["errors"] == {"skiplock": "Only root may use this option."}


def test_resize_of_an_iso_is_refused(vm, iso):
    vmid = vm.create(virtio0="local:1", ide2=f"{iso},media=cdrom")
    t = resize(vm, vmid, ok=False, disk="ide2", size="+1G")
    assert t["exitstatus"] == "you can't resize a cdrom"


def test_live_resize_reaches_the_guest(guest_vm, iso):
    vm = guest_vm
    vmid, g = boot(vm, iso, virtio0="local:1,format=qcow2", virtio1="local:1")
    g.wait("cat /sys/block/vda/size", str(GIB // 512))
    resize(vm, vmid, disk="virtio0", size="+1G")
    resize(vm, vmid, disk="virtio1", size="1536M")
    cfg = vm.config(vmid)
    assert cfg["virtio0"].endswith(",size=2G") and cfg["virtio1"].endswith(",size=1536M")
    # QEMU has the new sizes, the guest's block devices too
    sizes = {b["device"]: b["inserted"]["image"]["virtual-size"]
             for b in mon(vm, vmid, "query-block") if b["device"].startswith("drive-virtio")}
    assert sizes == {"drive-virtio0": 2 * GIB, "drive-virtio1": 1536 * MIB}
    g.wait("cat /sys/block/vda/size", str(2 * GIB // 512))
    g.wait("cat /sys/block/vdb/size", str(1536 * MIB // 512))
    assert img_info(local_path(vm, vol(cfg, "virtio0")), "qcow2")["virtual-size"] == 2 * GIB
    assert os.path.getsize(local_path(vm, vol(cfg, "virtio1"))) == 1536 * MIB
    t = resize(vm, vmid, ok=False, disk="virtio0", size="1G")
    assert t["exitstatus"] == "shrinking disks is not supported"


# ---- unlink ----

def test_unlink_detaches_then_frees(vm):
    vmid = vm.create(virtio0="local:1", virtio1="local:1", scsi0="local:1",
                     boot="order=virtio0;virtio1;scsi0")
    cfg = vm.config(vmid)
    v0, v1, s0 = vol(cfg, "virtio0"), vol(cfg, "virtio1"), vol(cfg, "scsi0")
    p0, p1, ps = local_path(vm, v0), local_path(vm, v1), local_path(vm, s0)
    # without force: unusedN, the volume stays; the boot order forgets the disk
    assert unlink(vm, vmid, idlist="virtio0") is None
    cfg = vm.config(vmid)
    assert "virtio0" not in cfg and cfg["unused0"] == v0 and os.path.exists(p0)
    assert cfg["boot"] == "order=virtio1;scsi0"
    # with force: gone, the volume too; unusedN is always freed
    assert unlink(vm, vmid, idlist="virtio1,unused0", force=1) is None
    cfg = vm.config(vmid)
    assert "virtio1" not in cfg and "unused0" not in cfg and "unused1" not in cfg
    assert not os.path.exists(p0) and not os.path.exists(p1)
    assert cfg["boot"] == "order=scsi0"
    # the last boot disk: no order is left, PVE's default applies
    assert unlink(vm, vmid, idlist="scsi0", force=1) is None
    cfg = vm.config(vmid)
    assert "boot" not in cfg and not os.path.exists(ps)
    assert volumes(vm, "local", vmid) == []


def test_unlink_refusals(vm):
    vmid = vm.create(virtio0="local:1", protection=1)
    before = vm.stored_config(vmid)
    r = vm.s.put(vm.path(vmid, "/unlink"), {"idlist": "virtio0", "force": 1})
    assert (r.status, r.reason) == (500, "can't remove drive 'virtio0' - protection mode enabled")
    r = vm.s.put(vm.path(vmid, "/unlink"), {"idlist": "nosuchkey"})
    assert r.status == 400 and "idlist" in r.json()["errors"]
    r = vm.s.put(vm.path(vmid, "/unlink"), {"idlist": "memory"})
    assert r.status == 400 and "idlist" in r.json()["errors"]
    assert vm.stored_config(vmid) == before
    vm.s.data("PUT", vm.path(vmid, "/config"), {"delete": "protection"})
    # a disk that is not there: a warning, nothing else
    assert unlink(vm, vmid, idlist="virtio5") is None


def test_unlink_keeps_volumes_of_other_owners(vm):
    """force frees what this VM owns only (PVE's try_deallocate_drive)."""
    owner = vm.create(virtio0="local:1")
    other_vol = vol(vm.config(owner), "virtio0")
    vm.s.data("PUT", vm.path(owner, "/unlink"), {"idlist": "virtio0"})  # unused0 now
    vmid = vm.create()
    vm.s.data("PUT", vm.path(vmid, "/config"), {"virtio0": other_vol})
    assert unlink(vm, vmid, idlist="virtio0", force=1) is None
    assert "virtio0" not in vm.config(vmid)
    assert os.path.exists(local_path(vm, other_vol))
    assert vm.config(owner)["unused0"] == other_vol


def test_unlink_of_a_running_vm_is_pending(vm):
    vmid = vm.create(sata0="local:1")
    volid = vol(vm.config(vmid), "sata0")
    vm.power(vmid, "start")
    assert unlink(vm, vmid, idlist="sata0", force=1) is None
    p = pending(vm, vmid)
    assert p["sata0"]["delete"] == 2  # forced
    assert os.path.exists(local_path(vm, volid))
    vm.power(vmid, "stop")
    vm.power(vmid, "start")  # applies the deletion
    assert "sata0" not in vm.config(vmid)
    assert volumes(vm, "local", vmid) == []


# ---- move_disk ----

def test_move_disk_between_formats_and_storages(vm):
    vmid = vm.create(virtio0="local:1,iothread=1,cache=writeback")
    old = vol(vm.config(vmid), "virtio0")
    old_path = local_path(vm, old)
    with open(old_path, "r+b") as f:
        f.seek(5 * MIB)
        f.write(b"berth-move-marker")
    # raw -> qcow2 on the same storage: the old volume stays as unused0
    t = move(vm, vmid, disk="virtio0", storage="local", format="qcow2")
    assert t["upid"].split(":")[5] == "qmmove"
    cfg = vm.config(vmid)
    new = vol(cfg, "virtio0")
    assert new == f"local:{vmid}/vm-{vmid}-disk-1.qcow2"
    assert cfg["virtio0"] == f"{new},cache=writeback,iothread=1,size=1G"
    assert cfg["unused0"] == old and os.path.exists(old_path)
    new_path = local_path(vm, new)
    info = img_info(new_path, "qcow2")
    assert info["format"] == "qcow2" and info["virtual-size"] == GIB
    assert read_image(new_path, "qcow2", 5 * MIB, 17) == b"berth-move-marker"
    # to another storage, deleting the source; no format: the source's
    add_dir_storage(vm.b, "mv2", content="images")
    move(vm, vmid, disk="virtio0", storage="mv2", delete=1)
    cfg = vm.config(vmid)
    moved = vol(cfg, "virtio0")
    assert moved == f"mv2:{vmid}/vm-{vmid}-disk-0.qcow2" and "unused1" not in cfg
    assert not os.path.exists(new_path)
    mpath = vm.s.data("GET", f"/nodes/{NODE}/storage/mv2/content/{moved}")["path"]
    assert read_image(mpath, "qcow2", 5 * MIB, 17) == b"berth-move-marker"
    # an unused disk moves too (as a volume alone)
    move(vm, vmid, disk="unused0", storage="mv2", delete=1)
    cfg = vm.config(vmid)
    assert cfg["unused0"] == f"mv2:{vmid}/vm-{vmid}-disk-1.raw" and not os.path.exists(old_path)
    # back, so that the storage can go
    move(vm, vmid, disk="virtio0", storage="local", format="raw", delete=1)
    move(vm, vmid, disk="unused0", storage="local", delete=1)
    assert volumes(vm, "mv2", vmid) == []
    vm.s.data("DELETE", "/storage/mv2")


def test_move_disk_refusals(vm):
    vmid = vm.create(virtio0="local:1", ide2="none,media=cdrom")
    add_dir_storage(vm.b, "isoonly", content="iso")
    before = vm.stored_config(vmid)
    p = vm.path(vmid, "/move_disk")
    for params, status, why in (
            ({"disk": "virtio0", "storage": "local"}, 500,
             "you can't move to the same storage with same format"),
            ({"disk": "virtio0", "storage": "local", "format": "raw"}, 500,
             "you can't move to the same storage with same format"),
            ({"disk": "ide2", "storage": "local"}, 500, "you can't move a cdrom"),
            ({"disk": "virtio4", "storage": "local"}, 500, "disk 'virtio4' does not exist"),
            ({"disk": "virtio0", "storage": "nosuch"}, 500, "storage 'nosuch' does not exist"),
            ({"disk": "virtio0", "storage": "local", "format": "qcow2", "digest": "1" * 40}, 500,
             "detected modified configuration - file changed by other user? Try again."),
            ({"disk": "virtio0", "target-vmid": vmid + 1}, 500,
             f"could not find target VM {vmid + 1}")):
        r = vm.s.post(p, params)
        assert (r.status, r.reason) == (status, why), params
    for params, bad in (({"disk": "virtio0"}, {"storage", "target-vmid"}),
                        ({"disk": "virtio0", "storage": "local", "target-vmid": vmid + 1},
                         {"storage", "target-vmid"}),
                        ({"disk": "virtio0", "target-vmid": vmid}, {"target-vmid"}),
                        ({"disk": "virtio0", "storage": "isoonly"}, {"storage"}),
                        ({"disk": "virtio0", "storage": "local", "format": "vhdx"}, {"format"})):
        r = vm.s.post(p, params)
        assert r.status == 400 and set(r.json()["errors"]) == bad, (params, r.reason)
    assert vm.stored_config(vmid) == before
    vm.s.data("DELETE", "/storage/isoonly")


def test_move_disk_to_another_vm(vm):
    """move_disk with target-vmid (PVE's disk reassign): the volume is renamed to the target,
    leaves the source and its boot order, and keeps its options and content."""
    a = vm.create(virtio0="local:1,iothread=1,cache=writeback", boot="order=virtio0")
    b = vm.create(scsi0="local:1")
    old = vol(vm.config(a), "virtio0")
    old_path = local_path(vm, old)
    with open(old_path, "r+b") as f:
        f.seek(3 * MIB)
        f.write(b"berth-reassign-marker")
    t = move(vm, a, disk="virtio0", **{"target-vmid": b, "target-disk": "virtio1"})
    assert t["upid"].split(":")[5] == "qmmove"
    assert t["upid"].split(":")[6] == f"{a}-virtio0>{b}-virtio1"
    ca, cb = vm.config(a), vm.config(b)
    assert "virtio0" not in ca and "order=virtio0" not in ca.get("boot", "")
    new = f"local:{b}/vm-{b}-disk-1.raw"
    assert cb["virtio1"] == f"{new},cache=writeback,iothread=1,size=1G"
    assert not os.path.exists(old_path)
    assert read_image(local_path(vm, new), "raw", 3 * MIB, 21) == b"berth-reassign-marker"
    # back as an unused disk of the first VM (the target key defaults to the source's)
    move(vm, b, disk="virtio1", **{"target-vmid": a, "target-disk": "unused0"})
    assert vm.config(a)["unused0"] == f"local:{a}/vm-{a}-disk-0.raw"
    assert "virtio1" not in vm.config(b)
    # refusals, each changing nothing
    before_a, before_b = vm.stored_config(a), vm.stored_config(b)
    p = vm.path(a, "/move_disk")
    for params, why in (
            ({"disk": "unused0", "target-vmid": b, "target-disk": "scsi0"},
             f"Target disk key 'scsi0' is already in use for VM '{b}'"),
            ({"disk": "virtio3", "target-vmid": b},
             f"Disk 'virtio3' for VM '{a}' does not exist"),
            ({"disk": "unused0", "target-vmid": b, "target-digest": "1" * 40},
             f"VM {b}: detected modified configuration - file changed by other user? Try "
             "again.")):
        r = vm.s.post(p, params)
        assert (r.status, r.reason) == (500, why), params
    assert (vm.stored_config(a), vm.stored_config(b)) == (before_a, before_b)
    # a destroy frees what the VM got
    path_b = local_path(vm, vol(vm.config(b), "scsi0"))
    vm.task("DELETE", vm.path(b, ""))
    assert not os.path.exists(path_b)


def test_move_disk_to_another_vm_refuses_cdroms_and_stale_digests(vm):
    a = vm.create(virtio0="local:1", ide2="none,media=cdrom")
    b = vm.create()
    r = vm.s.post(vm.path(a, "/move_disk"), {"disk": "ide2", "target-vmid": b})
    assert (r.status, r.reason) == (500, "CD drive contents can't be moved to another VM")
    r = vm.s.post(vm.path(a, "/move_disk"), {"disk": "virtio0", "target-vmid": b,
                                              "target-disk": "ide0", "digest": "1" * 40})
    assert r.status == 500 and r.reason.startswith(f"VM {a}: detected modified"), r.reason


def test_failed_move_leaves_nothing(vm):
    """A copy that runs out of space: no new volume, the config as it was."""
    vmid = vm.create(virtio0="local:1")
    path = local_path(vm, vol(vm.config(vmid), "virtio0"))
    with open(path, "r+b") as f:
        f.write(os.urandom(8 * MIB))
    small = os.path.join(vm.b.root, "st-small")
    os.makedirs(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small], check=True)
    try:
        add_dir_storage(vm.b, "small", path=small, content="images")
        before = vm.stored_config(vmid)
        t = move(vm, vmid, ok=False, disk="virtio0", storage="small", format="qcow2")
        assert t["exitstatus"].startswith("storage migration failed: "), t["exitstatus"]
        assert vm.stored_config(vmid) == before
        assert volumes(vm, "small", vmid) == []
        assert not [f for _, _, fs in os.walk(small) for f in fs]
        vm.s.data("DELETE", "/storage/small")
    finally:
        subprocess.run(["umount", small], check=False)


def test_live_move_mirrors_while_the_guest_writes(guest_vm, iso):
    vm = guest_vm
    vmid, g = boot(vm, iso, virtio0="local:1")
    old = vol(vm.config(vmid), "virtio0")
    old_path = local_path(vm, old)
    g.run("echo berth-before-move | dd of=/dev/vda bs=512 seek=2048 conv=fsync")
    t = move(vm, vmid, disk="virtio0", storage="local", format="qcow2", delete=1)
    log = vm.task_log(t["upid"])
    assert "drive-virtio0: Completed successfully." in log, log
    cfg = vm.config(vmid)
    new = vol(cfg, "virtio0")
    assert new.endswith(".qcow2") and "unused0" not in cfg and cfg["virtio0"].endswith("size=1G")
    new_path = local_path(vm, new)
    # QEMU reads the new volume; the old one is gone
    files = {b["device"]: b["inserted"]["file"] for b in mon(vm, vmid, "query-block")
             if b.get("inserted")}
    assert files["drive-virtio0"] == new_path and not os.path.exists(old_path)
    # the guest goes on writing, into the new volume
    g.run("echo berth-after-move | dd of=/dev/vda bs=512 seek=4096 conv=fsync")
    vm.power(vmid, "stop")
    assert read_image(new_path, "qcow2", 2048 * 512, 17) == b"berth-before-move"
    assert read_image(new_path, "qcow2", 4096 * 512, 16) == b"berth-after-move"


def test_live_move_failure_keeps_the_source(vm):
    """drive-mirror into a volume QEMU cannot write: the job fails, QEMU keeps the source,
    the new volume goes, the config stays."""
    vmid = vm.create(virtio0="local:1")
    path = local_path(vm, vol(vm.config(vmid), "virtio0"))
    with open(path, "r+b") as f:
        f.write(os.urandom(8 * MIB))
    small = os.path.join(vm.b.root, "st-small2")
    os.makedirs(small)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small], check=True)
    try:
        add_dir_storage(vm.b, "small2", path=small, content="images")
        vm.power(vmid, "start")
        before = vm.stored_config(vmid)
        t = move(vm, vmid, ok=False, disk="virtio0", storage="small2")
        assert t["exitstatus"].startswith("storage migration failed: "), t["exitstatus"]
        assert vm.stored_config(vmid) == before
        assert volumes(vm, "small2", vmid) == []
        files = {b["device"]: b["inserted"]["file"] for b in mon(vm, vmid, "query-block")
                 if b.get("inserted")}
        assert files["drive-virtio0"] == path
        assert not [j for j in mon(vm, vmid, "query-block-jobs")]
        vm.power(vmid, "stop")
        vm.s.data("DELETE", "/storage/small2")
    finally:
        subprocess.run(["umount", small], check=False)


# ---- template ----

def test_template_makes_base_volumes_and_refuses_start(vm):
    vmid = vm.create(virtio0="local:1", scsi1="local:1,format=qcow2", ide2="none,media=cdrom")
    before = vm.config(vmid)
    upid = vm.s.data("POST", vm.path(vmid, "/template"))
    assert upid.split(":")[5] == "qmtemplate"
    assert vm.b.wait_task(upid, session=vm.s)["exitstatus"] == "OK"
    cfg = vm.config(vmid)
    assert cfg["template"] == 1
    for key in ("virtio0", "scsi1"):
        assert cfg[key] == before[key].replace(f"/vm-{vmid}-", f"/base-{vmid}-")
    assert vol(cfg, "scsi1").endswith(".qcow2") and vol(cfg, "virtio0").endswith(".raw")
    assert cfg["ide2"] == "none,media=cdrom"
    for key in ("virtio0", "scsi1"):
        assert os.stat(local_path(vm, vol(cfg, key))).st_mode & 0o222 == 0  # read-only
    assert volumes(vm, "local", vmid) == sorted([vol(cfg, "virtio0"), vol(cfg, "scsi1")])
    r = vm.s.post(vm.path(vmid, "/status/start"))
    assert (r.status, r.reason) == (500, "you can't start a vm if it's a template")
    r = vm.s.post(vm.path(vmid, "/template"))
    assert (r.status, r.reason) == (500, "you can't convert a template to a template")
    # a base volume cannot grow
    t = resize(vm, vmid, ok=False, disk="virtio0", size="+1G")
    assert "base volume" in t["exitstatus"]


def test_template_of_one_disk_and_of_a_running_vm(vm):
    vmid = vm.create(virtio0="local:1", virtio1="local:1")
    vm.task("POST", vm.path(vmid, "/template"), {"disk": "virtio1"})
    cfg = vm.config(vmid)
    assert cfg["template"] == 1
    assert "/vm-" in vol(cfg, "virtio0") and "/base-" in vol(cfg, "virtio1")
    # a template takes its other disk when asked for it
    vm.task("POST", vm.path(vmid, "/template"), {"disk": "virtio0"})
    assert "/base-" in vol(vm.config(vmid), "virtio0")
    running = vm.create(virtio0="local:1")
    vm.power(running, "start")
    r = vm.s.post(vm.path(running, "/template"))
    assert (r.status, r.reason) == (500, "you can't convert a VM to template if VM is running")
    assert "template" not in vm.config(running)


def test_moving_a_template_disk_keeps_it_a_base(vm):
    vmid = vm.create(virtio0="local:1")
    vm.task("POST", vm.path(vmid, "/template"))
    move(vm, vmid, disk="virtio0", storage="local", format="qcow2", delete=1)
    assert vol(vm.config(vmid), "virtio0") == f"local:{vmid}/base-{vmid}-disk-1.qcow2"


# ---- clients ----

def test_proxmoxer_drives_the_disk_routes(vm):
    """As community.general.proxmox_disk: resized, detached, moved (vmid in the body too),
    absent; and template."""
    vmid = vm.create(scsi0="local:1", scsi1="local:1")
    px = vm.b.api()
    q = px.nodes(NODE).qemu(vmid)

    def wait(upid):
        assert vm.b.wait_task(upid)["exitstatus"] == "OK", vm.task_log(upid)

    wait(q.resize.put(disk="scsi0", size="+1G"))
    assert q.config.get()["scsi0"].endswith("size=2G")
    wait(q.move_disk.post(disk="scsi0", vmid=vmid, storage="local", format="qcow2", delete=0))
    cfg = q.config.get()
    assert vol(cfg, "scsi0").endswith(".qcow2") and cfg["unused0"].endswith(".raw")
    assert q.unlink.put(idlist="scsi1", force=0) is None
    assert "scsi1" not in q.config.get() and q.config.get()["unused1"]
    assert q.unlink.put(idlist="unused0,unused1", force=1) is None
    assert not [k for k in q.config.get() if k.startswith("unused")]
    wait(q.template.post())
    assert q.config.get()["template"] == 1


def test_cli_knows_the_routes(vm):
    vmid = vm.create(virtio0="local:1")
    r = vm.b.cli("set", f"/nodes/{NODE}/qemu/{vmid}/resize", "--disk", "virtio0",
                 "--size", "+1G")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: vm.config(vmid)["virtio0"].endswith("size=2G"), timeout=60,
             what="the resize")
