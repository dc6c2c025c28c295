"""Creating and configuring VMs through /nodes/{node}/qemu with Proxmox's parameters and
stored forms (reference §2.2, §4.3, §4.5): what create adds (meta, smbios1, vmgenid, boot,
MACs), disks allocated as `<storage>:<GiB>` and stored with size=, GET config types, PUT
(sync, null) versus POST (a task), digest conflicts, delete → unusedN, pending changes, and
destroy freeing what the VM owned. No guest boots here (see test_vm_lifecycle.py)."""
import os
import re

from conftest import NODE, UUID_RE
from vmlib import local_path, vm, vm_host  # noqa: F401

STALE = "detected modified configuration - file changed by other user? Try again."


def test_create_adds_what_proxmox_adds(vm):
    vmid = vm.create(name="web01", cores=2, sockets=1, ostype="l26", agent=1,
                     scsihw="virtio-scsi-single", scsi0="local:1,iothread=1",
                     net0="virtio,bridge=vmbr0", onboot=1)
    c = vm.config(vmid)
    assert c["name"] == "web01"
    assert c["cores"] == 2 and c["sockets"] == 1 and c["onboot"] == 1
    assert c["agent"] == "1" and c["memory"] == "128"  # strings in PVE's GET config
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-0\.(raw|qcow2),iothread=1,size=1G",
                        c["scsi0"]), c["scsi0"]
    # the MAC right after the model, then the rest: Ansible's regex =(.*?), needs it
    assert re.fullmatch(r"virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0",
                        c["net0"]), c["net0"]
    assert re.fullmatch(r"uuid=" + UUID_RE.pattern[1:-1], c["smbios1"])
    assert UUID_RE.match(c["vmgenid"])
    assert re.fullmatch(r"creation-qemu=[0-9.]+,ctime=\d+", c["meta"])
    assert c["boot"] == "order=scsi0;net0"
    assert re.fullmatch(r"[0-9a-f]{40}", c["digest"])
    assert "lock" not in c
    # the volume exists with the requested size
    path = local_path(vm, c["scsi0"].split(",")[0])
    assert os.path.exists(path)


def test_cdrom_and_boot_order_as_given(vm):
    vmid = vm.create(ide2="none,media=cdrom", virtio0="local:1", boot="order=ide2;virtio0")
    c = vm.config(vmid)
    assert c["ide2"] == "none,media=cdrom"
    assert c["boot"] == "order=ide2;virtio0"


def test_existing_vmid_is_refused(vm):
    vmid = vm.create()
    r = vm.s.post(f"/nodes/{NODE}/qemu", {"vmid": vmid})
    assert (r.status, r.reason) == (
        500, f"unable to create VM {vmid} - VM {vmid} already exists on node '{NODE}'")


def test_list_and_resources_show_the_vm_with_numeric_vmid(vm):
    vmid = vm.create(name="listed")
    e = [x for x in vm.s.data("GET", f"/nodes/{NODE}/qemu") if x["vmid"] == vmid]
    assert len(e) == 1 and e[0]["status"] == "stopped" and e[0]["name"] == "listed"
    assert e[0]["maxmem"] == 128 << 20
    res = [x for x in vm.s.data("GET", "/cluster/resources", {"type": "vm"})
           if x["id"] == f"qemu/{vmid}"]
    assert len(res) == 1 and res[0]["vmid"] == vmid and res[0]["type"] == "qemu"
    assert res[0]["status"] == "stopped" and res[0]["node"] == NODE
    st = vm.status(vmid)
    assert st["status"] == "stopped" and st["qmpstatus"] == "stopped"
    assert st["accel"] == "tcg"


def test_put_is_synchronous_post_is_a_task(vm):
    vmid = vm.create()
    assert vm.s.data("PUT", vm.path(vmid, "/config"), {"cores": 2}) is None
    assert vm.config(vmid)["cores"] == 2
    vm.task("POST", vm.path(vmid, "/config"), {"cores": 3, "scsi1": "local:1"})
    c = vm.config(vmid)
    assert c["cores"] == 3
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-\d\.(raw|qcow2),size=1G", c["scsi1"])


def test_put_allocates_a_disk_before_answering(vm):
    # PVE's PUT is synchronous even when it allocates: null once the volume exists
    vmid = vm.create()
    assert vm.s.data("PUT", vm.path(vmid, "/config"), {"scsi1": "local:1", "cores": 2}) is None
    c = vm.config(vmid)
    assert c["cores"] == 2
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-\d\.(raw|qcow2),size=1G", c["scsi1"])
    assert os.path.exists(local_path(vm, c["scsi1"].split(",")[0]))
    # a refused allocation is answered before any task, and changes nothing
    r = vm.s.put(vm.path(vmid, "/config"), {"scsi2": "nosuch:1", "cores": 3})
    assert r.status == 400 and "storage 'nosuch' does not exist" in r.body.decode(), (r.reason, r.body)
    c = vm.config(vmid)
    assert "scsi2" not in c and c["cores"] == 2


def test_post_background_delay_answers_null_when_done_in_time(vm):
    vmid = vm.create()
    assert vm.s.data("POST", vm.path(vmid, "/config"),
                     {"cores": 2, "scsi1": "local:1", "background_delay": 10}) is None
    c = vm.config(vmid)
    assert c["cores"] == 2 and "scsi1" in c


def test_stale_digest_is_refused(vm):
    vmid = vm.create()
    stale = vm.config(vmid)["digest"]
    vm.s.data("PUT", vm.path(vmid, "/config"), {"description": "changed elsewhere"})
    r = vm.s.put(vm.path(vmid, "/config"), {"cores": 4, "digest": stale})
    assert (r.status, r.reason) == (500, STALE)
    r = vm.s.put(vm.path(vmid, "/config"), {"scsi1": "local:1", "digest": stale})
    assert (r.status, r.reason) == (500, STALE)
    c = vm.config(vmid)
    assert "cores" not in c and "scsi1" not in c


def test_delete_disk_keeps_volume_as_unused_then_frees_it(vm):
    vmid = vm.create(scsi0="local:1")
    vol = vm.config(vmid)["scsi0"].split(",")[0]
    path = local_path(vm, vol)
    vm.s.data("PUT", vm.path(vmid, "/config"), {"delete": "scsi0"})
    c = vm.config(vmid)
    assert "scsi0" not in c and c["unused0"] == vol
    assert os.path.exists(path)
    vm.s.data("PUT", vm.path(vmid, "/config"), {"delete": "unused0"})
    assert "unused0" not in vm.config(vmid)
    assert not os.path.exists(path)


def test_deleted_disks_leave_the_boot_order(vm):
    vmid = vm.create(scsi0="local:1", virtio0="local:1", net0="virtio,bridge=vmbr0",
                     boot="order=scsi0;virtio0;net0")
    vm.s.data("PUT", vm.path(vmid, "/config"), {"delete": "virtio0"})
    assert vm.config(vmid)["boot"] == "order=scsi0;net0"
    # the POST task does the same; an emptied order leaves no boot key (PVE's default)
    vm.task("POST", vm.path(vmid, "/config"), {"delete": "scsi0,net0"})
    c = vm.config(vmid)
    assert "boot" not in c and "scsi0" not in c, c
    # an update that deletes the order itself is done as asked
    vmid2 = vm.create(scsi0="local:1", scsi1="local:1", boot="order=scsi0;scsi1")
    vm.s.data("PUT", vm.path(vmid2, "/config"), {"delete": "scsi1,boot"})
    assert "boot" not in vm.config(vmid2)


def test_no_options_and_set_plus_delete_are_refused(vm):
    vmid = vm.create()
    r = vm.s.put(vm.path(vmid, "/config"), {})
    assert (r.status, r.reason) == (500, "no options specified")
    r = vm.s.put(vm.path(vmid, "/config"), {"cores": 2, "delete": "cores"})
    assert r.status == 400 and "at the same time" in r.reason


def test_destroy_frees_owned_volumes_but_not_isos(vm):
    vmid = vm.create(scsi0="local:1", virtio0="local:1")
    c = vm.config(vmid)
    paths = [local_path(vm, c[k].split(",")[0]) for k in ("scsi0", "virtio0")]
    vm.task("DELETE", vm.path(vmid))
    assert not vm.exists(vmid)
    assert not any(os.path.exists(p) for p in paths)
    r = vm.s.get(vm.path(vmid, "/config"))
    assert (r.status, r.reason) == (
        500, f"Configuration file 'nodes/{NODE}/qemu-server/{vmid}.conf' does not exist")


def test_failed_create_leaves_nothing(vm):
    vmid = vm.vmid()
    # a bad storage for the second disk: the first is allocated, then given back
    r = vm.s.post(f"/nodes/{NODE}/qemu", {"vmid": vmid, "scsi0": "local:1",
                                          "scsi1": "nosuch:1"})
    assert r.status == 400, r.reason
    assert f"nodes/{NODE}/qemu-server/{vmid}.conf" not in vm.b.store_files()
    assert vm.s.data("GET", f"/nodes/{NODE}/storage/local/content", {"vmid": vmid}) == []


def test_forced_delete_frees_only_the_vms_own_volumes(vm):
    # a disk attached from another VM leaves the config but keeps its volume (PVE's
    # try_deallocate_drive frees only what vm_is_volid_owner says is the VM's)
    owner = vm.create(virtio0="local:1")
    theirs = vm.config(owner)["virtio0"].split(",")[0]
    vmid = vm.create(virtio0="local:1")
    vm.s.data("PUT", vm.path(vmid, "/config"), {"virtio1": theirs})
    mine = vm.config(vmid)["virtio0"].split(",")[0]
    mine_path, theirs_path = local_path(vm, mine), local_path(vm, theirs)
    vm.s.data("PUT", vm.path(vmid, "/config"), {"delete": "virtio0,virtio1", "force": 1})
    cfg = vm.config(vmid)
    assert "virtio0" not in cfg and "virtio1" not in cfg and "unused0" not in cfg
    assert not os.path.exists(mine_path)
    assert os.path.exists(theirs_path) and vm.config(owner)["virtio0"].startswith(theirs)
